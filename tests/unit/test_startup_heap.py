"""A server process exempts what start-up built from the cyclic garbage collector."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from persistence.crypto import MasterKey

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, sys
from api.app import app_from_env
from api.settings import load_settings

settings = load_settings({
    "CUSTODIAN_ENV": "development",
    "CUSTODIAN_MASTER_KEY": sys.argv[1],
    "CUSTODIAN_DATABASE_URL": "sqlite+aiosqlite:///" + sys.argv[2],
    "CUSTODIAN_DATA_DIR": sys.argv[3],
})
before = gc.get_freeze_count()
app_from_env(lambda: settings)
print(before, gc.get_freeze_count(), gc.get_threshold()[0])
"""


def test_the_serve_factory_freezes_the_start_up_heap(tmp_path: Path) -> None:
    # In a process of its own: freezing the test runner's heap would outlive this test.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            MasterKey.generate().to_base64(),
            str(tmp_path / "custodian.db"),
            str(tmp_path / "data"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, after, young = (int(count) for count in result.stdout.split())
    assert before == 0
    # Everything start-up built: modules, routes, mapped tables (tens of thousands).
    assert after > 10_000
    assert young == 10_000
