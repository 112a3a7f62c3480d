"""Read-path benchmark: prints figures, asserts nothing.

For each database (PostgreSQL when reachable, and SQLite), one run against one real server
process (uvicorn, one worker, like `custodian serve`) on demo data measures:
  (a) GET /healthz                           the framework floor
  (b) GET /bench/pk/{id}                     one primary-key query with the raw driver
                                             (asyncpg / aiosqlite), no ORM, no token: added
                                             only in this benchmark's app variant
  (c) GET /v1/me/profile                     token check + query + decrypt + audit append
  (d) GET /v1/me/accounts/{id}/transactions  a 50-item page (decrypting 50 rows) + audit
and prints req/s, p50, p99 and the ratios c/a, c/b, d/b.

On PostgreSQL it then measures scale-out: (c) through the real `custodian serve --workers 1`
and `--workers 2` (the in-process job worker off) on the same database, and prints both and
their ratio (2 workers / 1 worker). On this 2-core machine the load generator shares the
cores with the server processes and PostgreSQL, so the ratio stays well under 2; it is the
figure to compare between commits, not a promise of linear scaling.

The server is the product app plus the (b) route, so it starts through a uvicorn factory in
this module rather than `custodian serve` (same server, same settings, one worker).
Load generator: wrk (Debian package `wrk`: `apt-get install -y wrk`); without it, a Python
httpx+asyncio loop with the same connection count (it says so; its client eats CPU on the
same 2 cores, so its absolute figures are lower, the ratios still comparable).

On a shared machine the figures drift while a run goes on, so a ratio of two routes measured
a minute apart carries that drift. `--rounds N` measures every route N times, one after the
other in turn, and prints the medians. `--baseline REV` also starts a server on git revision
REV's code (extracted with `git archive`), on a database that code prepares itself, and
measures the two servers in alternation within each round: a before/after comparison taken
side by side, which also holds across a change of the stored form.

Run: .venv/bin/python bench/read_path.py [--seconds 5] [--connections 16] [--customers 20]
     [--rounds 1] [--baseline REV]
     [--profile]   (py-spy samples the server under load during (c) and (d))
     [--no-scale-out]  (skip the 1-vs-2 worker comparison on PostgreSQL)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from litestar import get
from sqlalchemy import func, select

from api.app import create_app, freeze_startup_heap
from api.logging import configure_logging
from api.oauth.flow_client import obtain_tokens
from api.settings import load_settings
from persistence.crypto import MasterKey
from persistence.customer.tables import TransactionRow
from persistence.database import make_engine, session_factory
from persistence.demo.loader import load_demo
from persistence.migrate import upgrade
from persistence.oauth.admin import DEMO_APP_REDIRECT, DEMO_PASSWORD, ensure_demo_identities

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


class _RawLookup:
    """One connection of the raw driver, opened on first use inside the server's loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None

    async def customer_status(self, customer_id: str) -> str | None:
        if self.url.startswith("postgresql"):
            import asyncpg  # noqa: PLC0415

            if self.conn is None:
                self.conn = await asyncpg.create_pool(
                    self.url.replace("postgresql+asyncpg", "postgresql"), min_size=1, max_size=4
                )
            row = await self.conn.fetchrow(
                "SELECT status FROM customers WHERE id = $1", UUID(customer_id)
            )
            return None if row is None else str(row["status"])
        import aiosqlite  # noqa: PLC0415

        if self.conn is None:
            self.conn = await aiosqlite.connect(self.url.split("///", 1)[1])
        # SQLAlchemy stores UUIDs on SQLite as 32 hex characters.
        async with self.conn.execute(
            "SELECT status FROM customers WHERE id = ?", (UUID(customer_id).hex,)
        ) as cursor:
            found = await cursor.fetchone()
        return None if found is None else str(found[0])


def bench_app():  # type: ignore[no-untyped-def]
    """The product app plus (b), the bare primary-key route (uvicorn factory, in the server)."""
    configure_logging()  # as `custodian serve` does: JSON lines, one per request
    settings = load_settings()
    lookup = _RawLookup(settings.database_url)

    @get("/bench/pk/{customer_id:str}", operation_id="benchPk", include_in_schema=False)
    async def bare_pk(customer_id: str) -> dict[str, str | None]:
        return {"status": await lookup.customer_status(customer_id)}

    app = create_app(settings)
    app.register(bare_pk)
    freeze_startup_heap()  # as the `custodian serve` factory does
    return app


