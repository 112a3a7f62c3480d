"""Every error is RFC 9457 application/problem+json, with the request id and no internals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of `response`, after checking what every problem must carry."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert body["type"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_is_a_404_problem(client: Client) -> None:
    body = problem(await client.get("/no/such/route"), 404)
    assert body["title"] == "Not Found"
    assert body["type"] == "about:blank"
    assert body["detail"] == (
        "There is nothing at this path; /schema/openapi.json lists the API's paths."
    )


async def test_unknown_path_under_the_schema_is_a_404_problem(client: Client) -> None:
    # Litestar's OpenAPI router answers these with an HTML page of its own.
    for path in ("/schema/nothing-here", "/schema/nothing-here.json"):
        problem(await client.get(path), 404)


async def test_wrong_method_is_a_405_problem_with_allow(client: Client) -> None:
    response = await client.delete("/healthz")
    body = problem(response, 405)
    assert body["title"] == "Method Not Allowed"
    assert "GET" in response.headers["allow"]
    assert body["detail"] == (
        "This path does not take DELETE; the Allow header names the methods it does."
    )


async def test_body_too_large_is_a_413_problem(client: Client) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'", "quantity": 1}'
    response = await client.post(
        "/_test/items", content=big, headers={"content-type": "application/json"}
    )
    body = problem(response, 413)
    assert body["detail"] == "The body is larger than the 1,048,576 bytes a request may carry."


async def test_body_just_under_the_limit_is_accepted(client: Client) -> None:
    name = "x" * (1024 * 1024 - 100)
    response = await client.post("/_test/items", json={"name": name, "quantity": 1})
    assert response.status_code == 201
    assert response.json()["quantity"] == 1


async def test_invalid_body_lists_each_field(client: Client) -> None:
    response = await client.post(
        "/_test/items",
        json={"name": "bolt", "quantity": "many"},
        params={"trace": "query-value-canary"},
    )
    body = problem(response, 400)
    assert body["errors"], body
    assert any(
        "quantity" in error["message"] or "quantity" in error["field"] for error in body["errors"]
    )
    # Litestar's default detail quotes the URL with its query string; ours does not.
    assert "query-value-canary" not in response.text


async def test_each_invalid_parameter_says_where_it_came_from(client: Client) -> None:
    response = await client.get(
        "/_test/typed/toolong",
        params={"count": "many"},
        headers={"X-Count": "some", "Cookie": "count=few"},
    )
    body = problem(response, 400)
    # The words the document uses, never the framework's enum ("ParamType.QUERY").
    assert sorted(error["source"] for error in body["errors"]) == [
        "cookie",
        "header",
        "path",
        "query",
    ]


async def test_malformed_json_is_a_400_problem(client: Client) -> None:
    response = await client.post(
        "/_test/items", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    problem(response, 400)


@pytest.mark.parametrize(
    ("params", "headers", "missing"),
    [
        ({"trace": "ada@example.org"}, {"X-Count": "1", "Cookie": "count=1"}, ("count", "query")),
        ({"count": "1", "trace": "ada@example.org"}, {"Cookie": "count=1"}, ("X-Count", "header")),
    ],
)
async def test_a_missing_parameter_is_named_without_the_url(
    client: Client,
    params: dict[str, str],
    headers: dict[str, str],
    missing: tuple[str, str],
) -> None:
    # The query string can carry personal data: the answer names the parameter alone.
    response = await client.get("/_test/typed/abc", params=params, headers=headers)
    body = problem(response, 400)
    field, source = missing
    assert body["errors"] == [{"field": field, "message": "is required", "source": source}]
    assert "ada@example.org" not in response.text
    assert "/_test/typed" not in response.text


@pytest.mark.parametrize("empty", [b"", b" \r\n"])
async def test_an_empty_json_body_is_a_400_saying_so(client: Client, empty: bytes) -> None:
    response = await client.post(
        "/_test/items", content=empty, headers={"content-type": "application/json"}
    )
    body = problem(response, 400)
    assert body["detail"] == "The request body is empty; a JSON object is expected."
    assert body["errors"] == [
        {"field": "body", "message": "is empty; a JSON object is expected", "source": "body"}
    ]


async def test_domain_not_found_is_a_404_without_the_message(client: Client) -> None:
    response = await client.get("/_test/missing")
    body = problem(response, 404)
    assert body["type"] == "urn:custodian:problem:not-found"
    # Someone else's resource must read exactly like a missing one.
    assert "customer 7" not in response.text
    assert body["detail"] == "The requested resource does not exist."


async def test_domain_conflict_is_a_409_with_its_message(client: Client) -> None:
    body = problem(await client.get("/_test/conflict"), 409)
    assert "stale" in body["detail"]


async def test_domain_validation_is_a_422_with_field_errors(client: Client) -> None:
    body = problem(await client.get("/_test/invalid"), 422)
    assert {(e["field"], e["message"]) for e in body["errors"]} == {
        ("phone", "too short"),
        ("postal_code", "unknown format"),
    }


async def test_integrity_error_is_a_500_with_a_safe_message(client: Client) -> None:
    response = await client.get("/_test/integrity")
    problem(response, 500)
    assert "ciphertext" not in response.text
    assert "customers.email" not in response.text


async def test_unexpected_exception_is_a_generic_500(client: Client) -> None:
    response = await client.get("/_test/crash")
    body = problem(response, 500)
    assert body["title"] == "Internal Server Error"
    for leak in ("Traceback", "RuntimeError", "hunter2", "/srv/custodian", "canary"):
        assert leak not in response.text


async def test_errors_are_not_cached(client: Client) -> None:
    response = await client.get("/no/such/route")
    assert response.headers["cache-control"] == "no-store"
