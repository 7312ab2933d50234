"""Authorization shared by API views (DRF permission classes) and pages (view decorators).

Roles are read from the database on every request, so a role change takes effect on the next one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import ROLE_PERMISSIONS, WORKSPACE_ADMIN_PERMISSIONS, WorkspaceRole
from core.exceptions import NotAuthenticated, PermissionDenied

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def has_role(user: User | None, *roles: str) -> bool:
    return user is not None and user.is_authenticated and user.is_active and user.role in roles


def has_permission(user: User | None, permission: str, *, workspace: Workspace | None = None) -> bool:
    """The table (``accounts.roles.ROLE_PERMISSIONS``): a role's permissions everywhere, plus `workspace:invite`
    for that workspace's admins."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if permission in ROLE_PERMISSIONS.get(user.role, frozenset()):
        return True
    if workspace is not None and permission in WORKSPACE_ADMIN_PERMISSIONS:
        return WorkspaceMembership.objects.filter(workspace=workspace, user=user, role=WorkspaceRole.ADMIN).exists()
    return False


def _request_user(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None


def _guard(check: Callable[[User | None], bool]) -> Callable[[ViewFunc], ViewFunc]:
    def decorator(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = _request_user(request)
            if user is None:
                raise NotAuthenticated()
            if not check(user):
                raise PermissionDenied()
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapped)

    return decorator


def require_role(role: str) -> Callable[[ViewFunc], ViewFunc]:
    return _guard(lambda user: has_role(user, role))


def require_any_role(*roles: str) -> Callable[[ViewFunc], ViewFunc]:
    return _guard(lambda user: has_role(user, *roles))


def require_permission(permission: str) -> Callable[[ViewFunc], ViewFunc]:
    """For permissions that do not depend on a workspace; workspace checks go through ``has_permission``."""
    return _guard(lambda user: has_permission(user, permission))


class HasAnyRole(BasePermission):
    """``permission_classes = [HasAnyRole.of("super_admin", "admin")]``."""

    roles: Iterable[str] = ()

    @classmethod
    def of(cls, *roles: str) -> type[HasAnyRole]:
        return type(f"HasAnyRole_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(_request_user(request), *self.roles)


class HasPermission(BasePermission):
    permission: str = ""

    @classmethod
    def of(cls, permission: str) -> type[HasPermission]:
        return type(f"HasPermission_{permission.replace(':', '_')}", (cls,), {"permission": permission})

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_permission(_request_user(request), self.permission)
