"""Validate the emulator's raw JSON against Clerk's published OpenAPI specs: the Backend API (bapi 2025-11-10, the
SDK's version) and the Frontend API (fapi 2026-05-12, what ClerkJS talks to).

Both specs are OpenAPI 3.0: ``nullable``, ``$ref``, ``oneOf`` with discriminators, ``additionalProperties: false``.
Each is converted once into JSON Schema 2020-12 (``nullable: true`` → ``anyOf [schema, null]``; annotation-only
keywords such as ``discriminator`` and ``example`` dropped, since ``oneOf`` already demands exactly one match)
and validated with ``jsonschema`` against the response schema of the operation and status code.

The Backend API spec writes its paths without the ``/v1`` its server URL carries (``/users/{user_id}``); the
Frontend API spec writes them whole (``/v1/client/sign_ins``, ``/.well-known/jwks.json``). ``Spec.prefix`` is what
a concrete request path carries beyond the spec's templates.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_DIR = Path(__file__).parent / "clerk_openapi"  # vendored, see its README
_DROPPED = {"discriminator", "example", "examples", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly"}
_PARAM = re.compile(r"\{[^/}]+\}")


def _all_of_parts(node: Any) -> set[str]:
    """Names of the components referenced as one of several parts of an ``allOf``."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _all_of_parts(item)
    elif isinstance(node, dict):
        branches = node.get("allOf")
        if isinstance(branches, list) and len(branches) > 1:
            found |= {b["$ref"].rsplit("/", 1)[-1] for b in branches if isinstance(b, dict) and "$ref" in b}
        for value in node.values():
            found |= _all_of_parts(value)
    return found


