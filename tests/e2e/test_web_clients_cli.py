"""`custodian client pages` registers the clients of the server's own pages for the issuer,
with the secrets the server derives, so the portal signs people in without demo data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CUSTODIAN = str(Path(sys.executable).parent / "custodian")
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        {
            "CUSTODIAN_DATA_DIR": str(home / "var"),
            "CUSTODIAN_MASTER_KEY": KEY,
            "CUSTODIAN_ISSUER": "https://custodian.example",
        }
    )
    return subprocess.run(
        [CUSTODIAN, *args], env=env, cwd=home, capture_output=True, text=True, check=False
    )


def test_client_pages_registers_portal_and_console_for_the_issuer(tmp_path: Path) -> None:
    assert _run("migrate", home=tmp_path).returncode == 0
    for _ in range(2):  # idempotent: a second run leaves the same registration
        done = _run("client", "pages", home=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "client portal: registered for https://custodian.example" in done.stdout
    listed = _run("client", "list", home=tmp_path).stdout
    assert "redirect: https://custodian.example/portal/callback" in listed
    assert listed.count("redirect: https://custodian.example/console/callback") == 1
    assert "secret" not in done.stdout  # derived, never printed
