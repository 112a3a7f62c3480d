"""Load and fault benchmark: many customers at once, a worker killed, the database cut off.

What runs: a fresh PostgreSQL database (`custodian migrate`, `custodian demo --customers N`),
`custodian serve --workers 2` with the in-process job worker off (CUSTODIAN_WORKER=off) and
one separate `custodian worker`. Every virtual customer signs in through the real OAuth flow
(authorization code with PKCE, password sign-in, consent) and then, for `--seconds`, loops
without pause over a mix of requests:

  70 %  reads: profile, accounts, a transactions page, interactions, consents (14 % each)
  10 %  profile PATCH (merge patch, If-Match with the last ETag)
  10 %  consent change (grant or withdraw `marketing_sms`, always the opposite of the state)
   5 %  export request (POST /v1/me/exports)
   5 %  access-log read

Faults, one each: at a third of the run one server worker process gets SIGKILL (uvicorn's
supervisor starts a new one); at two thirds the database refuses new connections for
`--outage` seconds and every connection the application holds is terminated
(pg_terminate_backend), then it lets them in again. /readyz is polled throughout.

Every response's operation, status, start, duration and content type is recorded. Afterwards
it checks, and prints PASS or FAIL for each:
  - no 5xx and no transport error outside the fault windows; inside them only 503
    problem+json (plus, for the killed process, the connections it dropped: a dead process
    cannot answer), never a 500, and no request slower than the client timeout;
  - nothing acknowledged is lost: each customer's final preferred name is the last one a
    PATCH acknowledged (or one sent later whose answer was lost in a fault); the consent
    ledger grew by the acknowledged changes (plus at most the unanswered ones); every
    requested export completes, each by exactly one job;
  - the audit log verifies (`custodian audit verify`) and holds, per action, one event per
    successful audited request of the run (the worker's own events listed apart);
  - /readyz answered 503 while the database refused connections and 200 again by itself;
and prints throughput, p50 and p99 per operation class and the recovery time after each fault.

Run: .venv/bin/python bench/load.py [--customers 200] [--seconds 60] [--outage 2]
     short run: .venv/bin/python bench/load.py --customers 40 --seconds 20
It needs PostgreSQL at 127.0.0.1:5432 (trust auth; CUSTODIAN_TEST_POSTGRES_URL overrides) and
drops the database it made when done (--keep keeps it). It loads this machine's cores fully.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from api.oauth.flow_client import obtain_tokens
from domain.identity import CUSTOMER_SCOPES
from persistence.oauth.admin import DEMO_APP_REDIRECT, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
CUSTODIAN = str(Path(sys.executable).parent / "custodian")
PG_ADMIN = os.environ.get(
    "CUSTODIAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
FAULT_WINDOW = 15.0
"""Seconds after a fault (after the outage ends, for the database) in which its errors count."""
CONSENT_PURPOSE = "marketing_sms"
SCOPE = " ".join(sorted(CUSTOMER_SCOPES))
MIX = [
    ("consent_history", 0),  # read after an unanswered consent change, not drawn
    ("profile", 14),
    ("accounts", 14),
    ("transactions", 14),
    ("interactions", 14),
    ("consents", 14),
    ("patch", 10),
    ("consent_change", 10),
    ("export", 5),
    ("access_log", 5),
]


@dataclass(slots=True)
class Record:
    """One request as the client saw it; status 0 = transport error, -1 = client timeout."""

    op: str
    status: int
    start: float
    seconds: float
    content_type: str
    request_id: str | None = None
    error: str = ""


@dataclass
class Customer:
    """A virtual customer and what the server acknowledged to it."""

    email: str
    token: str = ""
    http: httpx.AsyncClient | None = None
    account: str | None = None
    preferred_name_before: str | None = None
    etag: str | None = None
    patches: int = 0
    last_acknowledged_name: str | None = None
    unanswered_names: list[str] = field(default_factory=list)
    consent_granted: bool | None = None
    ledger_before: int = 0
    consent_acknowledged: int = 0
    consent_unanswered: int = 0
    exports: set[str] = field(default_factory=set)


class Load:
    """The clock, every record, and one HTTP client per virtual customer (one connection
    each, as separate apps have: a shared pool would hand out connections that sat idle past
    the server's keep-alive timeout and lose the race with its close)."""

    def __init__(self, base: str, timeout: float) -> None:
        self.base = base
        self.timeout = timeout
        self.t0 = time.monotonic()
        self.records: list[Record] = []
        self.recording = False

    def client(self, customer: Customer) -> httpx.AsyncClient:
        if customer.http is None:
            customer.http = httpx.AsyncClient(
                base_url=self.base,
                timeout=self.timeout,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
        return customer.http

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def call(
        self, op: str, customer: Customer, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {customer.token}", **kwargs.pop("headers", {})}
        start = self.now()
        response: httpx.Response | None = None
        request_id, error = None, ""
        http = self.client(customer)
        try:
            # httpx's timeout is per phase (connect, each read); the whole request must end
            # within the timeout too, or it counts as a hang.
            response = await asyncio.wait_for(
                http.request(method, path, headers=headers, **kwargs), self.timeout
            )
            status = response.status_code
            content_type = response.headers.get("content-type", "")
            request_id = response.headers.get("x-request-id")
        except (TimeoutError, httpx.TimeoutException):
            status, content_type = -1, ""
        except httpx.TransportError as failure:
            status, content_type, error = 0, "", type(failure).__name__
        if status <= 0:  # a connection cut or abandoned mid-request: start afresh
            customer.http = None
            await http.aclose()
        if self.recording:
            self.records.append(
                Record(op, status, start, self.now() - start, content_type, request_id, error)
            )
        return response


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cli(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        [CUSTODIAN, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"custodian {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


async def _admin(statement: str, *params: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        return list(await connection.fetch(statement, *params))
    finally:
        await connection.close()


async def _query(database: str, statement: str, *params: Any) -> list[asyncpg.Record]:
    """Rows of `statement` on the benchmark's own database (as the administrator)."""
    connection = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}")
    try:
        return list(await connection.fetch(statement, *params))
    finally:
        await connection.close()


def _server_workers(pid: int) -> list[int]:
    """The uvicorn worker processes of `custodian serve`: its spawned multiprocessing
    children (replacements are started from the supervisor's thread, so every process's
    parent is looked up rather than the main thread's children list)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


async def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(300):
            try:
                if (await http.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                break
            await asyncio.sleep(0.2)
    raise SystemExit(f"the server did not start:\n{log.read_text()[-3000:]}")  # noqa: ASYNC240


async def _sign_in(base: str, customer: Customer) -> None:
    # Sign-ins share a bounded password-hashing pool: when it is full the server answers 503
    # with Retry-After (HashingBusy); wait and sign in again.
    for attempt in range(10):
        try:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                tokens = await obtain_tokens(
                    http,
                    client_id="demo-app",
                    redirect_uri=DEMO_APP_REDIRECT,
                    scope=SCOPE,
                    email=customer.email,
                    password=DEMO_PASSWORD,
                )
        except Exception:
            if attempt == 9:
                raise
            await asyncio.sleep(1 + random.random())
        else:
            customer.token = str(tokens["access_token"])
            return


async def _emails(env: dict[str, str], count: int) -> list[str]:
    """The demo customers' emails (decrypted through the application's own units)."""
    from api.composition import running_services  # noqa: PLC0415
    from api.settings import load_settings  # noqa: PLC0415
    from persistence.demo.generate import demo_customer_id  # noqa: PLC0415
    from persistence.demo.loader import DEFAULT_SEED  # noqa: PLC0415

    emails = []
    async with (
        running_services(load_settings(env)) as services,
        services.units.customer().reading() as uow,
    ):
        for index in range(count):
            profile = await uow.customers.get_profile(demo_customer_id(DEFAULT_SEED, index))
            if profile is not None:
                emails.append(profile.email.value)
    return emails


async def _consent_history(load: Load, customer: Customer) -> tuple[int, bool | None]:
    """How many ledger entries the customer has, and their latest decision on the purpose."""
    count, latest, cursor = 0, None, None
    for _ in range(1000):
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        response = await load.call(
            "consent_history", customer, "GET", "/v1/me/consents/history", params=params
        )
        if response is None:
            raise httpx.TransportError("no answer")
        response.raise_for_status()
        body = response.json()
        for item in body.get("items", []):
            count += 1
            if item.get("purpose") == CONSENT_PURPOSE:
                position = item.get("position", 0)
                if latest is None or position > latest[0]:
                    latest = (position, bool(item.get("granted")))
        cursor = body.get("next_cursor")
        if not cursor:
            break
    return count, None if latest is None else latest[1]


async def _prepare_customer(load: Load, customer: Customer) -> None:
    auth = {"Authorization": f"Bearer {customer.token}"}
    http = load.client(customer)

    async def read(path: str) -> httpx.Response:
        for _ in range(20):  # before the run: wait out a busy moment, never guess
            try:
                response = await http.get(path, headers=auth)
                if response.status_code == 200:
                    return response
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1)
        raise SystemExit(f"{path} did not answer 200 before the run")

    accounts = (await read("/v1/me/accounts")).json().get("items", [])
    customer.account = str(accounts[0]["id"]) if accounts else None
    profile = await read("/v1/me/profile")
    customer.etag = profile.headers.get("etag")
    customer.preferred_name_before = profile.json().get("preferred_name")
    for attempt in range(20):
        try:
            customer.ledger_before, granted = await _consent_history(load, customer)
            break
        except httpx.HTTPError:
            if attempt == 19:
                raise
            await asyncio.sleep(1)
    customer.consent_granted = bool(granted)


async def _operation(load: Load, customer: Customer, op: str, notice: str, tag: str) -> None:
    if op == "profile":
        response = await load.call(op, customer, "GET", "/v1/me/profile")
        if response is not None and response.status_code == 200:
            customer.etag = response.headers.get("etag")
    elif op == "accounts":
        await load.call(op, customer, "GET", "/v1/me/accounts")
    elif op == "transactions":
        if customer.account is None:
            await load.call("accounts", customer, "GET", "/v1/me/accounts")
        else:
            path = f"/v1/me/accounts/{customer.account}/transactions"
            await load.call(op, customer, "GET", path, params={"limit": 50})
    elif op == "interactions":
        await load.call(op, customer, "GET", "/v1/me/interactions")
    elif op == "consents":
        await load.call(op, customer, "GET", "/v1/me/consents")
    elif op == "access_log":
        await load.call(op, customer, "GET", "/v1/me/access-log", params={"limit": 20})
    elif op == "patch":
        await _patch(load, customer, tag)
    elif op == "consent_change":
        await _consent_change(load, customer, notice)
    elif op == "export":
        response = await load.call(op, customer, "POST", "/v1/me/exports")
        if response is not None and response.status_code in (200, 202):
            customer.exports.add(str(response.json()["id"]))


async def _patch(load: Load, customer: Customer, tag: str) -> None:
    if customer.etag is None:
        response = await load.call("profile", customer, "GET", "/v1/me/profile")
        if response is None or response.status_code != 200:
            return
        customer.etag = response.headers.get("etag")
    customer.patches += 1
    name = f"Load {tag} {customer.patches}"
    response = await load.call(
        "patch",
        customer,
        "PATCH",
        "/v1/me/profile",
        json={"preferred_name": name},
        headers={"If-Match": customer.etag or "", "Content-Type": "application/merge-patch+json"},
    )
    if response is not None and response.status_code == 200:
        customer.etag = response.headers.get("etag")
        customer.last_acknowledged_name = name
        customer.unanswered_names.clear()
    elif response is None or response.status_code >= 500:
        customer.unanswered_names.append(name)  # may or may not have been applied
        customer.etag = None
    else:  # 412: someone (an unanswered earlier attempt) changed it; read it again
        customer.etag = None


async def _consent_change(load: Load, customer: Customer, notice: str) -> None:
    if customer.consent_granted is None:  # an earlier change went unanswered: ask
        try:
            _, granted = await _consent_history(load, customer)
        except httpx.HTTPError:
            return
        customer.consent_granted = bool(granted)
    wanted = not customer.consent_granted
    response = await load.call(
        "consent_change",
        customer,
        "PUT",
        f"/v1/me/consents/{CONSENT_PURPOSE}",
        json={"granted": wanted, "notice_version": notice},
    )
    if response is not None and response.status_code == 200:
        customer.consent_granted = wanted
        customer.consent_acknowledged += 1
    elif response is None or response.status_code >= 500:
        customer.consent_unanswered += 1
        customer.consent_granted = None


async def _virtual_customer(
    load: Load, customer: Customer, until: float, notice: str, seed: int
) -> None:
    rng = random.Random(seed)
    ops, weights = zip(*MIX, strict=True)
    tag = base64.b32encode(seed.to_bytes(4, "big")).decode().rstrip("=").lower()
    while load.now() < until:
        await _operation(load, customer, rng.choices(ops, weights)[0], notice, tag)


async def _watch_lag(load: Load, until: float, lags: list[tuple[float, float]]) -> None:
    """How late this process's own event loop wakes up: a busy client inflates every
    latency it measures, and a stall longer than the server's keep-alive timeout (5 s)
    gets idle connections closed under it."""
    while load.now() < until:
        before = time.monotonic()
        await asyncio.sleep(0.1)
        lags.append((load.now(), time.monotonic() - before - 0.1))


async def _probe_ready(load: Load, until: float, seen: list[tuple[float, float, int]]) -> None:
    """Poll /readyz; each probe as (asked at, answered at, status)."""
    async with httpx.AsyncClient(base_url=load.base, timeout=5) as http:
        while load.now() < until:
            asked = load.now()
            try:
                status = (await http.get("/readyz")).status_code
            except httpx.HTTPError:
                status = 0
            seen.append((asked, load.now(), status))
            await asyncio.sleep(0.25)


async def _faults(
    load: Load, server: subprocess.Popen[bytes], database: str, args: argparse.Namespace
) -> dict[str, Any]:
    faults: dict[str, Any] = {}
    start = load.now()
    await asyncio.sleep(args.seconds / 3)
    workers = await asyncio.to_thread(_server_workers, server.pid)
    if workers:
        victim = workers[0]
        faults["kill"] = load.now()
        os.kill(victim, signal.SIGKILL)
        faults["killed_pid"] = victim
    await asyncio.sleep(max(0.0, start + 2 * args.seconds / 3 - load.now()))
    faults["db"] = load.now()
    await _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    terminated = await _admin(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    faults["terminated"] = len(terminated)
    # (with a timeout, pg_terminate_backend waits until each backend has exited)
    faults["db_cut"] = load.now()  # from here on the database is away
    await asyncio.sleep(args.outage)
    await _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    faults["db_back"] = load.now()
    faults["workers_after"] = await asyncio.to_thread(_server_workers, server.pid)
    return faults


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else 0.0
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def _window(faults: dict[str, Any], record: Record) -> str | None:
    """Which fault window the request overlaps, if any: in flight when the fault struck, or
    started within FAULT_WINDOW after it (after the outage, for the database)."""
    start, end = record.start, record.start + record.seconds
    if end >= faults["db"] - 0.5 and start <= faults["db_back"] + FAULT_WINDOW:
        return "db"
    if "kill" in faults and end >= faults["kill"] - 0.5 and start <= faults["kill"] + FAULT_WINDOW:
        return "kill"
    return None


def _bad(record: Record) -> bool:
    return record.status >= 500 or record.status <= 0


def report_requests(load: Load, faults: dict[str, Any], seconds: float) -> list[str]:
    """Print the figures; return the failed checks about statuses."""
    failures: list[str] = []
    by_op: dict[str, list[Record]] = defaultdict(list)
    for record in load.records:
        by_op[record.op].append(record)
    print(f"\n{'operation':<16}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for op, _weight in [*MIX, ("all", 0)]:
        records = load.records if op == "all" else by_op.get(op, [])
        if not records:
            continue
        times = [r.seconds for r in records if 0 < r.status < 500]
        statuses = Counter(r.status for r in records)
        shown = " ".join(f"{s}:{n}" for s, n in sorted(statuses.items()))
        print(
            f"{op:<16}{len(records):>9}{len(records) / seconds:>8.1f}"
            f"{_pct(times, 50):>9.1f}{_pct(times, 99):>9.1f}  {shown}"
        )
    outside = [r for r in load.records if _bad(r) and _window(faults, r) is None]
    inside = [r for r in load.records if _bad(r) and _window(faults, r) is not None]
    wrong = [
        r
        for r in inside
        if r.status == -1
        or (r.status > 0 and (r.status != 503 or "problem+json" not in r.content_type))
        or (r.status == 0 and _window(faults, r) != "kill")
    ]
    dropped = [r for r in inside if r.status == 0 and _window(faults, r) == "kill"]
    for name in ("kill", "db"):
        if name not in faults:
            continue
        origin = faults[name] if name == "kill" else faults["db_back"]
        errors = [r for r in inside if _window(faults, r) == name]
        last = max((r.start + r.seconds for r in errors), default=origin)
        kinds = Counter("dropped connection" if r.status == 0 else str(r.status) for r in errors)
        label = "SIGKILL of a server worker" if name == "kill" else "database outage"
        what = ", ".join(f"{n} x {k}" for k, n in kinds.items()) or "no errors"
        recovered = max(0.0, last - origin)
        after = "after the kill" if name == "kill" else "after the database came back"
        print(
            f"fault: {label} at t={faults[name]:.1f} s: {what}; recovered {recovered:.2f} s {after}"
        )
    print(
        f"faults: {faults.get('terminated', 0)} database connections terminated; server "
        f"worker processes: killed {faults.get('killed_pid')}, after the outage "
        f"{faults.get('workers_after')}"
    )
    if outside:
        sample = [(r.op, r.status, r.error, round(r.start, 1)) for r in outside[:8]]
        failures.append(f"{len(outside)} errors outside the fault windows: {sample}")
    if wrong:
        odd = Counter((r.op, r.status, r.content_type) for r in wrong).most_common(5)
        failures.append(
            f"{len(wrong)} answers in the fault windows that were not 503 problem+json: {odd}"
        )
    slow = [r for r in load.records if r.status == -1]
    if slow:
        where = Counter(_window(faults, r) or "no fault" for r in slow)
        failures.append(
            f"{len(slow)} requests not answered within the {load.timeout:g} s timeout "
            f"({dict(where)})"
        )
    print(
        f"check: 5xx only inside fault windows and only 503 problem+json: "
        f"{'PASS' if not (outside or wrong or slow) else 'FAIL'} "
        f"({len(inside) - len(dropped)} answered errors, {len(dropped)} connections dropped by "
        "the killed process)"
    )
    return failures


async def check_writes(load: Load, customers: list[Customer], env: dict[str, str]) -> list[str]:
    """Final profiles, consent ledgers and exports against what was acknowledged."""
    failures: list[str] = []
    lost_names, ledger_wrong = [], []
    for customer in customers:
        response = await load.client(customer).get(
            "/v1/me/profile", headers={"Authorization": f"Bearer {customer.token}"}
        )
        name = response.json().get("preferred_name")
        last = customer.last_acknowledged_name
        allowed = {customer.preferred_name_before if last is None else last}
        allowed |= set(customer.unanswered_names)
        if name not in allowed:
            lost_names.append((customer.email, name, last))
        count, _ = await _consent_history(load, customer)
        grew = count - customer.ledger_before
        low = customer.consent_acknowledged
        if not low <= grew <= low + customer.consent_unanswered:
            ledger_wrong.append((customer.email, grew, low, customer.consent_unanswered))
    patched = sum(1 for c in customers if c.last_acknowledged_name)
    acknowledged = sum(c.consent_acknowledged for c in customers)
    print(
        f"check: final profile = last acknowledged PATCH for {patched} customers: "
        f"{'PASS' if not lost_names else 'FAIL'}"
    )
    print(
        f"check: consent ledgers grew by the {acknowledged} acknowledged changes "
        f"(+ at most {sum(c.consent_unanswered for c in customers)} unanswered): "
        f"{'PASS' if not ledger_wrong else 'FAIL'}"
    )
    if lost_names:
        failures.append(f"acknowledged profile changes lost: {lost_names[:5]}")
    if ledger_wrong:
        failures.append(f"consent ledgers off (email, grew, acked, unanswered): {ledger_wrong[:5]}")
    failures += await _check_exports(load, customers, env)
    return failures


async def _check_exports(load: Load, customers: list[Customer], env: dict[str, str]) -> list[str]:
    pending = {(c.token, export) for c in customers for export in c.exports}
    total = len(pending)
    started = time.monotonic()
    failed: list[str] = []
    http = httpx.AsyncClient(base_url=load.base, timeout=30)
    while pending and time.monotonic() - started < 600:
        for token, export in list(pending):
            response = await http.get(
                f"/v1/me/exports/{export}", headers={"Authorization": f"Bearer {token}"}
            )
            body = response.json()
            if body.get("completed_at") or body.get("status") in ("ready", "completed", "failed"):
                pending.discard((token, export))
                if body.get("status") == "failed":
                    failed.append(export)
        if pending:
            await asyncio.sleep(2)
    await http.aclose()
    waited = time.monotonic() - started
    database = env["CUSTODIAN_DATABASE_URL"].rsplit("/", 1)[1]
    connection = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}")
    try:
        rows = await connection.fetch(
            "SELECT request_id, count(*) AS jobs, count(*) FILTER (WHERE status = 'done') AS done "
            "FROM jobs WHERE kind = 'export' GROUP BY request_id"
        )
    finally:
        await connection.close()
    requested = {export for c in customers for export in c.exports}
    jobs = {str(row["request_id"]): (row["jobs"], row["done"]) for row in rows}
    not_once = [e for e in requested if jobs.get(e) != (1, 1)]
    ok = not pending and not failed and not not_once
    print(
        f"check: {total} requested exports completed, each by exactly one job "
        f"(waited {waited:.0f} s after the run): {'PASS' if ok else 'FAIL'}"
    )
    problems = []
    if pending:
        problems.append(f"{len(pending)} exports not completed after {waited:.0f} s")
    if failed:
        problems.append(f"{len(failed)} exports failed")
    if not_once:
        problems.append(
            f"exports not done by exactly one job: {[(e, jobs.get(e)) for e in not_once[:5]]}"
        )
    return problems


async def check_audit(
    env: dict[str, str], load: Load, seq_before: int, seq_after: int
) -> list[str]:
    """`custodian audit verify`, and the run's events per action against the requests."""
    failures: list[str] = []
    line = (await asyncio.to_thread(_cli, env, "audit", "verify")).strip()
    print(
        f"check: custodian audit verify: {'PASS' if 'intact' in line else 'FAIL'} ({line[:60]}...)"
    )
    if "intact" not in line:
        failures.append(line)
    database = env["CUSTODIAN_DATABASE_URL"].rsplit("/", 1)[1]
    connection = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}")
    try:
        rows = await connection.fetch(
            "SELECT request_id, action, resource_type FROM audit_events "
            "WHERE seq > $1 AND seq <= $2",
            seq_before,
            seq_after,
        )
    finally:
        await connection.close()
    # Every audited request's events carry its request id (X-Request-Id), whatever the
    # action is called: match them one to one.
    events: dict[str | None, list[str]] = defaultdict(list)
    for row in rows:
        events[row["request_id"]].append(f"{row['action']} {row['resource_type']}")
    succeeded = {r.request_id: r.op for r in load.records if 200 <= r.status < 300}
    missing = Counter(op for rid, op in succeeded.items() if not events.get(rid))
    several = Counter(op for rid, op in succeeded.items() if len(events.get(rid, [])) > 1)
    per_op: Counter[str] = Counter()
    for rid, op in succeeded.items():
        per_op[op] += len(events.get(rid, []))
    answered = {r.request_id for r in load.records if r.request_id}
    unanswered = [e for rid, found in events.items() if rid not in answered for e in found]
    refused = [
        e
        for rid, found in events.items()
        if rid in answered and rid not in succeeded
        for e in found
    ]
    print(f"\n{'audited operation':<18}{'successful':>11}{'audit events':>14}")
    for op in sorted(set(succeeded.values())):
        count = sum(1 for o in succeeded.values() if o == op)
        print(f"{op:<18}{count:>11}{per_op[op]:>14}")
    print(
        f"other events in the run: {len(unanswered)} with no answered request "
        f"({dict(Counter(unanswered).most_common(6))}: the job worker's, or a request whose "
        f"answer was lost in a fault after its event committed); {len(refused)} of refused "
        f"requests ({dict(Counter(refused).most_common(6))})"
    )
    ok = not missing and not several
    print(
        f"check: each of the {len(succeeded)} successful requests has exactly one audit event: "
        f"{'PASS' if ok else 'FAIL'}"
    )
    if missing:
        failures.append(f"successful requests without an audit event: {dict(missing)}")
    if several:
        failures.append(f"successful requests with several audit events: {dict(several)}")
    return failures


async def _audit_seq(env: dict[str, str]) -> int:
    database = env["CUSTODIAN_DATABASE_URL"].rsplit("/", 1)[1]
    connection = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}")
    try:
        return int(await connection.fetchval("SELECT seq FROM audit_head"))
    finally:
        await connection.close()


async def run(args: argparse.Namespace) -> int:
    database = f"custodian_load_{os.getpid()}"
    await _admin(f'DROP DATABASE IF EXISTS "{database}"')
    await _admin(f'CREATE DATABASE "{database}"')
    home = Path(tempfile.mkdtemp(prefix="custodian-load-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")},
        "CUSTODIAN_DATABASE_URL": f"{url}/{database}",
        "CUSTODIAN_DATA_DIR": str(home / "var"),
        "CUSTODIAN_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CUSTODIAN_ISSUER": base,
        "CUSTODIAN_WORKER": "off",
        # One client (demo-app) carries every customer: its per-client limit would measure
        # itself. Tokens outlive the run and the export wait.
        "CUSTODIAN_RATE_LIMIT": "0",
        "CUSTODIAN_TOKEN_RATE_LIMIT": "0",
        "CUSTODIAN_ACCESS_TOKEN_TTL": "3600",
        "CUSTODIAN_LOG_FORMAT": "json",
        # Three processes (two API workers, one job worker) share a PostgreSQL that may
        # serve others too: each keeps this many connections, half again at peaks.
        "CUSTODIAN_DB_POOL_SIZE": str(args.pool_size),
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        print(f"database {database}; migrate and load {args.customers} demo customers ...")
        _cli(env, "migrate")
        started = time.monotonic()
        _cli(env, "demo", "--customers", str(args.customers))
        print(f"  demo data loaded in {time.monotonic() - started:.0f} s")
        log = home / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the load
                [CUSTODIAN, "serve", "--port", str(port), "--workers", "2"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(server)
        with (home / "worker.log").open("wb") as out:
            processes.append(
                subprocess.Popen(  # noqa: ASYNC220
                    [CUSTODIAN, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            )
        await _wait_ready(base, server, log)
        print(
            f"server pid {server.pid}, workers {_server_workers(server.pid)}; job worker separate"
        )
        customers = [Customer(email) for email in await _emails(env, args.customers)]
        notice = (
            await _query(
                database,
                "SELECT notice_version FROM purpose_notices WHERE purpose = $1 "
                "ORDER BY revision DESC LIMIT 1",
                CONSENT_PURPOSE,
            )
        )[0]["notice_version"]
        started = time.monotonic()
        gate = asyncio.Semaphore(4)

        async def sign_in(customer: Customer) -> None:
            async with gate:
                await _sign_in(base, customer)

        await asyncio.gather(*(sign_in(c) for c in customers))
        took = time.monotonic() - started
        print(f"  {len(customers)} customers signed in (OAuth code flow) in {took:.0f} s")
        load = Load(base, args.timeout)
        await asyncio.gather(*(_prepare_customer(load, c) for c in customers))
        seq_before = await _audit_seq(env)
        print(f"running {len(customers)} virtual customers for {args.seconds:g} s ...")
        load.recording = True
        start = load.now()
        until = start + args.seconds
        ready: list[tuple[float, float, int]] = []
        lags: list[tuple[float, float]] = []
        results = await asyncio.gather(
            _faults(load, server, database, args),
            _probe_ready(load, until, ready),
            _watch_lag(load, until, lags),
            *(
                _virtual_customer(load, c, until, notice, index)
                for index, c in enumerate(customers)
            ),
        )
        load.recording = False
        elapsed = load.now() - start
        faults = results[0]
        seq_after = await _audit_seq(env)
        failures = report_requests(load, faults, elapsed)
        worst_at, worst = max(lags, key=lambda item: item[1], default=(0.0, 0.0))
        print(
            f"client event loop lag: p50 {_pct([lag for _, lag in lags], 50):.0f} ms, max "
            f"{worst:.1f} s at t={worst_at:.1f} s (over 1 s: "
            f"{sum(1 for _, lag in lags if lag > 1)} times): the latencies include it"
        )
        # A probe counts for the outage when it was asked and answered inside it: under this
        # load an answer can take a second, and one asked just before the database came
        # back may rightly find it back.
        outage = [
            s for t, answered, s in ready if faults["db_cut"] <= t and answered < faults["db_back"]
        ]
        back = [s for t, _, s in ready if t > faults["db_back"]]
        recovered_at = next(
            (answered for t, answered, s in ready if t > faults["db_back"] and s == 200), None
        )
        # 0 = the probe got no answer in 5 s (a busy host): neither ready nor not.
        ready_ok = 503 in outage and 200 not in outage and bool(back) and back[-1] == 200
        again = "" if recovered_at is None else f"{recovered_at - faults['db_back']:.2f} s "
        print(
            f"check: /readyz 503 during the outage ({dict(Counter(outage))}) and 200 again "
            f"{again}after it: {'PASS' if ready_ok else 'FAIL'}"
        )
        if not ready_ok:
            failures.append(f"/readyz during the outage {Counter(outage)}, after {Counter(back)}")
        failures += await check_writes(load, customers, env)
        failures += await check_audit(env, load, seq_before, seq_after)
        for customer in customers:
            if customer.http is not None:
                await customer.http.aclose()
        print("\nRESULT:", "PASS" if not failures else "FAIL")
        for failure in failures:
            print("  -", failure)
        return 0 if not failures else 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if not args.keep:
            await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        print(f"server and worker logs: {home}")


def main() -> None:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200, help="virtual customers (200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of the load (60)")
    parser.add_argument("--outage", type=float, default=2.0, help="database refusal, s (2)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="client timeout per request, s (10)"
    )
    parser.add_argument(
        "--pool-size", type=int, default=10, help="CUSTODIAN_DB_POOL_SIZE per process (10)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
