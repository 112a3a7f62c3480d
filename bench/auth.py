"""Authentication benchmark: prints figures, asserts nothing.

1. Requests per second of GET /v1/me (token checked: signature, claims, revocation lookup)
   against the same handler mounted unprotected at /bench/me, on one server, in one run.
2. argon2id verify time with the parameters the server uses.
3. p99 latency of GET /v1/me while 32 clients hammer the sign-in form, against without.

Run: .venv/bin/python bench/auth.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from litestar import get

from api.app import create_app
from api.composition import build_oauth_services, build_services
from api.oauth.flow_client import Pkce, authorize_params, form_fields, obtain_tokens
from api.oauth.me import Identity
from api.settings import load_settings
from domain.customer.profile import AcquisitionChannel, Customer, CustomerStatus, Profile
from domain.oauth.login import ThrottlePolicy
from domain.values import Email
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.migrate import upgrade
from persistence.oauth.admin import DEMO_APP_REDIRECT, DEMO_PASSWORD, ensure_demo_identities
from persistence.oauth.passwords import Argon2PasswordHasher
from persistence.uow import SqlUnitOfWork

ROOT = Path(__file__).resolve().parents[1]
BENCH_EMAIL = "bench@example.com"


def bench_app():  # type: ignore[no-untyped-def]
    """The real app plus an unprotected twin of /v1/me (uvicorn factory, in the server)."""

    @get("/bench/me", operation_id="benchMe", include_in_schema=False)
    async def unprotected_me() -> Identity:
        return Identity(kind="customer", client_id="demo-app", scopes=["profile:read"])

    settings = load_settings()
    services = build_services(settings)
    # The flood must reach the hasher, not the throttle.
    oauth = build_oauth_services(
        settings,
        services,
        throttle=ThrottlePolicy(pair_free=10**9, per_address=10**9, account_free=10**9),
    )
    app = create_app(settings, services=services, oauth=oauth)
    app.register(unprotected_me)
    return app


async def _load(url: str, seconds: float, workers: int, headers: dict[str, str]) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(timeout=30) as http:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await http.get(url, headers=headers)
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text

        await asyncio.gather(*(worker() for _ in range(workers)))
    return latencies


async def _flood(base: str, stop: asyncio.Event, clients: int) -> int:

    sent = 0

    async def one() -> None:
        nonlocal sent
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            params = authorize_params(
                "demo-app", "http://127.0.0.1:8765/callback", "profile:read", Pkce.new()
            )
            page = await http.get("/oauth/authorize", params=params)
            fields = form_fields(page.text)
            while not stop.is_set():
                await http.post(
                    "/oauth/authorize",
                    data={**fields, "email": "nobody@example.com", "password": "wrong"},
                )
                sent += 1

    await asyncio.gather(*(one() for _ in range(clients)))
    return sent


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] * 1000


async def _measure(base: str, token: str, seconds: float) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    protected = await _load(f"{base}/v1/me", seconds, 8, auth)
    open_ = await _load(f"{base}/bench/me", seconds, 8, {})
    print(f"protected /v1/me: {len(protected) / seconds:8.0f} req/s")
    print(f"unprotected twin: {len(open_) / seconds:8.0f} req/s")
    print(f"ratio protected/unprotected: {len(protected) / max(1, len(open_)):.2f}")

    quiet = await _load(f"{base}/v1/me", seconds, 4, auth)
    stop = asyncio.Event()
    flood = asyncio.create_task(_flood(base, stop, 32))
    await asyncio.sleep(0.5)
    busy = await _load(f"{base}/v1/me", seconds, 4, auth)
    stop.set()
    attempts = await flood
    print(
        f"p99 /v1/me quiet: {_p99(quiet):7.1f} ms; during a 32-client sign-in flood: "
        f"{_p99(busy):7.1f} ms ({attempts} sign-in attempts); ratio "
        f"{_p99(busy) / _p99(quiet):.2f}"
    )


def _argon2() -> None:

    hasher = Argon2PasswordHasher()
    stored = hasher.hash_blocking("benchmark password")
    runs = []
    for _ in range(20):
        start = time.perf_counter()
        hasher._verify(stored, "benchmark password")
        runs.append(time.perf_counter() - start)
    p = hasher.parameters
    print(
        f"argon2id verify (m={p.memory_cost} KiB, t={p.time_cost}, p={p.parallelism}): "
        f"median {statistics.median(runs) * 1000:.1f} ms"
    )


async def _prepare(env: dict[str, str]) -> None:

    url = env["CUSTODIAN_DATABASE_URL"]
    await upgrade(url)
    engine = make_engine(url)
    master = MasterKey.from_base64(env["CUSTODIAN_MASTER_KEY"])
    customer = Customer(
        id=uuid.uuid4(),
        status=CustomerStatus.ACTIVE,
        created_at=datetime.now(UTC),
        acquisition_channel=AcquisitionChannel.WEB,
    )
    profile = Profile(
        customer_id=customer.id, given_name="Bench", family_name="Mark", email=Email(BENCH_EMAIL)
    )
    async with SqlUnitOfWork(session_factory(engine), master) as uow:
        await uow.customers.add(customer, profile)
        await uow.commit()
    async with session_factory(engine)() as session:
        await ensure_demo_identities(session, master, [customer.id])
        await session.commit()
    await engine.dispose()


def main() -> None:
    """Start a server, run the three measurements, stop the server."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    _argon2()
    data = Path(tempfile.mkdtemp(prefix="custodian-bench-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CUSTODIAN_DATABASE_URL": f"sqlite+aiosqlite:///{data}/bench.db",
        "CUSTODIAN_DATA_DIR": str(data),
        "CUSTODIAN_ISSUER": base,
        # The load is one client: the per-client rate limit would measure itself.
        "CUSTODIAN_RATE_LIMIT": "0",
        "CUSTODIAN_TOKEN_RATE_LIMIT": "0",
        "CUSTODIAN_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    asyncio.run(_prepare(env))
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import uvicorn; uvicorn.run('bench.auth:bench_app', "
            f"factory=True, port={port}, log_level='warning')",
        ],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = _customer_token(base)
        asyncio.run(_measure(base, token, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)


def _customer_token(base: str) -> str:

    async def run() -> str:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            tokens = await obtain_tokens(
                http,
                client_id="demo-app",
                redirect_uri=DEMO_APP_REDIRECT,
                scope="profile:read",
                email=BENCH_EMAIL,
                password=DEMO_PASSWORD,
            )
        return str(tokens["access_token"])

    return asyncio.run(run())


if __name__ == "__main__":
    main()
