"""Staff pages and phone onboarding, included at the site root by config/urls.py."""

from django.urls import URLPattern, path

from internal_users import history_views, views

app_name = "internal_users"

urlpatterns: list[URLPattern] = [
    path("internal/", views.dashboard, name="dashboard"),
    path("internal/users/", views.staff_users, name="users"),
    path("internal/users/grant-role/", views.grant_role, name="grant-role"),
    path(
        "internal/users/invitations/<int:invitation_id>/",
        history_views.invitation_timeline,
        name="invitation-timeline",
    ),
    path("internal/users/invitations/<int:invitation_id>/link/", history_views.invitation_link, name="invitation-link"),
    path("internal/users/invitations/<int:invitation_id>/resend/", views.invitation_resend, name="invitation-resend"),
    path("internal/users/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("internal/users/<str:clerk_user_id>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("internal/users/<str:clerk_user_id>/reactivate/", views.user_reactivate, name="user-reactivate"),
    path("internal/users/<str:clerk_user_id>/remove/", views.user_remove, name="user-remove"),
    path("internal/accept-invite/", views.accept_invite, name="accept-invite"),
    path("onboarding/phone/", views.onboarding_phone, name="onboarding-phone"),
]
