"""The `custodian` command as an operator runs it: a process, an exit status, one line on error."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CUSTODIAN = str(Path(sys.executable).parent / "custodian")


def custodian(*args: str, home: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run `custodian args...` in `home`, with only the given CUSTODIAN_* variables.

    The data directory is `home/var` (not created beforehand), as for `make run`.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("CUSTODIAN_")}
    env["CUSTODIAN_DATA_DIR"] = str(home / "var")
    env.update({f"CUSTODIAN_{name}": value for name, value in variables.items()})
    return subprocess.run(
        [CUSTODIAN, *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], status: int, *mentions: str
) -> str:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("custodian: error: ")
    for mention in mentions:
        assert mention in lines[0]
    return lines[0]


def test_an_unknown_environment_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = custodian("migrate", home=tmp_path, ENV="staging")
    assert_one_line_error(result, 2, "CUSTODIAN_ENV", "staging")
    assert result.stdout == ""


@pytest.mark.parametrize("key", ["not a key at all!", "c2hvcnQ="])
def test_a_bad_master_key_is_one_line_that_does_not_echo_it(tmp_path: Path, key: str) -> None:
    result = custodian("demo", "--customers", "1", home=tmp_path, MASTER_KEY=key)
    line = assert_one_line_error(result, 2, "CUSTODIAN_MASTER_KEY")
    assert key not in line


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["frobnicate"],
        ["demo", "--customers", "0"],
        ["demo", "--customers", "-1"],
        ["demo", "--customers", "abc"],
        ["serve", "--port", "http"],
    ],
    ids=["none", "unknown", "zero", "negative", "word", "bad-port"],
)
def test_a_bad_command_line_is_one_line_and_exit_2(tmp_path: Path, arguments: list[str]) -> None:
    result = custodian(*arguments, home=tmp_path)
    assert_one_line_error(result, 2)
    assert not (tmp_path / "var").exists(), "nothing runs on a bad command line"


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    # Port 1 on the loopback: nothing listens there, the connection is refused at once.
    result = custodian(
        "migrate", home=tmp_path, DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/custodian"
    )
    assert_one_line_error(result, 1, "database unavailable")


def test_serve_refuses_an_unmigrated_database(blank_db_url: str, tmp_path: Path) -> None:
    result = custodian("serve", "--port", "1", home=tmp_path, DATABASE_URL=blank_db_url)
    assert_one_line_error(result, 1, "custodian migrate")


def test_demo_refuses_an_unmigrated_database(blank_db_url: str, tmp_path: Path) -> None:
    result = custodian("demo", "--customers", "1", home=tmp_path, DATABASE_URL=blank_db_url)
    assert_one_line_error(result, 1, "custodian migrate")


def test_demo_refuses_a_production_deployment(tmp_path: Path) -> None:
    key = "A" * 43 + "="  # 32 bytes of base64
    result = custodian("demo", "--customers", "1", home=tmp_path, ENV="production", MASTER_KEY=key)
    assert_one_line_error(result, 1, "production")


def test_migrate_then_demo_on_a_fresh_data_dir(tmp_path: Path) -> None:
    migrated = custodian("migrate", home=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated" in migrated.stdout
    assert (tmp_path / "var" / "custodian.db").exists()

    demo = custodian("demo", "--customers", "3", home=tmp_path)
    assert demo.returncode == 0, demo.stderr
    # The data directory and the database (with its write-ahead log) are the owner's only.
    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for name in ("custodian.db", "custodian.db-wal", "master.key"):
        if (var / name).exists():  # the log may have been checkpointed away
            assert stat.S_IMODE((var / name).stat().st_mode) == 0o600, name
    assert "3 customers created, 0 already present" in demo.stdout
    emails = [line.strip() for line in demo.stdout.splitlines() if "@example.com" in line]
    assert len(emails) == 3
    # The next step it prints runs as shown, in a shell that has no virtual environment.
    [hint] = [line for line in demo.stdout.splitlines() if line.startswith("get a customer token")]
    command = hint.removeprefix("get a customer token: ").split("  (see")[0]
    shown = subprocess.run(
        command.replace("--demo", "--help"),
        shell=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, (command, shown.stderr)

    again = custodian("demo", "--customers", "3", home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 customers created, 3 already present" in again.stdout
    assert [line.strip() for line in again.stdout.splitlines() if "@example.com" in line] == emails


def test_migrate_then_demo_on_either_database(blank_db_url: str, tmp_path: Path) -> None:
    migrated = custodian("migrate", home=tmp_path, DATABASE_URL=blank_db_url)
    assert migrated.returncode == 0, migrated.stderr
    demo = custodian(
        "demo", "--customers", "2", "--seed", "5", home=tmp_path, DATABASE_URL=blank_db_url
    )
    assert demo.returncode == 0, demo.stderr
    assert "2 customers created" in demo.stdout
    assert sum("@example.com" in line for line in demo.stdout.splitlines()) == 2
    # A signed tree head covers the demo's events, so they never read as heads deleted.
    verified = custodian("audit", "verify", home=tmp_path, DATABASE_URL=blank_db_url)
    assert verified.returncode == 0, verified.stdout
    assert "audit tree intact: signed tree heads verified: 1," in verified.stdout
