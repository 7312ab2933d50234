"""Pages of the workspace invitation flow, mounted at the site root by config/urls.py."""

from django.urls import URLPattern, URLResolver, path

from invitations import history_views, member_views, views, views_bulk

app_name = "invitations"
urlpatterns: list[URLPattern | URLResolver] = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/workspaces/<int:workspace_id>/invitations/", views.invite, name="invite"),
    path("settings/workspaces/<int:workspace_id>/invitations/check/", views_bulk.invite_list, name="invite-list"),
    path("settings/workspaces/<int:workspace_id>/invitations/bulk/", views_bulk.bulk_action, name="bulk"),
    path(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/resend/",
        views.resend,
        name="resend",
    ),
    path(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/revoke/",
        views.revoke,
        name="revoke",
    ),
    path(
        "settings/workspaces/<int:workspace_id>/members/<str:clerk_user_id>/role/",
        member_views.member_role,
        name="member-role",
    ),
    path(
        "settings/workspaces/<int:workspace_id>/members/<str:clerk_user_id>/remove/",
        member_views.member_remove,
        name="member-remove",
    ),
    path("settings/workspaces/<int:workspace_id>/history/", history_views.history_page, name="history"),
    path(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/",
        history_views.timeline_page,
        name="timeline",
    ),
    path(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/link/",
        history_views.invite_link,
        name="link",
    ),
    path("accept-invite/", views.accept_invite, name="accept"),
    path("accept-invite/joined/", views.accept_joined, name="accept-joined"),
]
