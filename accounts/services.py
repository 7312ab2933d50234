"""Writes for users, workspaces and memberships, mirrored from Clerk (webhooks, sign-in, reconciliation)."""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import clerk, role_claims
from accounts.clerk_types import ClerkMembership, ClerkOrganization, ClerkUser
from accounts.identity import user_fields, workspace_fields
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import (
    CLERK_ORG_ROLES,
    INTERNAL_ROLES,
    WORKSPACE_ROLE_FROM_CLERK,
    Role,
    WorkspaceRole,
    role_from_metadata,
)
from accounts.selectors import user_for_session, user_get_by_clerk_id
from accounts.webhooks import lock_clerk_objects
from core.audit import audit
from core.emails import normalize_email
from core.exceptions import Conflict, InvalidInput, NotFound, UpstreamError
from core.models import AuditEvent

logger = logging.getLogger(__name__)

# Clerk's organization slug rule.
WORKSPACE_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ClerkDataStale(Conflict):
    """Clerk data older than what we hold for the same email under another Clerk user: applying it would undo
    a newer state (e.g. a late ``user.updated`` of a user who has since given the address up or been deleted)."""

    code = "clerk_data_stale"
    default_message = "This Clerk data is older than what is stored for the same email."


def _metadata_role(clerk_user: ClerkUser) -> Role | None:
    """The staff role Clerk ``public_metadata`` claims; unknown values are logged and ignored, never trusted."""
    metadata = clerk_user.public_metadata
    if "role" not in metadata:
        return None
    role = role_from_metadata(metadata.get("role"))
    if role is None:
        logger.warning("ignoring unknown role in Clerk metadata for user %s", clerk_user.id)
    return role


def user_upsert_from_clerk(*, clerk_user: ClerkUser, trust_role: bool = False) -> User:
    """Create or update the local mirror of a Clerk user. Data older than what is stored changes nothing.

    Roles are ours: a staff role in Clerk ``public_metadata`` that differs from the stored one is applied only when
    ``trust_role`` (our own services, which just wrote that metadata) or when a registered role claim accepts it
    (``accounts.role_claims``: a pending staff invitation for this email and role). Otherwise it is audited as
    ``user.role_claim_ignored`` and the stored role stays: editing metadata in Clerk's dashboard grants nothing.

    Every user Clerk can hold is mirrored (``accounts.identity`` says what each field becomes): one without a usable
    email (phone-only, or an address we cannot normalise) gets ``email = NULL``. An address held by another local
    row goes to this user only when Clerk confirms that row's user no longer holds it (gone: the row is superseded;
    changed: that row is updated first); otherwise, e.g. an address that only folds onto a living user's (Kelvin
    sign, NFD), this user is mirrored without an email and ``user.email_collision`` is audited. Nothing about the
    existing user changes.
    """
    audits: _Audits = []
    try:
        user = _user_upsert(clerk_user=clerk_user, trust_role=trust_role, resolve=True, audits=audits)
    except ClerkDataStale:
        _write_audits(audits)  # after the upsert's own transaction, which the refusal rolled back
        raise
    _write_audits(audits)
    return user


def user_get_or_fetch(*, clerk_user_id: str) -> User:
    """The local user mirroring this Clerk user; one we have not seen yet is fetched from Clerk and upserted.

    The one "find, else fetch and upsert" every caller shares (sign-in, webhooks, invitation acceptance, clerk_sync):
    nobody waits for a ``user.created`` webhook that may still be on its way. The local read is
    ``accounts.selectors.user_for_session`` (the hot path of every authenticated request).

    Raises ``clerk.ClerkNotFound`` when Clerk has no such user and ``ClerkDataStale`` when its data is older than
    what we hold for the same email; other gateway errors (``ClerkUnavailable``, rate limits) propagate.
    """
    user = user_for_session(clerk_user_id=clerk_user_id)
    if user is not None:
        return user
    clerk_user = clerk.get_user(clerk_user_id)
    try:
        return user_upsert_from_clerk(clerk_user=clerk_user)
    except IntegrityError:
        # A concurrent first request (or the user.created webhook) inserted the row first.
        user = user_get_by_clerk_id(clerk_user_id=clerk_user_id)
        if user is None:
            raise
        return user


def _write_audits(audits: _Audits) -> None:
    for action, details in audits:
        outcome = AuditEvent.Outcome.DENIED if action == "user.email_collision" else AuditEvent.Outcome.SUCCESS
        audit(action, actor=None, target_type="user", details=details, outcome=outcome)


