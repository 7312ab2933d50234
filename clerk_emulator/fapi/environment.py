"""``GET|PATCH /v1/environment``: the instance's settings as ClerkJS reads them.

They describe the instance docs/clerk-emulator.md lists (and docs/deployment.md has operators configure): email
address + password, sign-up restricted to invitations, names and phone number collected at sign-up, the phone not
verified there. ``POST /__emulator/settings`` changes what can differ (e.g. phone verification at sign-up), and
the emulator then behaves accordingly.
"""

from __future__ import annotations

from typing import Any

from clerk_emulator.fapi.routing import Call, route
from clerk_emulator.state import Emulator


def _attribute(
    *,
    enabled: bool = True,
    required: bool = False,
    first_factors: list[str] | None = None,
    verifications: list[str] | None = None,
    verify_at_sign_up: bool = False,
) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "required": required,
        "used_for_first_factor": bool(first_factors),
        "first_factors": first_factors or [],
        "used_for_second_factor": False,
        "second_factors": [],
        "verifications": verifications or [],
        "verify_at_sign_up": verify_at_sign_up,
        "immutable": False,
    }


def _off() -> dict[str, Any]:
    return _attribute(enabled=False)


def auth_config(em: Emulator) -> dict[str, Any]:
    settings = em.settings
    return {
        "object": "auth_config",
        "id": f"aac_{em.instance_id.removeprefix('ins_')}",
        "first_name": "required" if settings.names_required else "on",
        "last_name": "required" if settings.names_required else "on",
        "email_address": "required",
        "phone_number": "required" if settings.phone_required else "on",
        "username": "off",
        "password": "required",
        "identification_requirements": [["email_address"]],
        "identification_strategies": ["email_address"],
        "first_factors": ["email_code", "password", "reset_password_email_code", "ticket"],
        "second_factors": [],
        "email_address_verification_strategies": ["email_code"],
        "single_session_mode": False,
        "enhanced_email_deliverability": False,
        "test_mode": False,
        "cookieless_dev": False,
        "url_based_session_syncing": not em.production,
        "claimed_at": None,
        "reverification": False,
        "native_settings": {
            "object": "native_settings",
            "api_enabled": False,
            "trusted_device_sign_in_enabled": False,
            "trusted_device_enrollment_prompt_after_sign_in_enabled": False,
            "trusted_device_enrollment_prompt_after_sign_up_enabled": False,
        },
    }


def display_config(em: Emulator) -> dict[str, Any]:
    home = em.allowed_origins[0] if em.allowed_origins else em.base_url
    return {
        "object": "display_config",
        "id": f"display_config_{em.instance_id.removeprefix('ins_')}",
        "instance_environment_type": "production" if em.production else "development",
        "application_name": "Clerk emulator",
        "theme": {},
        "preferred_sign_in_strategy": "password",
        "logo_image_url": None,
        "favicon_image_url": None,
        "home_url": home,
        "sign_in_url": f"{home}/sign-in/",
        "sign_up_url": f"{home}/sign-in/",
        "user_profile_url": f"{home}/account/",
        "waitlist_url": f"{home}/",
        "oauth_consent_url": f"{home}/",
        "after_sign_in_url": f"{home}/dashboard/",
        "after_sign_up_url": f"{home}/dashboard/",
        "after_sign_out_one_url": f"{home}/sign-in/",
        "after_sign_out_all_url": f"{home}/sign-in/",
        "after_switch_session_url": f"{home}/dashboard/",
        "after_join_waitlist_url": f"{home}/",
        "organization_profile_url": f"{home}/settings/",
        "create_organization_url": f"{home}/",
        "after_leave_organization_url": f"{home}/",
        "after_create_organization_url": f"{home}/",
        "logo_link_url": f"{home}/",
        "support_email": None,
        "branded": False,
        "experimental_force_oauth_first": False,
        "clerk_js_version": None,
        "show_devmode_warning": False,
        "google_one_tap_client_id": None,
        "help_url": None,
        "privacy_policy_url": None,
        "terms_url": None,
        "logo_url": None,
        "favicon_url": None,
        "logo_image": None,
        "favicon_image": None,
        "captcha_public_key": None,
        "captcha_widget_type": None,
        "captcha_public_key_invisible": None,
        "captcha_provider": None,
        "captcha_oauth_bypass": [],
        "captcha_heartbeat": False,
    }


