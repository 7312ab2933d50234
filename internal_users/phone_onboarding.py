"""Phone onboarding's rules: who still has to verify a phone number, where they go once they have, and the write
that clears the requirement after Clerk confirms it.

Non-internal users verify a phone number (SMS code, through ClerkJS) before using the product; internal users never
do (their invitation skips the phone step). The browser does the verification with Clerk; the server never takes
its word for it: it asks Clerk (through the gateway) whether the user's phone number is verified before it clears
``phone_verification_required``. The gate (``internal_users.middleware``) and the page (``internal_users.views``)
ask this module; see docs/internal-user-invitations.md.
"""

from __future__ import annotations

from django.urls import reverse

from accounts import clerk
from accounts.models import User
from core.audit import audit
from core.exceptions import Conflict


class PhoneNotVerified(Conflict):
    code = "phone_not_verified"
    default_message = "Clerk has no verified phone number for your account yet. Enter the code from the SMS first."


def phone_onboarding_required(user: User) -> bool:
    """Whether ``user`` must verify a phone number before using the product."""
    return user.phone_verification_required and not user.is_internal


def phone_onboarding_exit(user: User, *, next_url: str) -> str:
    """Where a user who has nothing (left) to verify goes: staff to their dashboard, everyone else to ``next_url``."""
    return reverse("internal_users:dashboard") if user.is_internal else next_url


def phone_verification_complete(*, user: User) -> User:
    """Clear ``phone_verification_required`` once Clerk confirms a verified phone number (``phone_not_verified``
    otherwise). Clerk errors propagate (429/502/503)."""
    if not user.phone_verification_required:
        return user
    remote = clerk.get_user(user.clerk_user_id)
    if not (remote.phone_number and remote.phone_verified):
        raise PhoneNotVerified()
    User.objects.filter(pk=user.pk).update(phone_verification_required=False, phone_number=remote.phone_number)
    user.refresh_from_db()
    audit(
        "user.phone_verified",
        actor=user,
        target_type="user",
        target_id=user.pk,
        details={"clerk_user_id": user.clerk_user_id},
    )
    return user