type _Audits = list[tuple[str, dict[str, Any]]]


@transaction.atomic
def _user_upsert(*, clerk_user: ClerkUser, trust_role: bool, resolve: bool, audits: _Audits) -> User:
    # Callers outside the webhook (sign-in, sync, operator commands) race the webhook for the same user: the same
    # advisory lock serializes them, so the second one updates the row the first one inserted.
    lock_clerk_objects(clerk_user.id)
    fields = user_fields(clerk_user)
    if fields.cleaned:
        audits.append(("user.clerk_data_cleaned", {"clerk_user_id": clerk_user.id, "fields": list(fields.cleaned)}))
    user = User.objects.select_for_update(no_key=True).filter(clerk_user_id=clerk_user.id).first()
    if user is not None and clerk_user.updated_at < user.clerk_updated_at:
        return user
    email = fields.email
    if user is None and email is not None:
        holder = _email_holder(email, exclude=None)
        if holder is not None:
            if clerk_user.updated_at < holder.clerk_updated_at:
                raise ClerkDataStale(extra={"clerk_user_id": clerk_user.id})
            if _holder_gone(holder, email=email, resolve=resolve, audits=audits):
                user = holder
                _forget_previous_clerk_user(user, new_clerk_user_id=clerk_user.id)
            elif _email_holder(email, exclude=None) is not None:
                _collision(clerk_user, holder_pk=holder.pk, audits=audits)
                email = None
    elif user is not None and email is not None and email != user.email:
        holder = _email_holder(email, exclude=user.pk)
        if holder is not None:
            if _holder_gone(holder, email=email, resolve=resolve, audits=audits):
                _supersede(holder, audits=audits)
            elif _email_holder(email, exclude=user.pk) is not None:
                _collision(clerk_user, holder_pk=holder.pk, audits=audits)
                email = user.email  # keeps the address it had
    if user is None:
        user = User(clerk_user_id=clerk_user.id, email=email)
        user.set_unusable_password()
    claimed = _metadata_role(clerk_user)
    unclaimed = claimed is not None and claimed != user.role and not trust_role
    if claimed is not None and not unclaimed:
        user.role = claimed
    user.is_internal = user.role in INTERNAL_ROLES
    user.clerk_user_id = clerk_user.id
    user.email = email if email is not None else user.email
    user.first_name = fields.first_name
    user.last_name = fields.last_name
    user.image_url = fields.image_url
    user.phone_number = fields.phone_number
    if user.is_internal or clerk_user.phone_verified:
        user.phone_verification_required = False
    if clerk_user.banned and user.disabled_at is None:
        user.disabled_at = timezone.now()
    elif not clerk_user.banned:
        user.disabled_at = None
    user.clerk_updated_at = clerk_user.updated_at
    user.save()
    if unclaimed and claimed is not None:
        _apply_role_claim(user, clerk_user=clerk_user, role=claimed)
    return user


def _email_holder(email: str, *, exclude: int | None) -> User | None:
    rows = User.objects.select_for_update(no_key=True).filter(email__lower=email)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return rows.first()


def _holder_gone(holder: User, *, email: str, resolve: bool, audits: _Audits) -> bool:
    """Whether ``holder``'s Clerk user is gone (True), or has since moved to another address, which is applied to
    its row first (False, address now free). Otherwise that user still holds ``email``: False, and the row is
    unchanged. Asks Clerk: the fold of two addresses never decides this on its own. Gateway errors propagate (the
    webhook is retried; a sign-in answers 503)."""
    if not resolve:
        return False
    try:
        remote = clerk.get_user(holder.clerk_user_id)
    except clerk.ClerkNotFound:
        return True
    if remote.email != email:
        with contextlib.suppress(ClerkDataStale):
            _user_upsert(clerk_user=remote, trust_role=False, resolve=False, audits=audits)
    return False


def _supersede(holder: User, *, audits: _Audits) -> None:
    """The row of a Clerk user who is gone (a deletion we missed): removed as ``user.deleted`` would have."""
    logger.warning("user %s: Clerk user %s is gone; its row is superseded", holder.pk, holder.clerk_user_id)
    audits.append(("user.superseded", {"user_id": holder.pk, "clerk_user_id": holder.clerk_user_id}))
    holder.delete()


def _collision(clerk_user: ClerkUser, *, holder_pk: int, audits: _Audits) -> None:
    logger.warning("Clerk user %s: address held by user %s, who still has it in Clerk", clerk_user.id, holder_pk)
    audits.append(
        (
            "user.email_collision",
            {"clerk_user_id": clerk_user.id, "held_by_user_id": holder_pk, "address": clerk_user.raw_email},
        )
    )


