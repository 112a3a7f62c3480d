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
    log = home / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [custodian, "serve", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text())
            time.sleep(0.2)
        yield {"base": base, "email": email, "home": str(home), "port": str(port)}
    finally:
        process.terminate()
        process.wait(timeout=20)
