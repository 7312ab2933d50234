"""The staff API, mounted at /api/admin/internal-users/ (docs/internal-user-invitations.md, "API").

- ``GET /`` (list), ``POST grant-role/``
- ``POST invitations/``, ``POST invitations/{invitation_id}/resend/`` and ``…/revoke/``
- ``GET invitations/{invitation_id}/`` (with its timeline), ``POST invitations/{invitation_id}/link/``
  (internal_users/api/history.py)
- ``POST {clerk_user_id}/deactivate/`` and ``…/reactivate/``, ``DELETE {clerk_user_id}/``

The invitations routes come first, so ``invitations`` and ``grant-role`` are never read as a Clerk user id. Ids are
matched loosely here and checked in the views, so a malformed id is a JSON 404 like any other.
"""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from internal_users.api.history import StaffInvitationDetailViewSet
from internal_users.api.views import StaffInvitationViewSet, StaffUserViewSet

app_name = "internal_users_api"

router = SimpleRouter(trailing_slash=True)
router.register(r"invitations", StaffInvitationViewSet, basename="internal-invitations")
router.register(r"invitations", StaffInvitationDetailViewSet, basename="internal-invitation-detail")
router.register(r"", StaffUserViewSet, basename="internal-users")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
