from django.apps import AppConfig


class InternalUsersConfig(AppConfig):
    name = "internal_users"
