"""The committed document is lint-clean OpenAPI 3.1 for validators and client generators:
typed headers and streams, explicit public operations, declared tags, described operations,
servers from the issuer. (`make contract` runs Spectral itself over the same file.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return loaded


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def test_every_operation_is_described_tagged_and_says_who_may_call_it() -> None:
    document = _document()
    declared = {tag["name"]: tag.get("description") for tag in document["tags"]}
    public = set()
    for name, operation in _operations(document):
        assert operation.get("description"), f"{name} has no description"
        assert "security" in operation, f"{name} does not say who may call it"
        if operation["security"] == []:
            public.add(name)
        for tag in operation["tags"]:
            assert declared.get(tag), f"{name}: tag {tag!r} is not declared with a description"
    assert "GET /healthz" in public
    assert "POST /oauth/token" in public
    assert "GET /v1/me/profile" not in public


def test_every_response_header_has_a_schema() -> None:
    seen = set()
    for name, operation in _operations(_document()):
        for code, response in operation["responses"].items():
            for header, spec in response.get("headers", {}).items():
                assert "schema" in spec or "content" in spec, f"{name} {code} {header}"
                seen.add(header)
    assert {"ETag", "Content-Disposition", "Content-Length"} <= seen


def test_streamed_bodies_are_typed_binary() -> None:
    document = _document()
    archive = document["paths"]["/v1/me/exports/{export_id}/archive"]["get"]["responses"]["200"]
    assert archive["content"]["application/zip"]["schema"]["format"] == "binary"
    assert archive["headers"]["Content-Length"]["schema"]["type"] == "integer"
    export = document["paths"]["/v1/privacy/audit-events/export"]["get"]["responses"]["200"]
    assert export["content"]["application/jsonl"]["schema"]["type"] == "string"


def test_committed_servers_follow_the_issuer_not_a_fixed_port() -> None:
    document = _document()
    assert "8000" not in json.dumps(document["components"]["securitySchemes"])
    (server,) = document["servers"]
    assert server["url"] == "{issuer}"
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"]["tokenUrl"] == "/oauth/token"


async def test_served_document_names_this_deployment(client: AsyncTestClient[Litestar]) -> None:
    served = (await client.get("/schema/openapi.json")).json()
    issuer = client.app.state["settings"].issuer.rstrip("/")
    assert served["servers"][0]["url"] == issuer
    flows = served["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"]["authorizationUrl"] == f"{issuer}/oauth/authorize"
