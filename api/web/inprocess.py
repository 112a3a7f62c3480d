"""The pages act through the API itself: each call is an HTTP request to this same
application, in-process (no socket), carrying the session's access token as a bearer token.

So the bearer guard verifies the token, the route's scopes are checked, the per-client rate
limit applies and every access is audited exactly as for any other client: nothing the API
refuses is possible through a page. The page's request id goes along, so the audit events a
page view causes carry the id of that view.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from litestar import Request

from api.middleware import request_id_of
from api.oauth.client_address import client_address, parse_networks

PROBLEM_JSON = "application/problem+json"


class ApiRefused(Exception):
    """The API answered with a problem; `status`, `title` and `detail` say which."""

    def __init__(self, status: int, title: str, detail: str, body: Mapping[str, Any]) -> None:
        super().__init__(f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body


class ApiUnauthorized(ApiRefused):
    """401: the token is no longer accepted (expired, revoked, the grant withdrawn)."""


def problem_of(response: httpx.Response) -> ApiRefused:
    """The problem a refused response carries (a generic one when it is not problem+json)."""
    body: Mapping[str, Any] = {}
    if response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        decoded = response.json()
        body = decoded if isinstance(decoded, dict) else {}
    title = str(body.get("title") or response.reason_phrase)
    detail = str(body.get("detail") or "")
    kind = ApiUnauthorized if response.status_code == 401 else ApiRefused
    return kind(response.status_code, title, detail, body)


def browser_address(request: Request[Any, Any, Any]) -> str:
    """The address of the person's browser (through the trusted proxies, as the sign-in
    pages see it): the in-process requests come from there, so the token endpoint's
    per-client-and-address limit counts each person, not the portal as a whole."""
    settings = request.app.state.get("settings")
    proxies = parse_networks(getattr(settings, "trusted_proxies", ()))
    return client_address(request, proxies) or "127.0.0.1"


def asgi_client(request: Request[Any, Any, Any], base_url: str) -> httpx.AsyncClient:
    """An HTTP client whose requests reach this application in-process."""
    # Litestar's precise ASGI types are narrower than httpx's generic ones; the app is ASGI.
    app: Any = request.app
    transport = httpx.ASGITransport(app=app, client=(browser_address(request), 0))
    request_id = request_id_of(request.scope)
    return httpx.AsyncClient(
        transport=transport,
        base_url=base_url,
        headers={"X-Request-ID": request_id} if request_id else {},
        timeout=30.0,
    )


class Api:
    """The API as the signed-in person: every call carries their access token."""

    def __init__(self, request: Request[Any, Any, Any], base_url: str, access_token: str) -> None:
        self._request = request
        self._base_url = base_url
        self._auth = {"Authorization": f"Bearer {access_token}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """The response when its status is in `ok`; ApiRefused (ApiUnauthorized on 401)
        otherwise."""
        all_headers = {**self._auth, **(headers or {})}
        async with asgi_client(self._request, self._base_url) as http:
            response = await http.request(
                method, path, params=params, json=json, headers=all_headers
            )
        if response.status_code not in ok:
            raise problem_of(response)
        return response

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET `path`; the decoded JSON body."""
        return (await self.call("GET", path, params=params)).json()


class Streamed:
    """A response of the API whose body is read as it is produced (an export archive)."""

    def __init__(self, status: int, headers: dict[str, str], body: AsyncIterator[bytes]) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def _get_scope(request: Request[Any, Any, Any], path: str, access_token: str) -> dict[str, Any]:
    headers = [
        (b"host", request.headers.get("host", "localhost").encode("latin-1")),
        (b"authorization", f"Bearer {access_token}".encode("latin-1")),
    ]
    request_id = request_id_of(request.scope)
    if request_id:
        headers.append((b"x-request-id", request_id.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": request.url.scheme,
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": (browser_address(request), 0),
        "server": ("127.0.0.1", 0),
        "state": {},
    }


async def stream_get(request: Request[Any, Any, Any], path: str, access_token: str) -> Streamed:
    """GET `path` of this application in-process, its body streamed chunk by chunk: a large
    archive passes through in constant memory. ApiRefused unless the status is 200."""
    app = request.app
    messages: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=8)
    finished = asyncio.Event()
    scope = _get_scope(request, path, access_token)
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await messages.put(message)

    async def run() -> None:
        try:
            await app(scope, receive, send)  # type: ignore[arg-type]
        finally:
            await messages.put(None)

    task = asyncio.create_task(run())
    start = await messages.get()
    if start is None or start["type"] != "http.response.start":
        finished.set()
        await task
        raise ApiRefused(502, "Bad Gateway", "", {})
    status = int(start["status"])
    response_headers = {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1")
        for k, v in start.get("headers", [])
    }

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while True:
                message = await messages.get()
                if message is None:
                    return
                if message["type"] == "http.response.body":
                    body = bytes(message.get("body", b""))
                    if body:
                        yield body
                    if not message.get("more_body", False):
                        return
        finally:
            finished.set()
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    if status != 200:
        body = b"".join([chunk async for chunk in chunks()])
        fake = httpx.Response(status, headers=response_headers, content=body)
        raise problem_of(fake)
    return Streamed(status, response_headers, chunks())
