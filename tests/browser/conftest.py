"""A real `custodian serve` on a fresh SQLite demo (migrate, demo, projection rebuild) for
the browser tests, and Chromium from the system: Playwright's own download is not used.

Playwright runs for one test at a time (`page` here, function-scoped): its synchronous API
keeps an event loop running while it is open, and pytest-playwright's session-long browser
would leave that loop running in the xdist worker, where the next asyncio test could no
longer start its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "browser"
DEMO_CUSTOMERS = 12
BIN = Path(sys.executable).parent
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def demo_environment(home: Path, port: int) -> dict[str, str]:
    """Only our CUSTODIAN_* variables; the issuer follows PORT."""
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


@pytest.fixture
def page() -> Iterator[Page]:
    """A page in the system's Chromium: a phone-sized window (390 px wide), in English,
    downloads allowed; everything closed after the test."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="en-GB", accept_downloads=True
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Where screenshots go (ignored by git)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Migrate, load the demo, build the analytics projection, serve; the base URL and the
    first demo customer's email."""
    home = tmp_path_factory.mktemp("browser-demo")
    port = free_port()
    env = demo_environment(home, port)
    custodian = str(BIN / "custodian")
    output = ""
    for step in (
        ["migrate"],
        ["demo", "--customers", str(DEMO_CUSTOMERS)],
        ["projection", "rebuild"],
    ):
        done = subprocess.run(
            [custodian, *step], env=env, cwd=home, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        output = done.stdout if step[0] == "demo" else output
    lines = output.splitlines()
    email = lines[lines.index("sign in as any of these demo customers:") + 1].split()[0]
    log = home / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [custodian, "serve", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=sink,
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
        yield {"base": base, "email": email}
    finally:
        process.terminate()
        process.wait(timeout=20)
