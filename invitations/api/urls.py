"""The workspace invitation API, mounted under /api/ (docs/workspace-invitations.md, "API").

- ``GET|POST workspaces/{workspace_id}/invitations/``
- ``POST workspaces/{workspace_id}/invitations/{invitation_id}/resend/`` and ``…/revoke/``
- ``GET workspaces/{workspace_id}/invitations/{invitation_id}/`` (with its timeline), ``POST …/link/``
  (invitations/api/history.py)
- ``GET workspaces/`` and ``GET workspaces/{workspace_id}/`` (discovery)
- ``GET workspaces/{workspace_id}/members/``, ``PATCH|DELETE workspaces/{workspace_id}/members/{user}/``

Ids are matched loosely here and checked in the views, so a malformed id is a JSON 404 like any other.
"""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from invitations.api.history import WorkspaceInvitationDetailViewSet
from invitations.api.members import WorkspaceMemberViewSet
from invitations.api.views import WorkspaceInvitationViewSet
from invitations.api.workspaces import WorkspaceViewSet

app_name = "invitations_api"

router = SimpleRouter(trailing_slash=True)
router.register(
    r"workspaces/(?P<workspace_id>[^/]+)/invitations", WorkspaceInvitationViewSet, basename="workspace-invitations"
)
router.register(
    r"workspaces/(?P<workspace_id>[^/]+)/invitations",
    WorkspaceInvitationDetailViewSet,
    basename="workspace-invitation-detail",
)
router.register(r"workspaces/(?P<workspace_id>[^/]+)/members", WorkspaceMemberViewSet, basename="workspace-members")
router.register(r"workspaces", WorkspaceViewSet, basename="workspaces")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
