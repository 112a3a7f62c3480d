"""Portal benchmark: prints figures, asserts nothing.

What the backend-for-frontend costs. Against one real `custodian serve` (SQLite demo data,
one worker) it measures, side by side in one run:
  (a) GET /v1/me/profile   with a bearer token (an app calling the API)
  (b) GET /portal/profile  with the portal's session cookie: the session lookup (unsealing
                           the tokens), the in-process call of (a), the template
and prints req/s, p50, p99 and the ratio b/a. The load generator is an httpx+asyncio loop
on the same cores, so absolute figures are low; the ratio is the point.

Run: .venv/bin/python bench/portal.py [--seconds 5] [--connections 8] [--customers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from api.oauth.flow_client import obtain_tokens, sign_in_and_consent
from persistence.oauth.admin import DEMO_APP_REDIRECT, DEMO_PASSWORD

BIN = Path(sys.executable).parent
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _load(
    base: str, path: str, seconds: float, connections: int, **options: object
) -> list[float]:
    latencies: list[float] = []
    end = time.monotonic() + seconds

    async def one(http: httpx.AsyncClient) -> None:
        while time.monotonic() < end:
            start = time.perf_counter()
            response = await http.get(path)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")

    async with httpx.AsyncClient(base_url=base, **options) as http:  # type: ignore[arg-type]
        await asyncio.gather(*(one(http) for _ in range(connections)))
    return latencies


def _line(name: str, latencies: list[float], seconds: float) -> float:
    rate = len(latencies) / seconds
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(
        f"{name:<34} {rate:8.1f} req/s   p50 {statistics.median(ordered) * 1000:6.1f} ms"
        f"   p99 {p99:6.1f} ms"
    )
    return rate


async def _portal_cookie(base: str, email: str) -> httpx.Cookies:
    async with httpx.AsyncClient(base_url=base) as http:
        begun = await http.get("/portal/login")
        params = {k: v[0] for k, v in parse_qs(urlsplit(begun.headers["location"]).query).items()}
        redirect = await sign_in_and_consent(http, params, email, DEMO_PASSWORD)
        back = urlsplit(redirect.location)
        await http.get(f"{back.path}?{back.query}")
        return http.cookies


async def _measure(base: str, email: str, seconds: float, connections: int) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        tokens = await obtain_tokens(
            http,
            client_id="demo-app",
            redirect_uri=DEMO_APP_REDIRECT,
            scope="profile:read",
            email=email,
            password=DEMO_PASSWORD,
        )
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    cookies = await _portal_cookie(base, email)
    await _load(base, "/v1/me/profile", 1, 2, headers=bearer)  # warm-up
    await _load(base, "/portal/profile", 1, 2, cookies=cookies)
    api = _line(
        "(a) GET /v1/me/profile (bearer)",
        await _load(base, "/v1/me/profile", seconds, connections, headers=bearer),
        seconds,
    )
    page = _line(
        "(b) GET /portal/profile (session)",
        await _load(base, "/portal/profile", seconds, connections, cookies=cookies),
        seconds,
    )
    print(f"ratio b/a (throughput): {page / api:.2f}")


def main() -> None:
    """Set up a demo server, measure, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--customers", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
        env.update(
            {
                "CUSTODIAN_DATA_DIR": f"{home}/var",
                "CUSTODIAN_MASTER_KEY": KEY,
                "CUSTODIAN_RATE_LIMIT": "0",
                "PORT": str(port),
            }
        )
        custodian = str(BIN / "custodian")
        subprocess.run([custodian, "migrate"], env=env, cwd=home, check=True, capture_output=True)
        demo = subprocess.run(
            [custodian, "demo", "--customers", str(args.customers)],
            env=env,
            cwd=home,
            check=True,
            capture_output=True,
            text=True,
        )
        lines = demo.stdout.splitlines()
        email = lines[lines.index("sign in as any of these demo customers:") + 1].split()[0]
        server = subprocess.Popen(
            [custodian, "serve", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(f"SQLite, {args.connections} connections, {args.seconds:.0f} s each")
            asyncio.run(_measure(base, email, args.seconds, args.connections))
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