class Spec:
    """One of Clerk's OpenAPI documents, loaded lazily and validated against as JSON Schema."""

    def __init__(self, filename: str, *, prefix: str) -> None:
        self.path = SPEC_DIR / filename
        self.prefix = prefix
        self.base = "urn:clerk-" + filename.removesuffix(".yml")

    def _convert(self, node: Any, *, closed: bool = False, in_all_of: bool = False) -> Any:
        """``node`` as JSON Schema 2020-12; ``closed`` also refuses object keys the spec does not name, even where
        it leaves ``additionalProperties`` open (``unevaluatedProperties: false`` on the outermost object, so that
        the parts of an ``allOf`` still add up)."""
        if isinstance(node, list):
            return [self._convert(item, closed=closed, in_all_of=in_all_of) for item in node]
        if not isinstance(node, dict):
            return node
        base = self.base + ("-closed" if closed else "")
        if "$ref" in node:  # OpenAPI 3.0 ignores siblings of $ref
            ref = node["$ref"]
            return {"$ref": base + ref if ref.startswith("#") else ref}
        converted: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or key == "nullable":
                continue
            if key == "allOf":
                converted[key] = [self._convert(item, closed=closed, in_all_of=True) for item in value]
            elif key in ("properties", "$defs", "schemas"):
                converted[key] = {name: self._convert(item, closed=closed) for name, item in value.items()}
            else:
                converted[key] = self._convert(value, closed=closed)
        is_object = "properties" in node or "allOf" in node
        if closed and is_object:
            # A key the spec requires is declared even where it forgets to list it (``Client.User`` requires
            # ``enterprise_accounts`` without describing it).
            listed = converted.setdefault("properties", {}) if "properties" in node else None
            for name in node.get("required", []):
                if listed is not None:
                    listed.setdefault(name, {})
            if not in_all_of and "additionalProperties" not in node:
                converted["unevaluatedProperties"] = False
        if node.get("nullable") is True:
            return {"anyOf": [converted, {"type": "null"}]}
        return converted

    @functools.cached_property
    def document(self) -> dict[str, Any]:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses the 1 MB specs ~10x faster
        with self.path.open() as handle:
            loaded: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 (a safe loader)
        return loaded

    @functools.cached_property
    def registry(self) -> Registry[Any]:
        registry: Registry[Any] = Registry()
        schemas = self.document["components"]["schemas"]
        # Components that are parts of an ``allOf`` are left open in the closed variant: their whole closes them.
        parts = _all_of_parts(schemas)
        for closed in (False, True):
            converted = {
                name: self._convert(schema, closed=closed, in_all_of=closed and name in parts)
                for name, schema in schemas.items()
            }
            registry = registry.with_resource(
                self.base + ("-closed" if closed else ""),
                Resource.from_contents({"components": {"schemas": converted}}, default_specification=DRAFT202012),
            )
        return registry

    def declared_statuses(self, path: str, method: str) -> list[str]:
        return sorted(self.document["paths"][path][method.lower()]["responses"])

    def response_schema(self, path: str, method: str, status: int, *, closed: bool = False) -> dict[str, Any]:
        """The JSON schema of ``method path`` answering ``status`` (falling back to the operation's ``default``)."""
        operation = self.document["paths"][path][method.lower()]
        responses = operation["responses"]
        response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if response is None:
            raise AssertionError(f"{method} {path} declares no {status} response; declared: {sorted(responses)}")
        if "$ref" in response:
            response = self.document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
        schema: dict[str, Any] = self._convert(response["content"]["application/json"]["schema"], closed=closed)
        return schema

    def schema_violations(self, schema: dict[str, Any], data: Any) -> list[str]:
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        errors = sorted(validator.iter_errors(data), key=lambda error: list(error.absolute_path))
        return [f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:300]}" for error in errors]

    def component(self, name: str) -> dict[str, Any]:
        """A ``$ref`` to ``#/components/schemas/<name>``, to validate a part of a response on its own."""
        return {"$ref": f"{self.base}#/components/schemas/{name}"}

    def violations(self, path: str, method: str, status: int, data: Any, *, closed: bool = False) -> list[str]:
        return self.schema_violations(self.response_schema(path, method, status, closed=closed), data)

    def undeclared_keys(self, path: str, method: str, status: int, data: Any) -> list[str]:
        """Keys in ``data`` that the spec names nowhere for this answer (only problems the open check passes)."""
        return self.violations(path, method, status, data, closed=True)

    def assert_conforms(self, path: str, method: str, response: httpx.Response) -> Any:
        """``response`` is JSON matching the spec's schema for ``method path`` and its status code; returns it."""
        assert response.headers["content-type"].startswith("application/json"), response.headers
        data = response.json()
        problems = self.violations(path, method, response.status_code, data)
        assert not problems, f"{method} {path} → {response.status_code} does not match the spec:\n" + "\n".join(
            problems
        )
        return data

    def operation_for(self, method: str, concrete_path: str) -> str:
        """The spec path template (``/users/{user_id}``) a concrete ``/v1/users/user_123`` request hits."""
        path = concrete_path.removeprefix(self.prefix)
        candidates: list[str] = []
        for template, item in self.document["paths"].items():
            if method.lower() not in item:
                continue
            pattern = "^" + _PARAM.sub("[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
            if re.match(pattern, path):
                candidates.append(template)
        if not candidates:
            raise AssertionError(f"no operation in the spec for {method} {path}")
        # Prefer literal segments over parameters (``/users/count`` over ``/users/{user_id}``).
        return min(candidates, key=lambda template: template.count("{"))

    def assert_clerk_error(self, response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
        """Clerk's error body ``{"errors": [{"message", "long_message", "code"}]}`` as JSON, with ``status``."""
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json"), response.headers
        body: dict[str, Any] = response.json()
        problems = self.schema_violations(self.component("ClerkErrors"), body)
        assert not problems, problems
        assert body["errors"], body
        for error in body["errors"]:
            assert error["message"], error
            assert error["long_message"], error
        if code is not None:
            assert body["errors"][0]["code"] == code, body
        return body


BAPI = Spec("bapi-2025-11-10.yml", prefix="/v1")
FAPI = Spec("fapi-2026-05-12.yml", prefix="")


# The Backend API's spec, as the BAPI tests have always used it.
def spec() -> dict[str, Any]:
    return BAPI.document


response_schema = BAPI.response_schema
violations = BAPI.violations
assert_conforms = BAPI.assert_conforms
operation_for = BAPI.operation_for
assert_clerk_error = BAPI.assert_clerk_error
