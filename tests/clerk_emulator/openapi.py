"""Validate the emulator's raw JSON against Clerk's published OpenAPI spec (bapi 2025-11-10, the SDK's version).

The spec is OpenAPI 3.0: ``nullable``, ``$ref``, ``oneOf`` with discriminators, ``additionalProperties: false``.
It is converted once into JSON Schema 2020-12 (``nullable: true`` → ``anyOf [schema, null]``; annotation-only
keywords such as ``discriminator`` and ``example`` dropped, since ``oneOf`` already demands exactly one match)
and validated with ``jsonschema`` against the response schema of the operation and status code.
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

SPEC_PATH = Path(__file__).parent / "clerk_openapi" / "bapi-2025-11-10.yml"  # vendored, see its README
_BASE = "urn:clerk-bapi-2025-11-10"
_DROPPED = {"discriminator", "example", "examples", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly"}


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # OpenAPI 3.0 ignores siblings of $ref
        ref = node["$ref"]
        return {"$ref": _BASE + ref if ref.startswith("#") else ref}
    converted = {key: _convert(value) for key, value in node.items() if key not in _DROPPED and key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses the 1 MB spec ~10x faster
    with SPEC_PATH.open() as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 (a safe loader)
    return loaded


@functools.cache
def _registry() -> Registry[Any]:
    document = {"components": {"schemas": _convert(spec()["components"]["schemas"])}}
    registry: Registry[Any] = Registry().with_resource(
        _BASE, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return registry


def response_schema(path: str, method: str, status: int) -> dict[str, Any]:
    """The JSON schema of ``method path`` answering ``status`` (falling back to the operation's ``default``)."""
    operation = spec()["paths"][path][method.lower()]
    responses = operation["responses"]
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if response is None:
        raise AssertionError(f"{method} {path} declares no {status} response; declared: {sorted(responses)}")
    if "$ref" in response:
        response = spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    schema: dict[str, Any] = _convert(response["content"]["application/json"]["schema"])
    return schema


def violations(path: str, method: str, status: int, data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(response_schema(path, method, status), registry=_registry())
    errors = sorted(validator.iter_errors(data), key=lambda error: list(error.absolute_path))
    return [f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:300]}" for error in errors]


def assert_conforms(path: str, method: str, response: httpx.Response) -> Any:
    """``response`` is JSON matching the spec's schema for ``method path`` and its status code; returns the body."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    data = response.json()
    problems = violations(path, method, response.status_code, data)
    assert not problems, f"{method} {path} → {response.status_code} does not match the spec:\n" + "\n".join(problems)
    return data


_PARAM = re.compile(r"\{[^/}]+\}")


def operation_for(method: str, concrete_path: str) -> str:
    """The spec path template (``/users/{user_id}``) a concrete ``/v1/users/user_123`` request hits."""
    path = concrete_path.removeprefix("/v1")
    candidates: list[str] = []
    for template, item in spec()["paths"].items():
        if method.lower() not in item:
            continue
        pattern = "^" + _PARAM.sub("[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        if re.match(pattern, path):
            candidates.append(template)
    if not candidates:
        raise AssertionError(f"no operation in the spec for {method} {path}")
    # Prefer literal segments over parameters (``/users/count`` over ``/users/{user_id}``).
    return min(candidates, key=lambda template: template.count("{"))


def assert_clerk_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Clerk's error body ``{"errors": [{"message", "long_message", "code"}]}`` as JSON, with ``status``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    problems = violations("/users", "GET", 400, body)  # ``ClerkErrors``, shared by every operation
    assert not problems, problems
    assert body["errors"], body
    for error in body["errors"]:
        assert error["message"], error
        assert error["long_message"], error
    if code is not None:
        assert body["errors"][0]["code"] == code, body
    return body
