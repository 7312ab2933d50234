"""Backend API routes (``/v1/...``, secret key required). Each handler runs under the emulator's lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule

from clerk_emulator import invitations, organizations, sessions, shapes, users
from clerk_emulator.errors import ClerkAPIError, not_found
from clerk_emulator.params import Body, Query, paginate
from clerk_emulator.state import Emulator

Handler = Callable[..., Any]
ROUTES: dict[str, Handler] = {}
RULES: list[Rule] = []


def route(path: str, method: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        endpoint = f"bapi.{handler.__name__}"
        ROUTES[endpoint] = handler
        RULES.append(Rule(f"/v1{path}", endpoint=endpoint, methods=[method]))
        return handler

    return register


class Call:
    """What a handler receives: the emulator, the parsed JSON body and the query string."""

    def __init__(self, em: Emulator, body: Any, query: Query) -> None:
        self.em = em
        self.body = body
        self.query = query


def _paged(items: list[Any], call: Call, shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {"data": [shape(item) for item in paginate(items, call.query)], "total_count": len(items)}


def _body(call: Call) -> Any:
    return call.body if call.body is not None else {}


# -- users -----------------------------------------------------------------------------------------------------


@route("/users", "POST")
def create_user(call: Call) -> Any:
    return shapes.user(users.create_user(call.em, call.body))


@route("/users", "GET")
def list_users(call: Call) -> Any:
    return [shapes.user(user) for user in paginate(users.filter_users(call.em, call.query), call.query)]


@route("/users/count", "GET")
def count_users(call: Call) -> Any:
    return {"object": "total_count", "total_count": len(users.filter_users(call.em, call.query))}


@route("/users/<user_id>", "GET")
def get_user(call: Call, user_id: str) -> Any:
    return shapes.user(users.get_user(call.em, user_id))


@route("/users/<user_id>", "PATCH")
def update_user(call: Call, user_id: str) -> Any:
    return shapes.user(users.update_user(call.em, users.get_user(call.em, user_id), _body(call)))


@route("/users/<user_id>", "DELETE")
def delete_user(call: Call, user_id: str) -> Any:
    return users.delete_user(call.em, users.get_user(call.em, user_id))


@route("/users/<user_id>/metadata", "PATCH")
def update_user_metadata(call: Call, user_id: str) -> Any:
    return shapes.user(users.update_metadata(call.em, users.get_user(call.em, user_id), _body(call)))


@route("/users/<user_id>/metadata", "PUT")
def replace_user_metadata(call: Call, user_id: str) -> Any:
    return shapes.user(users.update_metadata(call.em, users.get_user(call.em, user_id), _body(call), replace=True))


@route("/users/<user_id>/ban", "POST")
def ban_user(call: Call, user_id: str) -> Any:
    return shapes.user(users.set_banned(call.em, users.get_user(call.em, user_id), True))


@route("/users/<user_id>/unban", "POST")
def unban_user(call: Call, user_id: str) -> Any:
    return shapes.user(users.set_banned(call.em, users.get_user(call.em, user_id), False))


@route("/users/<user_id>/lock", "POST")
def lock_user(call: Call, user_id: str) -> Any:
    return shapes.user(users.set_locked(call.em, users.get_user(call.em, user_id), True))


@route("/users/<user_id>/unlock", "POST")
def unlock_user(call: Call, user_id: str) -> Any:
    return shapes.user(users.set_locked(call.em, users.get_user(call.em, user_id), False))


@route("/users/<user_id>/organization_memberships", "GET")
def list_user_memberships(call: Call, user_id: str) -> Any:
    users.get_user(call.em, user_id)
    items = organizations.list_memberships(call.em, call.query, user_id=user_id)
    return _paged(items, call, lambda m: shapes.membership(call.em, m))


# -- organizations ---------------------------------------------------------------------------------------------


@route("/organizations", "POST")
def create_organization(call: Call) -> Any:
    return shapes.organization(call.em, organizations.create_organization(call.em, call.body))


@route("/organizations", "GET")
def list_organizations(call: Call) -> Any:
    include_counts = bool(call.query.boolean("include_members_count"))
    items = organizations.list_organizations(call.em, call.query)
    return _paged(items, call, lambda o: shapes.organization(call.em, o, include_counts=include_counts))


@route("/organizations/<organization_id>", "GET")
def get_organization(call: Call, organization_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    return shapes.organization(call.em, org, include_counts=bool(call.query.boolean("include_members_count")))


@route("/organizations/<organization_id>", "PATCH")
def update_organization(call: Call, organization_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    return shapes.organization(call.em, organizations.update_organization(call.em, org, _body(call)))


@route("/organizations/<organization_id>", "DELETE")
def delete_organization(call: Call, organization_id: str) -> Any:
    return organizations.delete_organization(call.em, organizations.get_organization(call.em, organization_id))


@route("/organizations/<organization_id>/metadata", "PATCH")
def merge_organization_metadata(call: Call, organization_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    return shapes.organization(call.em, organizations.merge_organization_metadata(call.em, org, _body(call)))


# -- memberships -------------------------------------------------------------------------------------------------


@route("/organizations/<organization_id>/memberships", "POST")
def create_membership(call: Call, organization_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    return shapes.membership(call.em, organizations.create_membership(call.em, org, call.body))


@route("/organizations/<organization_id>/memberships", "GET")
def list_memberships(call: Call, organization_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    items = organizations.list_memberships(call.em, call.query, org_id=org.id)
    return _paged(items, call, lambda m: shapes.membership(call.em, m))


@route("/organizations/<organization_id>/memberships/<user_id>", "PATCH")
def update_membership(call: Call, organization_id: str, user_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    membership = organizations.get_membership(call.em, org, user_id)
    return shapes.membership(call.em, organizations.update_membership(call.em, membership, _body(call)))


@route("/organizations/<organization_id>/memberships/<user_id>", "DELETE")
def delete_membership(call: Call, organization_id: str, user_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    return organizations.delete_membership(call.em, organizations.get_membership(call.em, org, user_id))


# -- organization invitations ------------------------------------------------------------------------------------


@route("/organizations/<organization_id>/invitations", "POST")
def create_organization_invitation(call: Call, organization_id: str) -> Any:
    invitation = invitations.create_organization_invitation(call.em, organization_id, call.body)
    return shapes.organization_invitation(call.em, invitation)


@route("/organizations/<organization_id>/invitations/bulk", "POST")
def bulk_create_organization_invitations(call: Call, organization_id: str) -> Any:
    created = invitations.bulk_create_organization_invitations(call.em, organization_id, call.body)
    return {"data": [shapes.organization_invitation(call.em, inv) for inv in created], "total_count": len(created)}


@route("/organizations/<organization_id>/invitations", "GET")
def list_organization_invitations(call: Call, organization_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    items = invitations.list_organization_invitations(call.em, call.query, org_id=org.id)
    return _paged(items, call, lambda inv: shapes.organization_invitation(call.em, inv))


@route("/organizations/<organization_id>/invitations/pending", "GET")
def list_pending_organization_invitations(call: Call, organization_id: str) -> Any:
    org = organizations.get_organization(call.em, organization_id)
    items = [
        inv
        for inv in invitations.list_organization_invitations(call.em, call.query, org_id=org.id)
        if shapes.invitation_status(call.em, inv) == "pending"
    ]
    return _paged(items, call, lambda inv: shapes.organization_invitation(call.em, inv))


@route("/organization_invitations", "GET")
def list_instance_organization_invitations(call: Call) -> Any:
    items = invitations.list_organization_invitations(call.em, call.query, org_id=None)

    def shape(inv: Any) -> dict[str, Any]:
        data = shapes.organization_invitation(call.em, inv)
        org = call.em.organizations.get(inv.organization_id)
        data["public_organization_data"] = (
            {
                "id": org.id,
                "name": org.name,
                "slug": org.slug,
                "image_url": shapes.image_url(org.id),
                "has_image": False,
            }
            if org
            else None
        )
        return data

    return _paged(items, call, shape)


@route("/organizations/<organization_id>/invitations/<invitation_id>", "GET")
def get_organization_invitation(call: Call, organization_id: str, invitation_id: str) -> Any:
    invitation = invitations.get_organization_invitation(call.em, organization_id, invitation_id)
    return shapes.organization_invitation(call.em, invitation)


@route("/organizations/<organization_id>/invitations/<invitation_id>/revoke", "POST")
def revoke_organization_invitation(call: Call, organization_id: str, invitation_id: str) -> Any:
    invitation = invitations.revoke_organization_invitation(call.em, organization_id, invitation_id, call.body)
    return shapes.organization_invitation(call.em, invitation)


# -- application invitations -------------------------------------------------------------------------------------


@route("/invitations", "POST")
def create_invitation(call: Call) -> Any:
    return shapes.invitation(call.em, invitations.create_invitation(call.em, call.body))


@route("/invitations/bulk", "POST")
def bulk_create_invitations(call: Call) -> Any:
    return [shapes.invitation(call.em, inv) for inv in invitations.bulk_create_invitations(call.em, call.body)]


@route("/invitations", "GET")
def list_invitations(call: Call) -> Any:
    items = invitations.list_invitations(call.em, call.query)
    if call.query.boolean("paginated"):
        return _paged(items, call, lambda inv: shapes.invitation(call.em, inv))
    return [shapes.invitation(call.em, inv) for inv in paginate(items, call.query)]


@route("/invitations/<invitation_id>/revoke", "POST")
def revoke_invitation(call: Call, invitation_id: str) -> Any:
    return shapes.invitation(call.em, invitations.revoke_invitation(call.em, invitation_id))


# -- sessions and keys -------------------------------------------------------------------------------------------


@route("/sessions", "POST")
def create_session(call: Call) -> Any:
    return shapes.session(sessions.create_session(call.em, call.body))


@route("/sessions", "GET")
def list_sessions(call: Call) -> Any:
    return [shapes.session(s) for s in paginate(sessions.list_sessions(call.em, call.query), call.query)]


@route("/sessions/<session_id>", "GET")
def get_session(call: Call, session_id: str) -> Any:
    return shapes.session(sessions.get_session(call.em, session_id))


@route("/sessions/<session_id>/tokens", "POST")
def create_session_token(call: Call, session_id: str) -> Any:
    return sessions.create_session_token(call.em, session_id, call.body)


@route("/sessions/<session_id>/revoke", "POST")
def revoke_session(call: Call, session_id: str) -> Any:
    return shapes.session(sessions.end_session(call.em, sessions.get_session(call.em, session_id), "revoked"))


@route("/jwks", "GET")
def get_jwks(call: Call) -> Any:
    return call.em.keys.jwks()


# -- templates ---------------------------------------------------------------------------------------------------


@route("/templates/<template_type>", "GET")
def list_templates(call: Call, template_type: str) -> Any:
    _check_template_type(template_type)
    return [shapes.template(call.em, t) for t in call.em.templates.values() if t.template_type == template_type]


@route("/templates/<template_type>/<slug>", "GET")
def get_template(call: Call, template_type: str, slug: str) -> Any:
    return shapes.template(call.em, _template(call, template_type, slug))


@route("/templates/<template_type>/<slug>/toggle_delivery", "POST")
def toggle_template_delivery(call: Call, template_type: str, slug: str) -> Any:
    template = _template(call, template_type, slug)
    body = Body(_body(call), allowed={"delivered_by_clerk"})
    delivered = body.boolean("delivered_by_clerk")
    template.delivered_by_clerk = (not template.delivered_by_clerk) if delivered is None else delivered
    template.updated_at = call.em.now_ms()
    return shapes.template(call.em, template)


def _check_template_type(template_type: str) -> None:
    if template_type not in ("email", "sms"):
        raise ClerkAPIError(
            400, "template_type_unsupported", "template type not supported", "Template type must be email or sms."
        )


def _template(call: Call, template_type: str, slug: str) -> Any:
    _check_template_type(template_type)
    template = call.em.templates.get((template_type, slug))
    if template is None:
        raise not_found("template")
    return template
