"""X-Request-ID on every response, and the security headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from failing_routes import PAGE_CSP
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.middleware import API_CSP, RequestContextMiddleware, accept_request_id
from api.settings import Settings

Client = AsyncTestClient[Litestar]

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


async def test_well_formed_request_id_is_echoed(client: Client) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc12345-XYZ_.9"})
    assert response.headers["x-request-id"] == "abc12345-XYZ_.9"


async def test_request_id_is_generated_when_absent(client: Client) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/healthz")).headers["x-request-id"]
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != second


@pytest.mark.parametrize(
    "bad",
    [
        "short",
        "x" * 500,
        "has space in it",
        "semi;colon;here",
        'quote"quote"',
        "\u00e9t\u00e9-\u00e9t\u00e9-\u00e9t\u00e9",
    ],
)
async def test_malformed_request_id_is_replaced(client: Client, bad: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": bad.encode("utf-8")})
    echoed = response.headers["x-request-id"]
    assert echoed != bad
    assert len(echoed) == 32


async def _raw_get(app: Litestar, headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Call the ASGI app directly, to send header bytes an HTTP client would refuse."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    return {k.decode(): v.decode() for k, v in start["headers"]}


async def test_request_id_with_newline_is_replaced(app: Litestar) -> None:
    injected = b"abcdefgh\r\nX-Injected: yes"
    headers = await _raw_get(app, [(b"x-request-id", injected)])
    assert "\n" not in headers["x-request-id"]
    assert "x-injected" not in headers
    assert len(headers["x-request-id"]) == 32


def test_accept_request_id_bounds() -> None:
    assert accept_request_id("a" * 8) == "a" * 8
    assert accept_request_id("a" * 128) == "a" * 128
    assert accept_request_id("a" * 7) != "a" * 7
    assert accept_request_id("a" * 129) != "a" * 129
    assert accept_request_id(None) != accept_request_id(None)


async def test_request_id_is_on_errors(client: Client) -> None:
    response = await client.get("/_test/crash", headers={"X-Request-ID": "trace-0001"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-0001"
    assert response.json()["request_id"] == "trace-0001"


@pytest.mark.parametrize("path", ["/healthz", "/no/such/route", "/_test/crash"])
async def test_security_headers_everywhere(client: Client, path: str) -> None:
    response = await client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["content-security-policy"] == API_CSP
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # the issuer is http


async def test_a_route_may_choose_its_own_csp_and_caching(client: Client) -> None:
    page = await client.get("/_test/page")
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert page.headers["x-frame-options"] == "DENY"
    cacheable = await client.get("/_test/cacheable")
    assert cacheable.headers["cache-control"] == "public, max-age=60"


async def test_hsts_only_for_an_https_issuer(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        data_dir=tmp_path,
        master_key=bytes(32),
        issuer="https://id.example.com",
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_a_response_cannot_double_or_weaken_the_forced_headers() -> None:
    # What the middleware forces replaces what a response set (in any letter case), once;
    # the defaults stay the response's own when it chose them; other headers pass through.
    own = [
        (b"X-Frame-Options", b"ALLOWALL"),
        (b"x-request-id", b"from-the-handler"),
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"Cache-Control", b"private"),
        (b"strict-transport-security", b"max-age=0"),
        (b"etag", b'"v1"'),
    ]
    sent: list[dict[str, Any]] = []

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(own)})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    await RequestContextMiddleware(handler, hsts=True)(scope, receive, send)  # type: ignore[arg-type]
    headers = [(name.decode().lower(), value.decode()) for name, value in sent[0]["headers"]]
    names = [name for name, _ in headers]
    for name, value in SECURITY_HEADERS.items():
        assert (name, value) in headers
    assert names.count("x-frame-options") == 1
    assert names.count("x-request-id") == 1
    assert ("x-request-id", "from-the-handler") not in headers
    assert names.count("strict-transport-security") == 1
    assert ("strict-transport-security", "max-age=0") not in headers
    assert ("cache-control", "private") in headers
    assert names.count("cache-control") == 1
    assert ("content-security-policy", API_CSP) in headers
    assert ("etag", '"v1"') in headers
