"""A real `custodian serve` on a fresh data directory loaded with `custodian demo`, as a
newcomer runs it (`make run`), for the end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
DEMO_PASSWORD = "custodian-demo-password"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def demo_environment(home: Path, port: int) -> dict[str, str]:
    """The process environment: only our CUSTODIAN_* variables, the issuer from PORT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        {
            "CUSTODIAN_DATA_DIR": str(home / "var"),
            "CUSTODIAN_MASTER_KEY": KEY,
            "CUSTODIAN_LOG_FORMAT": "json",
            "PORT": str(port),
        }
    )
    return env


def start_serve(
    env: dict[str, str],
    port: int,
    log: Path,
    *,
    cwd: Path | None = None,
    ready: str = "/healthz",
    wait: float = 30,
) -> subprocess.Popen[bytes]:
    """Start `custodian serve --port PORT` (output to `log`) and return once `ready` answers
    200; RuntimeError with the log when it exits or does not answer within `wait` seconds."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BIN / "custodian"), "serve", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + wait
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(log.read_text())
        time.sleep(0.2)


@contextmanager
def demo_server(
    home: Path, customers: int = 1, *, then: tuple[tuple[str, ...], ...] = ()
) -> Iterator[dict[str, str]]:
    """Migrate, load the demo, run the commands `then` names (e.g. `("projection",
    "rebuild")`), serve; yields base URL, first demo email, home and port."""
    port = free_port()
    env = demo_environment(home, port)
    custodian = str(BIN / "custodian")
    demo_output = ""
    for step in (("migrate",), ("demo", "--customers", str(customers)), *then):
        done = subprocess.run(
            [custodian, *step], env=env, cwd=home, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        if step[0] == "demo":
            demo_output = done.stdout
    lines = demo_output.splitlines()
    email = lines[lines.index("sign in as any of these demo customers:") + 1].split()[0]
    process = start_serve(env, port, home / "server.log", cwd=home, wait=60)
    base = f"http://127.0.0.1:{port}"
    try:
        yield {"base": base, "email": email, "home": str(home), "port": str(port)}
    finally:
        process.terminate()
        process.wait(timeout=20)
