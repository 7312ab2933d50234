from django.apps import AppConfig


class InternalUsersConfig(AppConfig):
    name = "internal_users"

    def ready(self) -> None:
        from internal_users import webhook_handlers  # noqa: F401  (registers email.created)
        from internal_users.services import register_role_claim
        from internal_users.sync import register_reconcilers

        register_role_claim()
        register_reconcilers()
