"""How long a client may take to send its request: its headers, then each part of its body.

A client that opens a connection and sends its request a byte at a time (or stops halfway)
would otherwise hold that connection, and the request's task, for as long as it liked; a
few hundred such clients hold every connection a process can take. The deadline is
`CUSTODIAN_READ_TIMEOUT` seconds (default 10) for each:

- the headers, from the moment the connection opens or the request's first byte arrives
  (`HeaderDeadlineProtocol`, the HTTP protocol `custodian serve` runs): past it the server
  answers 408 and closes the connection. Between requests uvicorn's keep-alive timeout
  applies, as before.
- each part of the body, from the moment the application asks for it (`BodyDeadline`, an
  ASGI layer of the app, for the methods that carry a body): past it the request is
  answered 408 problem+json, and the connection is closed. A client that goes away before
  its body is complete ends the request with a 400 in the access log (nobody receives it),
  rather than an error.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.problems import ProblemException
from api.settings import read_timeout_seconds

_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: 31\r\n\r\n"
    b"The request was sent too slowly"
)


_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods whose requests no handler reads a body of: they skip the wrapping (most reads)."""


class BodyDeadline:
    """Bounds the wait for each part of a request's body (see the module doc)."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point; other scope types pass through untouched."""
        if scope["type"] != ScopeType.HTTP or scope["method"] in _BODILESS:
            await self.app(scope, receive, send)
            return
        body_complete = False

        async def bounded_receive() -> ReceiveMessage:
            nonlocal body_complete
            if body_complete:  # after the body, a wait is for the client leaving: unbounded
                return await receive()
            try:
                async with asyncio.timeout(self.seconds):
                    message = await receive()
            except TimeoutError:
                raise ProblemException(
                    408,
                    f"The request body did not arrive within {self.seconds:g} seconds.",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] == "http.disconnect":
                body_complete = True
                raise ProblemException(
                    400, "The connection closed before the whole request body arrived."
                )
            body_complete = not message.get("more_body", False)
            return message

        await self.app(scope, bounded_receive, send)


@cache
def _header_seconds() -> int:
    # Each worker process of `custodian serve` reads it once, from the environment it was
    # started with (the settings were checked before the server started).
    return read_timeout_seconds()


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline for each request's headers (module doc).

    uvicorn bounds only the idle time between requests; a connection that has sent nothing
    yet, or part of a request's headers, waits forever."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_due: asyncio.TimerHandle | None = None
        self._seconds = _header_seconds()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """The connection opens: its first request's headers are due."""
        super().connection_made(transport)
        self._expect_headers()

    def on_message_begin(self) -> None:
        """A request's first byte: its headers are due (unless already since the connection
        opened)."""
        super().on_message_begin()
        self._expect_headers()

    def on_headers_complete(self) -> None:
        """The headers arrived in time; the body's parts have their own deadline."""
        self._headers_arrived()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Nothing is due from a closed connection."""
        self._headers_arrived()
        super().connection_lost(exc)

    def _expect_headers(self) -> None:
        if self._headers_due is None:
            self._headers_due = self.loop.call_later(self._seconds, self._headers_too_slow)

    def _headers_arrived(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _headers_too_slow(self) -> None:
        self._headers_due = None
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request behind one still being answered: closing now would cut
            # that answer short. Its headers get another deadline.
            self._expect_headers()
            return
        if not self.transport.is_closing():
            self.transport.write(_REQUEST_TIMEOUT)
            self.transport.close()