async def _prepare(url: str, master: MasterKey, customers: int) -> tuple[str, str]:
    """Migrate, load demo customers, give them the demo password; the busiest customer's
    email and their account with the most transactions."""
    await upgrade(url)
    engine = make_engine(url)
    try:
        summary = await load_demo(engine, master, customers=customers, workers=0)
        ids = [s.customer_id for s in summary.sign_ins]
        sessions = session_factory(engine)
        async with sessions() as session:
            await ensure_demo_identities(session, master, ids)
            await session.commit()
            count = func.count().label("n")
            busiest = (
                await session.execute(
                    select(TransactionRow.customer_id, TransactionRow.account_id, count)
                    .group_by(TransactionRow.customer_id, TransactionRow.account_id)
                    .order_by(count.desc())
                    .limit(1)
                )
            ).one()
        email = next(s.email for s in summary.sign_ins if s.customer_id == busiest[0])
        print(
            f"  demo data: {summary.customers_created + summary.customers_existing} "
            f"customers, {summary.transactions} transactions; the busiest account has "
            f"{busiest[2]}"
        )
        return email, str(busiest[1])
    finally:
        await engine.dispose()


def _wrk(
    url: str, seconds: float, connections: int, headers: dict[str, str]
) -> tuple[float, float, float]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers from {url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, _wrk_ms(out, "50%"), _wrk_ms(out, "99%")


def _wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def _python_load(
    url: str, seconds: float, connections: int, headers: dict[str, str]
) -> tuple[float, float, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await http.get(url, headers=headers)
                latencies.append(time.perf_counter() - start)
                response.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(connections)))
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / seconds, cuts[49] * 1000, cuts[98] * 1000


def _measure(
    url: str, seconds: float, connections: int, headers: dict[str, str]
) -> tuple[float, float, float]:
    if shutil.which("wrk"):
        return _wrk(url, seconds, connections, headers)
    return asyncio.run(_python_load(url, seconds, connections, headers))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _token(base: str, email: str) -> str:
    async def run() -> str:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            tokens = await obtain_tokens(
                http,
                client_id="demo-app",
                redirect_uri=DEMO_APP_REDIRECT,
                scope="profile:read transactions:read",
                email=email,
                password=DEMO_PASSWORD,
            )
        return str(tokens["access_token"])

    return asyncio.run(run())


def _customer_of(base: str, token: str) -> str:
    me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    return str(me["subject_id"])


def _server_env(url: str, data: Path, base: str, master: MasterKey) -> dict[str, str]:
    """The environment of a benchmark server on `url`, answering at `base`."""
    return {
        **os.environ,
        "CUSTODIAN_DATABASE_URL": url,
        "CUSTODIAN_DATA_DIR": str(data),
        "CUSTODIAN_ISSUER": base,
        # The load is one client: the per-client rate limit would measure itself.
        "CUSTODIAN_RATE_LIMIT": "0",
        "CUSTODIAN_TOKEN_RATE_LIMIT": "0",
        "CUSTODIAN_MASTER_KEY": master.to_base64(),
        "PYTHONPATH": str(ROOT),
    }


class _Server:
    """A benchmark server on its own freshly prepared database, running `code`'s tree."""

    def __init__(self, label: str, url: str, code: Path, args: argparse.Namespace) -> None:
        self.label = label
        data = Path(tempfile.mkdtemp(prefix="custodian-bench-"))
        master = MasterKey.generate()
        email, account = _prepare_with(code, url, master, args.customers)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        self.env = {**_server_env(url, data, base, master), "PYTHONPATH": str(code)}
        self.email = email
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import uvicorn; uvicorn.run('bench.read_path:bench_app', "
                f"factory=True, port={port}, log_level='warning', log_config=None, "
                "access_log=False, server_header=False)",
            ],
            env=self.env,
            cwd=code,
            # The product's own access log (one JSON line per request, on stderr) stays on,
            # as in production; it goes to a file, not to this terminal, so the figures stay
            # readable and no terminal spends the cores the server is measured on.
            stdout=subprocess.DEVNULL,
            stderr=(data / "server.log").open("wb"),
        )
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit(f"the {label} server did not start: see {data / 'server.log'}")
        token = _token(base, email)
        auth = {"Authorization": f"Bearer {token}"}
        customer = _customer_of(base, token)
        self.targets = {
            "a healthz": (f"{base}/healthz", {}),
            "b bare pk query": (f"{base}/bench/pk/{customer}", {}),
            "c /v1/me/profile": (f"{base}/v1/me/profile", auth),
            "d 50 transactions": (f"{base}/v1/me/accounts/{account}/transactions?limit=50", auth),
        }

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _median_rate(runs: list[tuple[float, float, float]]) -> float:
    return statistics.median(run[0] for run in runs)


