"""The committed OpenAPI document is what the app generates, and documents problem+json errors
(RFC 6749 errors and HTML pages under the OAuth protocol paths)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.openapi_doc import OAUTH_PREFIXES, write_openapi

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def test_committed_document_matches_the_app(tmp_path: Path) -> None:
    generated = write_openapi(tmp_path / "openapi.json").read_text(encoding="utf-8")
    assert COMMITTED.is_file(), "openapi/openapi.json is missing: run `custodian openapi`"
    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        "openapi/openapi.json differs from what the app generates: run `custodian openapi` "
        "and commit the result"
    )


def test_generation_is_stable(tmp_path: Path) -> None:
    first = write_openapi(tmp_path / "a.json").read_text(encoding="utf-8")
    second = write_openapi(tmp_path / "b.json").read_text(encoding="utf-8")
    assert first == second
    assert first.endswith("}\n")
    assert '\n  "info": {' in first  # 2-space indent, keys sorted ("components" first)


def test_every_error_response_is_problem_json() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert document["info"]["title"] == "Custodian"
    assert "Problem" in document["components"]["schemas"]
    checked = 0
    for path, method, operation in operations(document):
        assert operation.get("operationId"), f"{method.upper()} {path} has no operationId"
        assert operation.get("tags"), f"{method.upper()} {path} has no tag"
        if path.startswith(OAUTH_PREFIXES):
            continue
        for code, response in operation["responses"].items():
            if code.isdigit() and int(code) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (
                    f"{method.upper()} {path} {code}"
                )
                checked += 1
    assert checked > 0, "no error response documented at all"


def test_oauth_errors_are_documented_as_the_rfcs_send_them() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert document["components"]["schemas"]["OAuthError"]["required"] == ["error"]
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        operation = document["paths"][path]["post"]
        assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
        for code in ("400", "401"):
            content = operation["responses"][code]["content"]
            assert content == {
                "application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}
            }, f"{path} {code}"
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"], path
    for method, codes in (
        ("get", {"200", "302", "400"}),
        ("post", {"200", "302", "400", "401", "403", "408", "413", "429", "503"}),
    ):
        responses = document["paths"]["/oauth/authorize"][method]["responses"]
        assert set(responses) == codes, method
        assert responses["302"]["headers"]["Location"]["required"] is True
        # A body too large or too slow is refused before the pages see it: a problem.
        for code in codes - {"302", "408", "413"}:
            assert list(responses[code]["content"]) == ["text/html"], f"{method} {code}"


def test_every_operation_with_a_body_documents_its_size_and_time_limits() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    with_body = [
        (path, method, operation)
        for path, method, operation in operations(document)
        if "requestBody" in operation
    ]
    assert len(with_body) >= 10
    for path, method, operation in with_body:
        for code in ("408", "413"):
            content = operation["responses"][code]["content"]
            assert list(content) == ["application/problem+json"], f"{method} {path} {code}"


def test_health_operations_are_documented() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert document["paths"]["/healthz"]["get"]["operationId"] == "getHealth"
    readyz = document["paths"]["/readyz"]["get"]
    assert readyz["operationId"] == "getReadiness"
    assert "503" in readyz["responses"]


async def test_served_document_is_the_committed_one(client: AsyncTestClient[Litestar]) -> None:
    # The test routes registered by the fixture are not in the committed file; compare the
    # shared parts: the served document must be normalised the same way.
    served = (await client.get("/schema/openapi.json")).json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert served["paths"]["/readyz"] == committed["paths"]["/readyz"]
    assert (
        served["components"]["schemas"]["Problem"] == committed["components"]["schemas"]["Problem"]
    )