def _apply_role_claim(user: User, *, clerk_user: ClerkUser, role: Role) -> None:
    if user.email is not None and role_claims.accepted(user=user, clerk_user=clerk_user, role=role):
        user.role = role
        user.is_internal = True
        user.phone_verification_required = False
        user.save(update_fields=["role", "is_internal", "phone_verification_required", "updated_at"])
        return
    logger.warning("user %s: Clerk metadata claims role %s with no matching invitation; ignored", user.pk, role)
    audit(
        "user.role_claim_ignored",
        actor=None,
        target_type="user",
        target_id=user.pk,
        outcome=AuditEvent.Outcome.DENIED,
        details={"clerk_user_id": clerk_user.id, "claimed_role": str(role), "kept_role": user.role},
    )


def _forget_previous_clerk_user(user: User, *, new_clerk_user_id: str) -> None:
    """The row now mirrors another Clerk user: nothing of the previous one's access carries over."""
    logger.warning("user %s: email moved from Clerk user %s to %s", user.pk, user.clerk_user_id, new_clerk_user_id)
    WorkspaceMembership.objects.filter(user=user).delete()
    user.role = Role.MEMBER
    user.is_internal = False
    user.phone_verification_required = True
    user.clerk_updated_at = 0


@transaction.atomic
def user_delete_from_clerk(*, clerk_user_id: str) -> bool:
    """The Clerk user is gone: remove the local user (audit events keep their actor snapshot)."""
    deleted, _ = User.objects.filter(clerk_user_id=clerk_user_id).delete()
    return deleted > 0


@transaction.atomic
def workspace_upsert_from_clerk(*, organization: ClerkOrganization, resolve: bool = True) -> Workspace:
    """Create or update the local mirror of a Clerk organization (``accounts.identity`` says what each field becomes).

    A slug still held by another local workspace belongs to an organization whose change or deletion we missed
    (slugs are unique in Clerk): Clerk is asked about it; a deleted one's row is removed as ``organization.deleted``
    would have (audited ``workspace.superseded``), a renamed one's row is updated first.
    """
    lock_clerk_objects(organization.id)  # as for users: the webhook and a direct caller may insert at once
    workspace = Workspace.objects.select_for_update(no_key=True).filter(clerk_organization_id=organization.id).first()
    if workspace is not None and organization.updated_at < workspace.clerk_updated_at:
        return workspace
    fields = workspace_fields(organization)
    if fields.cleaned:
        audit(
            "workspace.clerk_data_cleaned",
            target_type="workspace",
            details={"clerk_organization_id": organization.id, "fields": list(fields.cleaned)},
        )
    holder = (
        Workspace.objects.select_for_update().filter(slug=fields.slug).exclude(clerk_organization_id=organization.id)
    )
    stale = holder.first()
    if stale is not None and resolve:
        _free_slug(stale)
    if workspace is None:
        workspace = Workspace(clerk_organization_id=organization.id)
    workspace.name = fields.name
    workspace.slug = fields.slug
    workspace.clerk_updated_at = organization.updated_at
    workspace.save()
    return workspace


def _free_slug(stale: Workspace) -> None:
    try:
        current = clerk.get_organization(stale.clerk_organization_id)
    except clerk.ClerkNotFound:
        logger.warning("workspace %s: Clerk organization %s is gone; superseded", stale.pk, stale.clerk_organization_id)
        audit(
            "workspace.superseded",
            target_type="workspace",
            target_id=stale.pk,
            details={"clerk_organization_id": stale.clerk_organization_id, "slug": stale.slug},
        )
        stale.delete()
        return
    workspace_upsert_from_clerk(organization=current, resolve=False)


@transaction.atomic
def workspace_delete_from_clerk(*, clerk_organization_id: str) -> bool:
    deleted, _ = Workspace.objects.filter(clerk_organization_id=clerk_organization_id).delete()
    return deleted > 0


@transaction.atomic
def membership_upsert_from_clerk(*, membership: ClerkMembership, user: User) -> WorkspaceMembership:
    workspace = workspace_upsert_from_clerk(organization=membership.organization)
    role = WORKSPACE_ROLE_FROM_CLERK.get(membership.role, WorkspaceRole.MEMBER)
    existing = WorkspaceMembership.objects.select_for_update(no_key=True).filter(workspace=workspace, user=user).first()
    if existing is not None and membership.updated_at < existing.clerk_updated_at:
        return existing
    if existing is None:
        existing = WorkspaceMembership(workspace=workspace, user=user)
    existing.role = role
    existing.clerk_membership_id = membership.id or existing.clerk_membership_id
    existing.clerk_updated_at = membership.updated_at
    existing.save()
    return existing


