"""Instructions a request costs the app, counted by callgrind: a before/after comparison that
the machine's noise cannot move. Prints figures, asserts nothing.

On a shared 2-core machine, throughput drifts by several percent between two identical
servers measured side by side (`bench/read_path.py --baseline` with the same revision on
both sides moved from 0.94 to 1.04), which hides a change worth a few percent. valgrind's
callgrind counts the instructions a process executes, the same from run to run whatever
else the machine is doing.

The app runs in-process (Litestar's test client: no server, no sockets), with everything a
request does in the product: the bearer token check, the query, the decryption, the audit
append and its commit, the response's encoding. For each route the process runs under
callgrind twice, once making `--requests` requests and once five times as many;
the difference, divided by the difference in requests, is one request's instructions (the
start-up, the sign-in and the warm-up cancel out).

Routes: (c) GET /v1/me/profile, (d) GET /v1/me/accounts/{id}/transactions?limit=50.
With `--baseline REV` the same runs on git revision REV's code (extracted with `git
archive`), on a database that code prepared itself, and the ratio current / REV is printed.

Run: .venv/bin/python bench/request_instructions.py [--baseline REV] [--requests 20]
     [--database sqlite|postgresql]
Needs valgrind (Debian package `valgrind`). Takes several minutes: a process runs some
fifty times slower under callgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from read_path import ROOT, _drop_postgres, _postgres_url, _prepare_with

from persistence.crypto import MasterKey

ROUTES = {
    "c /v1/me/profile": "/v1/me/profile",
    "d 50 transactions": "/v1/me/accounts/{account}/transactions?limit=50",
}
BASE = "http://testserver.local"

# The measured process. Run with `python -c` in the tree being measured, so it may use only
# what every revision compared has: the app factory, the settings and the OAuth flow client.
_MEASURED = """
import asyncio, sys
from litestar.testing import AsyncTestClient
from api.app import create_app
from api.oauth.flow_client import obtain_tokens
from api.settings import load_settings
from persistence.oauth.admin import DEMO_APP_REDIRECT, DEMO_PASSWORD

path, requests, email = sys.argv[1], int(sys.argv[2]), sys.argv[3]

async def main():
    app = create_app(load_settings())
    async with AsyncTestClient(app, base_url=sys.argv[4]) as http:
        tokens = await obtain_tokens(
            http, client_id="demo-app", redirect_uri=DEMO_APP_REDIRECT,
            scope="profile:read transactions:read", email=email, password=DEMO_PASSWORD,
        )
        auth = {"Authorization": "Bearer " + tokens["access_token"]}
        for _ in range(5 + requests):
            response = await http.get(path, headers=auth)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text}")

asyncio.run(main())
"""


def _instructions(code: Path, env: dict[str, str], path: str, requests: int, email: str) -> int:
    """The instructions one measured process executes, making `requests` requests."""
    with tempfile.TemporaryDirectory(prefix="custodian-callgrind-") as scratch:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={scratch}/out",
                sys.executable,
                "-c",
                _MEASURED,
                path,
                str(requests),
                email,
                BASE,
            ],
            env=env,
            cwd=code,
            capture_output=True,
            text=True,
            check=False,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the measured process failed:\n{done.stderr[-3000:]}")
    return int(found.group(1))


class _Tree:
    """One revision's code, on a database of its own that it prepared."""

    def __init__(self, label: str, code: Path, url: str, customers: int) -> None:
        self.label = label
        self.code = code
        self.url = url
        master = MasterKey.generate()
        self.email, self.account = _prepare_with(code, url, master, customers)
        data = Path(tempfile.mkdtemp(prefix="custodian-instructions-"))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")},
            "CUSTODIAN_DATABASE_URL": url,
            "CUSTODIAN_DATA_DIR": str(data),
            "CUSTODIAN_MASTER_KEY": master.to_base64(),
            "CUSTODIAN_ISSUER": BASE,
            "CUSTODIAN_WORKER": "off",  # no job worker or timer running beside the requests
            "CUSTODIAN_RATE_LIMIT": "0",
            "CUSTODIAN_TOKEN_RATE_LIMIT": "0",
            "CUSTODIAN_LOG_FORMAT": "json",
            "PYTHONHASHSEED": "0",
            "PYTHONPATH": str(code),
        }

    def per_request(self, route: str, requests: int) -> float:
        path = ROUTES[route].format(account=self.account)
        few = _instructions(self.code, self.env, path, requests, self.email)
        many = _instructions(self.code, self.env, path, requests * 5, self.email)
        return (many - few) / (requests * 4)


def main() -> None:
    """Instructions per request for each route, current code (and REV's)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--baseline", metavar="REV")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install -y valgrind")
    with tempfile.TemporaryDirectory(prefix="custodian-instructions-") as temp:
        urls: list[str] = []

        def database(suffix: str) -> str:
            if args.database == "sqlite":
                return f"sqlite+aiosqlite:///{temp}/bench{suffix}.db"
            url = _postgres_url(suffix)
            if url is None:
                raise SystemExit("PostgreSQL is not reachable at 127.0.0.1:5432")
            urls.append(url)
            return url

        try:
            trees = [_Tree("current", ROOT, database(""), args.customers)]
            if args.baseline:
                from export import extract  # noqa: PLC0415  (the sibling benchmark's helper)

                code = extract(args.baseline, Path(temp))
                trees.append(_Tree(args.baseline, code, database("_baseline"), args.customers))
            print(f"== {args.database}: instructions per request (callgrind, in-process)")
            for route in ROUTES:
                counts = [tree.per_request(route, args.requests) for tree in trees]
                line = "   ".join(
                    f"{tree.label} {count / 1e6:6.2f} M"
                    for tree, count in zip(trees, counts, strict=True)
                )
                if len(counts) == 2:
                    line += f"   current / {args.baseline} {counts[0] / counts[1]:.3f}"
                print(f"  ({route:<18}) {line}", flush=True)
        finally:
            for url in urls:
                _drop_postgres(url)


if __name__ == "__main__":
    main()
