"""factory_boy factories for local rows only (no Clerk call). For a user who can sign in, use the ``clerk_session``
or ``signed_in`` fixtures in tests/conftest.py, which create the user in the Clerk emulator first."""

# factory_boy ships no type hints for its declarations.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from factory.declarations import LazyAttribute, LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.faker import Faker

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import INTERNAL_ROLES, Role, WorkspaceRole


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    clerk_user_id = Sequence(lambda n: f"user_factory{n:06d}")
    email = Sequence(lambda n: f"user{n}@example.com")
    first_name = Faker("first_name")
    last_name = Faker("last_name")
    role = Role.MEMBER
    is_internal = LazyAttribute(lambda user: user.role in INTERNAL_ROLES)
    phone_verification_required = LazyAttribute(lambda user: not user.is_internal)
    password = LazyFunction(lambda: make_password(None))  # unusable: Clerk holds credentials


class WorkspaceFactory(DjangoModelFactory[Workspace]):
    class Meta:
        model = Workspace

    clerk_organization_id = Sequence(lambda n: f"org_factory{n:06d}")
    name = Sequence(lambda n: f"Workspace {n}")
    slug = Sequence(lambda n: f"workspace-{n}")


class MembershipFactory(DjangoModelFactory[WorkspaceMembership]):
    class Meta:
        model = WorkspaceMembership

    workspace = SubFactory(WorkspaceFactory)
    user = SubFactory(UserFactory)
    role = WorkspaceRole.MEMBER
    clerk_membership_id = Sequence(lambda n: f"orgmem_factory{n:06d}")