@transaction.atomic
def membership_delete_from_clerk(*, membership: ClerkMembership) -> bool:
    rows = WorkspaceMembership.objects.filter(
        workspace__clerk_organization_id=membership.organization.id, user__clerk_user_id=membership.user_id
    )
    if membership.id:
        # A user removed and added again has a new Clerk membership: a late deletion of the old one must not
        # remove the new one. Rows without a Clerk id go only if they are not newer than this deletion.
        rows = rows.filter(
            Q(clerk_membership_id=membership.id)
            | Q(clerk_membership_id__isnull=True, clerk_updated_at__lte=membership.updated_at)
        )
    deleted, _ = rows.delete()
    return deleted > 0


# --------------------------------------------------------------------------- operator actions (management commands)
# These create things in Clerk first, through the gateway, then mirror them locally with the upserts above (the
# webhooks Clerk sends for the same changes later find everything in place and change nothing).


def _normalized_email(email: str) -> str:
    return normalize_email(email)


def _clerk_user_by_email(email: str) -> ClerkUser | None:
    users = clerk.list_users(email_addresses=[email], limit=1)
    return users[0] if users else None


def _clerk_user_get_or_create(
    *, email: str, password: str, first_name: str, last_name: str, public_metadata: dict[str, Any] | None
) -> tuple[ClerkUser, bool]:
    """The Clerk user with this email, created when there is none: ``(user, created)``."""
    existing = _clerk_user_by_email(email)
    if existing is not None:
        return existing, False
    try:
        created = clerk.create_user(
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            public_metadata=public_metadata,
        )
    except clerk.ClerkRejected as exc:
        existing = _clerk_user_by_email(email) if exc.clerk_code == "form_identifier_exists" else None
        if existing is None:
            raise
        return existing, False  # created by someone else in the meantime
    return created, True


@dataclass(frozen=True)
class StaffUserResult:
    user: User
    # False: the email already had a Clerk user; its metadata was updated and its password left as it was.
    created_in_clerk: bool


def staff_user_create(
    *, email: str, password: str, first_name: str = "", last_name: str = "", role: str = Role.SUPER_ADMIN
) -> StaffUserResult:
    """Create a staff user in Clerk and locally; bootstraps the first super admin of a new deployment.

    The role travels in Clerk ``public_metadata`` (``{"role": …, "internal": true}``), where sign-in and the
    webhooks read it. An email that already has a Clerk user gets that metadata instead (its password is kept).
    The last active super admin is never demoted this way.
    """
    email = _normalized_email(email)
    staff_role = role_from_metadata(role)
    if staff_role is None:
        allowed = ", ".join(sorted(INTERNAL_ROLES))
        raise InvalidInput(f"{role!r} is not a staff role (one of: {allowed}).", code="invalid_role")
    if staff_role != Role.SUPER_ADMIN:
        local = User.objects.filter(email__lower=email).first()
        others = User.objects.filter(role=Role.SUPER_ADMIN, disabled_at__isnull=True).exclude(email__lower=email)
        if local is not None and local.role == Role.SUPER_ADMIN and local.is_active and not others.exists():
            raise Conflict(f"{email} is the last active super admin.", code="last_super_admin")
    metadata: dict[str, Any] = {"role": staff_role.value, "internal": True}
    clerk_user, created = _clerk_user_get_or_create(
        email=email, password=password, first_name=first_name, last_name=last_name, public_metadata=metadata
    )
    if not created:
        clerk_user = clerk.update_user_metadata(clerk_user.id, public_metadata=metadata)
    user = user_upsert_from_clerk(clerk_user=clerk_user, trust_role=True)
    audit(
        "staff_user.created" if created else "staff_user.role_granted",
        actor=None,
        target_type="user",
        target_id=user.pk,
        details={"email": email, "role": staff_role.value, "clerk_user_id": clerk_user.id, "created_in_clerk": created},
    )
    return StaffUserResult(user=user, created_in_clerk=created)


def user_ensure(*, email: str, password: str, first_name: str = "", last_name: str = "") -> tuple[User, bool]:
    """The Clerk user with this email (created with ``password`` when missing) and its local mirror (demo data)."""
    email = _normalized_email(email)
    clerk_user, created = _clerk_user_get_or_create(
        email=email, password=password, first_name=first_name, last_name=last_name, public_metadata=None
    )
    return user_upsert_from_clerk(clerk_user=clerk_user), created


