from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"

    def ready(self) -> None:
        # Registers the invitation webhook handlers (organizationInvitation.*, organizationMembership.created).
        from invitations import webhook_handlers  # noqa: F401
        from invitations.sync import register_reconcilers

        register_reconcilers()
