"""Forms of the staff pages. They only shape input; the services decide (roles, protections, Clerk)."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import User
from accounts.permissions import has_permission
from accounts.roles import Permission, Role

STAFF_ROLE_CHOICES = [
    (Role.PM.value, "Project manager"),
    (Role.ADMIN.value, "Admin"),
    (Role.SUPER_ADMIN.value, "Super admin"),
]


def role_choices_for(actor: User) -> list[tuple[str, str]]:
    """Admins are not offered super_admin (the service would refuse it anyway)."""
    if has_permission(actor, Permission.SUPER_ADMIN_ASSIGN):
        return STAFF_ROLE_CHOICES
    return [choice for choice in STAFF_ROLE_CHOICES if choice[0] != Role.SUPER_ADMIN]


class StaffRoleForm(forms.Form):
    """Invite and "grant staff role" share the same two fields."""

    email = forms.EmailField(max_length=320, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=STAFF_ROLE_CHOICES)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        if isinstance(role, forms.ChoiceField):
            role.choices = role_choices_for(actor)


class RemoveForm(forms.Form):
    """Remove asks for the email typed out: deleting an account cannot be undone."""

    confirm_email = forms.CharField(max_length=320, strip=True)

    def __init__(self, *args: Any, target: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = target

    def clean_confirm_email(self) -> str:
        typed: str = self.cleaned_data["confirm_email"]
        if typed.lower() != (self.target.email or "").lower():
            raise forms.ValidationError(f"Type {self.target.email} exactly to confirm.")
        return typed
