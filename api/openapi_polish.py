"""Finishing touches that make the generated document valid, lint-clean OpenAPI 3.1.

Litestar leaves a few things out that validators (Spectral's `spectral:oas`, Redocly's
recommended rules) and client generators need: a schema on every response header, an
explicit `security: []` on public operations, a declaration (with a description) of every tag
used, a description on every operation, a schema for binary and JSON Lines bodies, and server
URLs that follow the deployment instead of a port fixed in the code. `polish` adds them
without changing anything the handlers already document.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "etag": {"type": "string"},
    "content-disposition": {"type": "string"},
    "content-length": {"type": "integer", "minimum": 0},
    "location": {"type": "string", "format": "uri-reference"},
    "retry-after": {"type": "integer", "minimum": 0},
    "x-request-id": {"type": "string"},
}
"""The schema of each response header the API sends, by lower-cased name."""

STREAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/zip": {
        "type": "string",
        "format": "binary",
        "contentMediaType": "application/zip",
    },
    "application/jsonl": {
        "type": "string",
        "format": "binary",
        "contentMediaType": "application/jsonl",
        "description": "One JSON document per line (JSON Lines).",
    },
}
"""The schema of streamed bodies, whose handlers return a stream Litestar cannot describe."""

TAG_DESCRIPTIONS: dict[str, str] = {
    "oauth": "The OAuth 2.0 authorization server (RFC 6749, 7009, 7662, 8414, 9207) and "
    "OpenID Connect: sign-in, tokens, revocation, introspection and discovery.",
    "identity": "Who the access token belongs to.",
    "openid": "OpenID Connect: discovery and the signed-in user's claims.",
    "metrics": "Prometheus metrics for operators.",
}
"""Descriptions of tags that the handlers use but the app does not declare itself."""

CONTACT = {"name": "Custodian maintainers"}
RATE_LIMITED_PREFIXES = ("/v1/", "/oauth/token")
"""Where the rate limit answers 429 (see `api.rate_limit`)."""
RETRY_AFTER_ON = {"downloadMyExport": ("409",), "getMyAccessLogProof": ("409",)}
"""Responses (by operation id) that also say when to try again."""
_RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
_PROBLEM_CONTENT = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
}
_TOO_MANY = {
    "description": "Too many requests from this caller; retry after the time given.",
    "headers": {"Retry-After": _RETRY_AFTER_HEADER},
    "content": _PROBLEM_CONTENT,
}
_BODY_REFUSALS = {
    "408": {
        "description": "The body did not arrive in time (CUSTODIAN_READ_TIMEOUT seconds for "
        "each part); the connection is closed.",
        "content": _PROBLEM_CONTENT,
    },
    "413": {
        "description": "The body is larger than the server accepts (1 MiB).",
        "content": _PROBLEM_CONTENT,
    },
}
"""What any operation with a request body may answer before the body is looked at."""
ISSUER_VARIABLE_DEFAULT = "http://127.0.0.1:8000"


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path_item in document.get("paths", {}).values():
        for method in _HTTP_METHODS:
            operation = path_item.get(method)
            if isinstance(operation, dict):
                found.append(operation)
    return found


def _fix_headers(operation: dict[str, Any]) -> None:
    for response in operation.get("responses", {}).values():
        headers = response.get("headers")
        if not isinstance(headers, dict):
            continue
        if not headers:
            # An empty map says nothing and some generators choke on it.
            del response["headers"]
            continue
        for name, header in headers.items():
            if "schema" not in header and "content" not in header:
                header["schema"] = copy.deepcopy(
                    HEADER_SCHEMAS.get(name.lower(), {"type": "string"})
                )


def _fix_streams(operation: dict[str, Any]) -> None:
    for response in operation.get("responses", {}).values():
        for media_type, body in response.get("content", {}).items():
            if media_type in STREAM_SCHEMAS and not body.get("schema"):
                body["schema"] = copy.deepcopy(STREAM_SCHEMAS[media_type])


def _relative(url: str) -> str:
    return urlsplit(url).path or "/"


def _set_servers(document: dict[str, Any], issuer: str | None) -> None:
    """Servers from the issuer; OAuth flow URLs absolute when it is known, else relative
    (OpenAPI 3.1 resolves them against the server URL)."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    if issuer is not None:
        document["servers"] = [{"url": issuer.rstrip("/"), "description": "This deployment."}]
        return
    document["servers"] = [
        {
            "url": "{issuer}",
            "description": "The deployment's issuer URL (CUSTODIAN_ISSUER).",
            "variables": {
                "issuer": {
                    "default": ISSUER_VARIABLE_DEFAULT,
                    "description": "Scheme, host and port the API is served at.",
                }
            },
        }
    ]
    for scheme in schemes.values():
        for flow in scheme.get("flows", {}).values():
            for key in ("authorizationUrl", "tokenUrl", "refreshUrl"):
                if key in flow:
                    flow[key] = _relative(flow[key])


def _add_shared_refusals(document: dict[str, Any]) -> None:
    for path, path_item in document.get("paths", {}).items():
        for method in _HTTP_METHODS:
            operation = path_item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if path.startswith(RATE_LIMITED_PREFIXES):
                responses.setdefault("429", copy.deepcopy(_TOO_MANY))
            if "requestBody" in operation:
                for code, refusal in _BODY_REFUSALS.items():
                    responses.setdefault(code, copy.deepcopy(refusal))
            for code in RETRY_AFTER_ON.get(operation.get("operationId", ""), ()):
                if code in responses:
                    headers = responses[code].setdefault("headers", {})
                    headers["Retry-After"] = copy.deepcopy(_RETRY_AFTER_HEADER)


def _require_next_cursor(document: dict[str, Any]) -> None:
    # Every list answers `next_cursor` (null on the last page): the serializer writes
    # fields with defaults too, so the schema can promise it and clients need no guard.
    for schema in document.get("components", {}).get("schemas", {}).values():
        if "next_cursor" in schema.get("properties", {}):
            required = schema.setdefault("required", [])
            if "next_cursor" not in required:
                required.append("next_cursor")


def polish(document: dict[str, Any], *, issuer: str | None = None) -> dict[str, Any]:
    """`document` (modified in place and returned) made lint-clean OpenAPI 3.1.

    With `issuer` (a served document), the server URL and OAuth URLs are the deployment's;
    without (the committed document), the server is a `{issuer}` variable and the OAuth URLs
    are relative to it, so the file depends on the code alone.
    """
    info = document.setdefault("info", {})
    info.setdefault("contact", copy.deepcopy(CONTACT))
    _add_shared_refusals(document)
    _require_next_cursor(document)
    declared = {tag["name"] for tag in document.setdefault("tags", [])}
    for operation in _operations(document):
        # Public operations say so; a missing `security` would inherit a global one.
        operation.setdefault("security", [])
        if not operation.get("description"):
            operation["description"] = operation.get("summary") or operation["operationId"]
        _fix_headers(operation)
        _fix_streams(operation)
        for tag in operation.get("tags", []):
            if tag not in declared:
                declared.add(tag)
                document["tags"].append(
                    {"name": tag, "description": TAG_DESCRIPTIONS.get(tag, tag)}
                )
    document["tags"].sort(key=lambda tag: tag["name"])
    _set_servers(document, issuer)
    return document
