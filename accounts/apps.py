from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Registers the accounts webhook handlers (users, workspaces, memberships) with accounts.webhook_registry.
        from accounts import webhook_handlers  # noqa: F401
        from accounts.sync import register_reconcilers

        register_reconcilers()
