"""Edge layers benchmark: prints figures, asserts nothing.

What the per-request layers added for integrators cost, measured on a do-nothing ASGI app
called directly (no server, no network), so the figure is the layer alone:
1. RequestTiming (Prometheus latency histogram by route template);
2. CorsMiddleware for a request from a registered origin (origins cached);
3. the rate limit's token bucket (`TokenBuckets.take`) for 1,000 clients.
Each is printed as microseconds per request and as a ratio to the bare app.

Run: .venv/bin/python bench/edge.py [--requests 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from api.cors import CorsMiddleware, RegisteredOrigins
from api.metrics import RequestTiming
from api.rate_limit import TokenBuckets
from domain.identity import OAuthClient

ORIGIN = "https://app.example"


async def bare(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}", "more_body": False})


def scope(with_origin: bool) -> dict[str, Any]:
    headers = [(b"authorization", b"Bearer x")]
    if with_origin:
        headers.append((b"origin", ORIGIN.encode()))
    return {
        "type": "http",
        "method": "GET",
        "path": "/v1/me/profile",
        "path_template": "/v1/me/profile",
        "headers": headers,
        "state": {},
    }


async def per_request(app: Callable[..., Awaitable[None]], requests: int, origin: bool) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    started = time.perf_counter()
    for _ in range(requests):
        await app(scope(origin), receive, send)
    return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int) -> None:
    client = OAuthClient(
        client_id="spa",
        name="SPA",
        public=True,
        redirect_uris=(f"{ORIGIN}/cb",),
        scopes=frozenset({"profile:read"}),
        created_at=datetime.now(UTC),
    )

    async def load() -> list[OAuthClient]:
        return [client]

    base = await per_request(bare, requests, origin=False)
    timing = await per_request(RequestTiming(bare), requests, origin=False)
    cors = await per_request(CorsMiddleware(bare, RegisteredOrigins(load)), requests, origin=True)
    buckets = TokenBuckets(600)
    started = time.perf_counter()
    for index in range(requests):
        buckets.take(f"client-{index % 1000}")
    bucket = (time.perf_counter() - started) / requests * 1e6
    print(f"bare app:          {base:7.2f} us/request")
    print(f"+ RequestTiming:   {timing:7.2f} us/request  (x{timing / base:.2f})")
    print(f"+ CORS (allowed):  {cors:7.2f} us/request  (x{cors / base:.2f})")
    print(f"rate-limit bucket: {bucket:7.2f} us/request  ({bucket / base:.2f} of the bare app)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    asyncio.run(main(parser.parse_args().requests))
