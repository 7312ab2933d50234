from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"

    def ready(self) -> None:
        # Registers the invitation webhook handlers (organizationInvitation.*, organizationMembership.created).
        from core.jobs import register_expirer
        from invitations import tasks, webhook_handlers  # noqa: F401  (tasks register with core.jobs)
        from invitations.services import invitations_expire
        from invitations.sync import register_reconcilers

        register_reconcilers()
        register_expirer("workspace invitation", invitations_expire)
