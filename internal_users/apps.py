from django.apps import AppConfig


class InternalUsersConfig(AppConfig):
    name = "internal_users"

    def ready(self) -> None:
        from core.jobs import register_expirer
        from internal_users import tasks, webhook_handlers  # noqa: F401  (register email.created, tasks)
        from internal_users.services import internal_invitations_expire, register_role_claim
        from internal_users.sync import register_reconcilers

        register_role_claim()
        register_reconcilers()
        register_expirer("staff invitation", internal_invitations_expire)
