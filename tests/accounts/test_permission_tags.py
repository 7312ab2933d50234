"""``{% load permissions %}`` (accounts/templatetags/permissions.py): the base template's Staff link follows the
permission table, not role strings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client

from accounts.roles import Role
from tests.conftest import ClerkSession

pytestmark = pytest.mark.django_db
STAFF_LINK = 'href="/internal/users/"'


@pytest.mark.parametrize(
    ("role", "shown"), [(Role.SUPER_ADMIN, True), (Role.ADMIN, True), (Role.PM, False), (Role.MEMBER, False)]
)
def test_the_staff_link_is_shown_to_those_who_may_manage_staff(
    clerk_session: Callable[..., ClerkSession], role: Role, shown: bool
) -> None:
    session = clerk_session(role)
    client = Client()
    client.cookies["__session"] = session.token
    page = client.get("/internal/" if role != Role.MEMBER else "/dashboard/")
    assert page.status_code == 200
    assert (STAFF_LINK in page.content.decode()) is shown


def test_the_link_follows_a_deactivated_user_and_the_anonymous_one(
    clerk_session: Callable[..., ClerkSession],
) -> None:
    template = Template('{% load permissions %}{% if user|can:"INTERNAL_USERS_MANAGE" %}yes{% else %}no{% endif %}')
    admin = clerk_session(Role.ADMIN).user
    assert admin is not None
    assert template.render(Context({"user": admin})) == "yes"
    admin.disabled_at = admin.updated_at
    assert template.render(Context({"user": admin})) == "no"
    assert template.render(Context({"user": AnonymousUser()})) == "no"


@pytest.mark.parametrize("name", ["INTERNAL_USERS_MANAGES", "internal_users:manage", "__class__"])
def test_an_unknown_permission_name_is_a_template_error(name: str) -> None:
    template = Template('{% load permissions %}{% if user|can:"' + name + '" %}yes{% endif %}')
    with pytest.raises(TemplateSyntaxError):
        template.render(Context({"user": AnonymousUser()}))
