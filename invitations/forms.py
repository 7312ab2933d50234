"""Forms of the settings page. They only validate input; the invitation rules live in ``invitations.services``."""

from __future__ import annotations

from django import forms

from accounts.roles import WorkspaceRole
from invitations.services import parse_email_list

MAX_EMAILS_PER_REQUEST = 100


class InviteForm(forms.Form):
    """The invite modal: a free-text list of emails (comma, space or newline separated) and one workspace role.

    Invalid addresses are not a form error: each gets its own ``invalid_email`` result line, beside the others.
    """

    emails = forms.CharField(
        label="Email addresses",
        # Generous: 100 addresses of up to 320 characters each, plus separators.
        max_length=MAX_EMAILS_PER_REQUEST * 330,
        strip=True,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "placeholder": "ana@company.com, ben@company.com",
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
        error_messages={
            "required": "Enter at least one email address.",
            "max_length": f"That is too long: invite up to {MAX_EMAILS_PER_REQUEST} people at a time.",
        },
    )
    role = forms.ChoiceField(
        label="Role",
        choices=[(WorkspaceRole.MEMBER, "Member"), (WorkspaceRole.ADMIN, "Admin")],
        initial=WorkspaceRole.MEMBER,
        error_messages={
            "required": "Choose a role.",
            "invalid_choice": "Choose Member or Admin.",
        },
    )

    def clean_emails(self) -> list[str]:
        emails = parse_email_list(self.cleaned_data["emails"])
        if not emails:
            raise forms.ValidationError("Enter at least one email address.", code="required")
        if len(emails) > MAX_EMAILS_PER_REQUEST:
            raise forms.ValidationError(
                "You entered %(count)d addresses; invite up to %(max)d people at a time.",
                code="too_many",
                params={"count": len(emails), "max": MAX_EMAILS_PER_REQUEST},
            )
        return emails