def _prepare_with(code: Path, url: str, master: MasterKey, customers: int) -> tuple[str, str]:
    """`_prepare` run by the code in `code`: this process for the current tree, a child
    process for a baseline's (each tree migrates and loads its database its own way)."""
    if code == ROOT:
        return asyncio.run(_prepare(url, master, customers))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio, json, sys; from bench.read_path import _prepare; "
            "from persistence.crypto import MasterKey; "
            "print(json.dumps(asyncio.run(_prepare(sys.argv[1], "
            "MasterKey.from_base64(sys.argv[2]), int(sys.argv[3])))))",
            url,
            master.to_base64(),
            str(customers),
        ],
        env={**os.environ, "PYTHONPATH": str(code)},
        cwd=code,
        capture_output=True,
        text=True,
        check=True,
    )
    *lines, last = done.stdout.rstrip().splitlines()
    print("\n".join(lines))
    email, account = json.loads(last)
    return str(email), str(account)


def run_one(
    name: str, url: str, args: argparse.Namespace, baseline: tuple[str, str, Path] | None = None
) -> None:
    """Prepare the database, start the server, measure (a)-(d), print, stop the server.

    With `baseline` (its label, database URL and code), a second server runs that code on
    a database of its own, and the two are measured in alternation, round by round."""
    print(f"\n== {name}")
    servers = [_Server("current", url, ROOT, args)]
    try:
        if baseline is not None:
            label, baseline_url, code = baseline
            servers.append(_Server(label, baseline_url, code, args))
        rates: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for round_ in range(args.rounds):
            for route in servers[0].targets:
                # Alternate which server goes first, so neither always meets the same moment.
                for server in servers if round_ % 2 == 0 else servers[::-1]:
                    target, headers = server.targets[route]
                    if round_ == 0:
                        _measure(target, 1, args.connections, headers)  # warm-up
                        if args.profile and route[0] in "cd" and server is servers[0]:
                            _profile(server.process.pid, target, args.connections, headers)
                    figures = _measure(target, args.seconds, args.connections, headers)
                    rates.setdefault((server.label, route), []).append(figures)
        for server in servers:
            if len(servers) > 1:
                print(f"  -- {server.label}")
            medians = {}
            for route in server.targets:
                runs = rates[server.label, route]
                rate, p50, p99 = (statistics.median(run[i] for run in runs) for i in range(3))
                medians[route[0]] = rate
                print(f"  ({route:<18}) {rate:9.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
            a, b, c, d = (medians[k] for k in "abcd")
            print(f"  ratios: c/a {c / a:.2f}   c/b {c / b:.2f}   d/b {d / b:.2f}")
        if len(servers) > 1:
            old = servers[1].label
            gains = []
            for route in servers[0].targets:
                ratio = _median_rate(rates["current", route]) / _median_rate(rates[old, route])
                gains.append(f"{route[0]} {ratio:.2f}")
            print(f"  req/s, current / {old}: {'   '.join(gains)}")
    finally:
        for server in servers:
            server.stop()
    if name == "PostgreSQL" and args.scale_out:
        run_scale_out(servers[0].env, servers[0].email, args)


def run_scale_out(env: dict[str, str], email: str, args: argparse.Namespace) -> None:
    """(c) through `custodian serve --workers 1` and `--workers 2`: req/s and the ratio."""
    print("\n== PostgreSQL scale-out: (c) GET /v1/me/profile through `custodian serve --workers N`")
    custodian = str(Path(sys.executable).parent / "custodian")
    rates: dict[int, float] = {}
    for workers in (1, 2):
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server_env = {**env, "CUSTODIAN_ISSUER": base, "CUSTODIAN_WORKER": "off"}
        server = subprocess.Popen(
            [custodian, "serve", "--port", str(port), "--workers", str(workers)],
            env=server_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            auth = {"Authorization": f"Bearer {_token(base, email)}"}
            target = f"{base}/v1/me/profile"
            _measure(target, 1, args.connections, auth)  # warm-up (every worker)
            rate, p50, p99 = _measure(target, args.seconds, args.connections, auth)
            rates[workers] = rate
            print(
                f"  (workers {workers}) {rate:9.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    print(f"  ratio: 2 workers / 1 worker {rates[2] / rates[1]:.2f}")


def _profile(pid: int, url: str, connections: int, headers: dict[str, str]) -> None:
    """Sample the server's event-loop thread with py-spy under load; print where its time
    goes (inclusive) and the busiest leaves.

    Blocking samples (py-spy stops the process for each): read while the process runs, a
    stack is often caught mid-change, which overstated short C calls (the audit append's
    statements came out at three times what timing them showed). Only the main thread
    counts: the loop runs there; the driver's and the pool's threads mostly wait.
    SQLAlchemy's async layer runs its work in greenlets, whose frames py-spy shows without
    their callers: they count toward the loop's samples, and their share is printed apart.
    """
    local = Path(sys.executable).parent / "py-spy"
    spy_bin = shutil.which("py-spy") or (str(local) if local.exists() else None)
    if spy_bin is None:
        print("  (py-spy not found: `pip install py-spy` to see where the time goes)")
        return
    out = Path(tempfile.mkdtemp()) / "stacks.txt"
    spy = subprocess.Popen(
        [
            spy_bin,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--idle",
            "--threads",
            "--duration",
            "4",
            "--rate",
            "200",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _measure(url, 4, connections, headers)
    spy.wait(timeout=30)
    totals: dict[str, int] = {}
    leaves: dict[str, int] = {}
    samples = in_loop = unframed = in_greenlets = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        thread, _, frames = stack.partition(";")
        if not thread.endswith("MainThread"):
            continue
        samples += int(count)
        if not frames:
            unframed += int(count)  # in C code that no Python frame called (seen under load)
            continue
        names = frames.split(";")
        leaf = names[-1]
        if leaf.startswith(("Runner.run (", "select (")) or "epoll" in leaf:
            in_loop += int(count)  # nothing below the loop: all that an idle server shows
            continue
        if "asyncio_run" not in frames:
            in_greenlets += int(count)
        key = leaf.split(" (")[0] + " " + leaf.split(" (")[-1].split("/")[-1].rstrip(")")
        leaves[key] = leaves.get(key, 0) + int(count)
        seen = set()
        for frame in names:
            name = frame.split(" (")[0]
            where = frame.split(" (")[-1]
            if any(key in where for key in _OURS) and name not in seen:
                seen.add(name)
                totals[name] = totals.get(name, 0) + int(count)
    share = 100 / max(1, samples)
    print(
        f"  event loop thread: {samples} samples; {in_loop * share:.0f}% in the loop itself "
        "(waiting for I/O, or uvloop's own work), "
        f"{unframed * share:.0f}% with no Python frame on the stack, "
        f"{in_greenlets * share:.0f}% in SQLAlchemy's greenlets (their callers not visible)"
    )
    print("  where the time goes (inclusive, top 15):")
    for name, count in sorted(totals.items(), key=lambda kv: -kv[1])[:15]:
        print(f"    {count * share:5.1f}%  {name}")
    print("  busiest leaf functions (self time, top 8):")
    for name, count in sorted(leaves.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {count * share:5.1f}%  {name}")


# Frames counted inclusively: ours and the libraries that do work per request. The server's
# and the framework's wrappers (uvicorn, Litestar's middleware) enclose every request and
# would fill the list; their own work shows among the leaves.
_OURS = (
    "api/",
    "domain/",
    "persistence/",
    "sqlalchemy/",
    "asyncpg/",
    "cryptography/",
    "joserfc/",
    "structlog/",
    "msgspec",
)


def _postgres_url(suffix: str = "") -> str | None:
    import asyncpg  # noqa: PLC0415

    async def create() -> str:
        name = f"custodian_bench_{os.getpid()}{suffix}"
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"

    try:
        return asyncio.run(create())
    except (OSError, asyncpg.PostgresError) as error:
        print(f"PostgreSQL not reachable at 127.0.0.1:5432 ({error}); SQLite only")
        return None


def _drop_postgres(url: str) -> None:
    """Drop the database `_postgres_url` made (its servers have stopped)."""
    import asyncpg  # noqa: PLC0415

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def main() -> None:
    """Run the four measurements on PostgreSQL (when reachable) and SQLite."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every route this many times, in alternation, and print the medians",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run git revision REV's code, on a database of its own, alternating with "
        "the current code round by round",
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample the server with py-spy during (c) and (d)"
    )
    parser.add_argument(
        "--no-scale-out",
        dest="scale_out",
        action="store_false",
        help="skip the 1-vs-2 worker comparison on PostgreSQL",
    )
    args = parser.parse_args()
    print(
        "load generator:",
        "wrk"
        if shutil.which("wrk")
        else "httpx+asyncio (wrk not found: `apt-get install -y wrk` for better figures)",
    )
    with tempfile.TemporaryDirectory(prefix="custodian-bench-") as temp:
        code = None
        if args.baseline:
            from export import extract  # noqa: PLC0415  (the sibling benchmark's helper)

            code = extract(args.baseline, Path(temp))
        pg = _postgres_url()
        if pg is not None:
            pg_old = _postgres_url("_baseline") if code else None
            try:
                run_one(
                    "PostgreSQL",
                    pg,
                    args,
                    None if code is None or pg_old is None else (args.baseline, pg_old, code),
                )
            finally:
                _drop_postgres(pg)
                if pg_old is not None:
                    _drop_postgres(pg_old)
        sqlite_dir = Path(tempfile.mkdtemp(prefix="custodian-bench-sqlite-"))
        run_one(
            "SQLite",
            f"sqlite+aiosqlite:///{sqlite_dir}/bench.db",
            args,
            None
            if code is None
            else (args.baseline, f"sqlite+aiosqlite:///{sqlite_dir}/old.db", code),
        )


if __name__ == "__main__":
    main()