@transaction.atomic
def workspace_link_from_clerk(*, organization: ClerkOrganization) -> Workspace:
    """``workspace_upsert_from_clerk``, and a local workspace with the same slug follows it to this organization.

    Slugs are unique in Clerk, so a local row holding this slug under another Clerk id mirrors an organization that
    no longer exists (e.g. the in-memory emulator restarted); its memberships went with that organization, and its
    invitation history stays with the row.
    """
    stale = (
        Workspace.objects.select_for_update()
        .filter(slug=workspace_fields(organization).slug)
        .exclude(clerk_organization_id=organization.id)
        .first()
    )
    if stale is not None and not Workspace.objects.filter(clerk_organization_id=organization.id).exists():
        logger.warning(
            "workspace %s: slug moved from Clerk org %s to %s", stale.pk, stale.clerk_organization_id, organization.id
        )
        WorkspaceMembership.objects.filter(workspace=stale).delete()
        stale.clerk_organization_id = organization.id
        stale.clerk_updated_at = 0
        stale.save(update_fields=["clerk_organization_id", "clerk_updated_at", "updated_at"])
    return workspace_upsert_from_clerk(organization=organization)


def workspace_member_ensure(*, workspace: Workspace, user: User, role: str) -> WorkspaceMembership:
    """Make ``user`` a member of ``workspace`` in Clerk (unless they already are) and mirror the membership."""
    clerk_role = CLERK_ORG_ROLES[WorkspaceRole(role)]
    try:
        membership = clerk.create_organization_membership(
            workspace.clerk_organization_id, user_id=user.clerk_user_id, role=clerk_role
        )
    except clerk.ClerkRejected as exc:
        if exc.clerk_code != "already_a_member_in_organization":
            raise
        current = clerk.list_organization_memberships(workspace.clerk_organization_id, limit=500)
        found = next((m for m in current if m.user_id == user.clerk_user_id), None)
        if found is None:
            raise
        membership = found
    return membership_upsert_from_clerk(membership=membership, user=user)


def workspace_ensure(*, name: str, slug: str) -> tuple[Workspace, bool]:
    """The Clerk organization with this slug (created when missing) and its local mirror: ``(workspace, created)``."""
    try:
        organization, created = clerk.get_organization(slug), False
    except clerk.ClerkNotFound:
        organization, created = clerk.create_organization(name=name, slug=slug), True
    return workspace_link_from_clerk(organization=organization), created


def workspace_create(*, name: str, slug: str | None = None, owner_email: str | None = None) -> Workspace:
    """Create a workspace: the Clerk organization first, then the local row; ``owner_email`` becomes its admin.

    The owner must already be a Clerk user (invite people through the app; this is the operator's way in).
    """
    name = name.strip()
    if not name:
        raise InvalidInput("A workspace needs a name.", code="invalid_name")
    if slug is not None:
        slug = slug.strip().lower()
        if not WORKSPACE_SLUG_RE.match(slug):
            raise InvalidInput(
                f"{slug!r} is not a valid slug: use lowercase letters, digits and single dashes.", code="invalid_slug"
            )
        if Workspace.objects.filter(slug=slug).exists():
            raise Conflict(f"A workspace with the slug {slug!r} already exists.", code="workspace_slug_taken")
    owner: ClerkUser | None = None
    if owner_email:
        email = _normalized_email(owner_email)
        owner = _clerk_user_by_email(email)
        if owner is None:
            raise NotFound(f"No Clerk user has the email address {email}.", code="user_not_found")
    organization = clerk.create_organization(name=name, slug=slug)
    workspace = workspace_link_from_clerk(organization=organization)
    if owner is not None:
        try:
            workspace_member_ensure(
                workspace=workspace, user=user_upsert_from_clerk(clerk_user=owner), role=WorkspaceRole.ADMIN
            )
        except clerk.ClerkError as exc:
            raise UpstreamError(
                f"The workspace {workspace.slug!r} was created, but adding {owner.email} as its admin failed: "
                f"{exc.message}",
                code=exc.code,
            ) from exc
    audit(
        "workspace.created",
        actor=None,
        target_type="workspace",
        target_id=workspace.pk,
        details={
            "name": workspace.name,
            "slug": workspace.slug,
            "clerk_organization_id": workspace.clerk_organization_id,
            "owner_email": owner.email if owner else "",
        },
    )
    return workspace
