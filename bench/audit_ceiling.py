"""Is the audit append the API's ceiling? Prints figures, asserts nothing.

Every personal-data read appends an audit event that is durable before the response. This
benchmark loads GET /v1/me/profile with many concurrent connections (default 200) against
two server processes in turn, on the same demo data:
  audited   the product as it runs (group-committed audit appends, one trip to the
            database per batch)
  no-op     the same app whose audit log of reads stores nothing (a benchmark-only variant)
and prints requests/s, p50 and p99 of each and the ratio audited/no-op. Rounds alternate
(audited, no-op, audited, no-op, ...) so both see the same machine; the ratio is taken from
the sums. A ratio near 1 means the append is not what limits the API.

Run: .venv/bin/python -m bench.audit_ceiling [--seconds 5] [--connections 200] [--rounds 2]
     [--sqlite]   (also on SQLite; PostgreSQL only by default)
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
from litestar import Litestar

from api.app import create_app, freeze_startup_heap
from api.composition import build_services
from api.logging import configure_logging
from api.settings import load_settings
from bench.read_path import (
    ROOT,
    _drop_postgres,
    _free_port,
    _measure,
    _postgres_url,
    _prepare,
    _server_env,
    _token,
)
from domain.audit.events import AuditEvent, AuditRecord, seal
from persistence.crypto import MasterKey


class NoOpAuditLog:
    """Stores nothing: answers at once with an event chained onto nothing."""

    async def record(self, record: AuditRecord) -> AuditEvent:
        return seal(0, uuid4(), datetime.now(UTC), record, bytes(32))


def noop_app() -> Litestar:
    """The product app whose read audit log stores nothing (uvicorn factory)."""
    configure_logging()
    settings = load_settings()
    app = create_app(settings, services=build_services(settings, audit_trail=NoOpAuditLog()))
    freeze_startup_heap()
    return app


def audited_app() -> Litestar:
    """The product app (uvicorn factory), configured as `custodian serve` does."""
    configure_logging()
    app = create_app(load_settings())
    # As `custodian serve` does. Without it the collector walked every start-up object again
    # and again: about 240 us of each audited read (whose requests wait for their batch, so
    # more of them are alive at a time) against 16 us of a no-op one, so the ratio measured
    # the collector more than the audit append.
    freeze_startup_heap()
    return app


def _serve(factory: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    # The product's access log (a JSON line a request, on stderr) stays on, as in
    # production, but goes to a file: on the terminal it buried the figures.
    log = Path(tempfile.mkdtemp(prefix="custodian-ceiling-")) / "server.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import uvicorn; uvicorn.run('bench.audit_ceiling:{factory}', factory=True, "
            f"port={port}, log_level='warning', log_config=None, access_log=False, "
            "server_header=False)",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"the {factory} server did not start: see {log}")


def run_one(name: str, url: str, args: argparse.Namespace) -> None:
    """Prepare the database once, then alternate the two servers for `rounds` rounds."""
    print(f"\n== {name}: GET /v1/me/profile, {args.connections} connections")
    master = MasterKey.generate()
    email, _ = asyncio.run(_prepare(url, master, args.customers))
    data = Path(tempfile.mkdtemp(prefix="custodian-bench-"))
    totals = {"audited": 0.0, "no-op": 0.0}
    for round_number in range(args.rounds):
        for label, factory in (("audited", "audited_app"), ("no-op", "noop_app")):
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            env = {**_server_env(url, data, base, master), "CUSTODIAN_WORKER": "off"}
            server = _serve(factory, env, port)
            try:
                auth = {"Authorization": f"Bearer {_token(base, email)}"}
                target = f"{base}/v1/me/profile"
                _measure(target, 1, args.connections, auth)  # warm-up
                rate, p50, p99 = _measure(target, args.seconds, args.connections, auth)
            finally:
                server.terminate()
                server.wait(timeout=10)
            totals[label] += rate
            print(
                f"  round {round_number + 1} {label:8} {rate:7.0f} req/s   "
                f"p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"
            )
    print(f"  audited / no-op: {totals['audited'] / max(totals['no-op'], 1e-9):.2f}")


def main() -> None:
    """Run on PostgreSQL (and SQLite with --sqlite)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="also measure on SQLite")
    args = parser.parse_args()
    pg = _postgres_url()
    if pg is not None:
        try:
            run_one("PostgreSQL", pg, args)
        finally:
            _drop_postgres(pg)
    if args.sqlite or pg is None:
        sqlite_dir = Path(tempfile.mkdtemp(prefix="custodian-bench-sqlite-"))
        run_one("SQLite", f"sqlite+aiosqlite:///{sqlite_dir}/bench.db", args)


if __name__ == "__main__":
    main()