def user_settings(em: Emulator) -> dict[str, Any]:
    settings = em.settings
    return {
        "attributes": {
            "email_address": _attribute(
                required=True,
                first_factors=["email_code", "reset_password_email_code"],
                verifications=["email_code"],
                verify_at_sign_up=True,
            ),
            "phone_number": _attribute(
                required=settings.phone_required,
                verifications=["phone_code"],
                verify_at_sign_up=settings.phone_verify_at_sign_up,
            ),
            "username": _off(),
            "web3_wallet": _off(),
            "first_name": _attribute(required=settings.names_required),
            "last_name": _attribute(required=settings.names_required),
            "password": _attribute(required=True),
            "authenticator_app": _off(),
            "ticket": _attribute(),
            "backup_code": _off(),
            "passkey": _off(),
        },
        "social": {},
        "saml": {"enabled": False},
        "enterprise_sso": {"enabled": False},
        "sign_in": {"second_factor": {"required": False}},
        "sign_up": {
            "captcha_enabled": False,
            "captcha_widget_type": "smart",
            "custom_action_required": False,
            "progressive": True,
            "mode": "restricted",
            "legal_consent_enabled": False,
        },
        "restrictions": {
            "allowlist": {"enabled": False},
            "blocklist": {"enabled": False},
            "allowlist_blocklist_disabled_on_sign_in": {"enabled": False},
            "block_email_subaddresses": {"enabled": False},
            "block_disposable_email_domains": {"enabled": False},
        },
        "password_settings": {
            "disable_hibp": True,
            "disable_password_reverification": True,
            "min_length": 8,
            "max_length": 72,
            "require_special_char": False,
            "require_numbers": False,
            "require_uppercase": False,
            "require_lowercase": False,
            "show_zxcvbn": False,
            "min_zxcvbn_strength": 0,
            "enforce_hibp_on_sign_in": False,
            "allowed_special_characters": "",
        },
        "username_settings": {
            "min_length": 4,
            "max_length": 64,
            "allow_extended_special_characters": False,
            "allow_numeric_usernames": False,
        },
        "actions": {"delete_self": False, "create_organization": False, "create_organizations_limit": None},
        "attack_protection": {
            "user_lockout": {"enabled": False, "max_attempts": 100, "duration_in_minutes": 60},
            "pii": {"enabled": False},
            "email_link": {"require_same_client": False},
            "enumeration_protection": {"enabled": False},
        },
        "passkey_settings": {"allow_autofill": False, "show_sign_in_button": False, "satisfies_second_factor": False},
    }


def organization_settings() -> dict[str, Any]:
    return {
        "enabled": True,
        "max_allowed_memberships": 0,
        "actions": {"admin_delete": True},
        "domains": {"enabled": False, "enrollment_modes": [], "default_role": "org:member"},
        "slug": {"disabled": False},
        "creator_role": "org:admin",
    }


def environment_json(em: Emulator) -> dict[str, Any]:
    return {
        "auth_config": auth_config(em),
        "display_config": display_config(em),
        "user_settings": user_settings(em),
        "organization_settings": organization_settings(),
        "client_debug_mode": False,
        "partitioned_cookies": False,
        "maintenance_mode": False,
    }


@route("/v1/environment", "GET")
def get_environment(call: Call) -> dict[str, Any]:
    return environment_json(call.em)


@route("/v1/environment", "PATCH")
def touch_environment(call: Call) -> dict[str, Any]:
    """ClerkJS ``PATCH``es the environment on development instances (it sends the page's ``origin``)."""
    return environment_json(call.em)
