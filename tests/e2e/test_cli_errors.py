"""Every `custodian` subcommand fed bad input: one line `custodian: error: ...`, a documented
exit status (1 failed while working, 2 bad command line or configuration), never a traceback.
Also the operator commands' good paths: --version, client list|disable, staff
list|disable|reset-password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CUSTODIAN = str(Path(sys.executable).parent / "custodian")
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def run(
    home: Path, *args: str, stdin: str = "", **variables: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.pop("PORT", None)
    env.pop("HOST", None)
    env.update({"CUSTODIAN_DATA_DIR": str(home / "var"), "CUSTODIAN_MASTER_KEY": KEY, **variables})
    return subprocess.run(
        [CUSTODIAN, *args],
        env=env,
        cwd=home,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    place = tmp_path_factory.mktemp("cli")
    assert run(place, "migrate").returncode == 0
    return place


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


BAD_INPUT: list[tuple[tuple[str, ...], dict[str, str], int, str]] = [
    ((), {}, 2, "required"),
    (("frobnicate",), {}, 2, "invalid choice"),
    (("migrate",), {"CUSTODIAN_DATABASE_URLL": "sqlite+aiosqlite:///x.db"}, 2, "did you mean"),
    (("migrate",), {"CUSTODIAN_LOG_FORMAT": "xml"}, 2, "CUSTODIAN_LOG_FORMAT"),
    (("migrate",), {"CUSTODIAN_WORKER": "maybe"}, 2, "CUSTODIAN_WORKER"),
    (("demo", "--customers", "0"), {}, 2, "--customers"),
    (("serve", "--port", "99999"), {}, 2, "port"),
    (("serve", "--workers", "0"), {}, 2, "--workers"),
    (("audit", "verify", "--bogus"), {}, 2, "unrecognized"),
    (("audit",), {}, 2, "required"),
    (("client", "create", "--name", "x", "--public", "--scope", "profile:read"), {}, 1, "redirect"),
    (("client", "create", "--name", "x", "--public", "--scope", "nonsense"), {}, 2, "scope"),
    (("client", "disable", "no-such-client"), {}, 1, "no client"),
    (("client", "frob"), {}, 2, "invalid choice"),
    (("staff", "create", "--email", "not-an-email", "--role", "admin"), {}, 1, "email"),
    (("staff", "create", "--email", "a@example.com", "--role", "boss"), {}, 2, "--role"),
    (("staff", "disable", "--email", "nobody@example.com"), {}, 1, "no staff user"),
    (("staff", "disable", "--email", "not-an-email"), {}, 1, "email"),
    (("staff", "reset-password", "--email", "nobody@example.com"), {}, 1, "no staff user"),
    (("keys",), {}, 2, "required"),
    (("token", "--demo"), {}, 1, "custodian demo"),
    (("token",), {}, 2, "--demo"),
    (("worker", "--lease-seconds", "soon"), {}, 2, "--lease-seconds"),
    (("retention",), {}, 2, "required"),
    (("openapi", "--output"), {}, 2, "--output"),
]


@pytest.mark.parametrize(("args", "variables", "status", "mention"), BAD_INPUT)
def test_bad_input_is_one_line_never_a_traceback(
    home: Path, args: tuple[str, ...], variables: dict[str, str], status: int, mention: str
) -> None:
    result = run(home, *args, **variables)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == status, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("custodian: error: ")
    assert mention in lines[0]


def test_a_busy_port_is_one_line(home: Path, busy_port: int) -> None:
    result = run(home, "serve", "--port", str(busy_port))
    assert result.returncode == 1
    assert result.stderr.startswith("custodian: error: cannot listen on 127.0.0.1:")
    assert len(result.stderr.splitlines()) == 1


def test_a_file_that_cannot_be_written_is_named(home: Path) -> None:
    blocker = home / "a-file"
    blocker.write_text("not a directory\n")
    result = run(home, "openapi", "--output", str(blocker / "openapi.json"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"custodian: error: {blocker}")


def test_version(home: Path) -> None:
    result = run(home, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith("custodian 0.")


def test_operators_list_and_disable_clients_and_staff(home: Path) -> None:
    created = run(
        home,
        "client",
        "create",
        "--name",
        "Web app",
        "--public",
        "--redirect-uri",
        "https://app.example/cb",
        "--scope",
        "profile:read",
        "--client-id",
        "web-app",
    )
    assert created.returncode == 0, created.stderr
    listed = run(home, "client", "list")
    assert "web-app  public  active  'Web app'" in listed.stdout
    assert "redirect: https://app.example/cb" in listed.stdout
    assert run(home, "client", "disable", "web-app").returncode == 0
    assert "web-app  public  disabled" in run(home, "client", "list").stdout

    made = run(home, "staff", "create", "--email", "officer@example.com", "--role", "admin")
    assert made.returncode == 0, made.stderr
    assert "officer@example.com  admin  active" in run(home, "staff", "list").stdout
    short = run(
        home,
        "staff",
        "reset-password",
        "--email",
        "officer@example.com",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 1
    assert short.stderr.startswith("custodian: error: a staff password needs at least 12")
    reset = run(home, "staff", "reset-password", "--email", "officer@example.com")
    assert reset.returncode == 0
    assert "password: " in reset.stdout
    assert run(home, "staff", "disable", "--email", "officer@example.com").returncode == 0
    assert "officer@example.com  admin  disabled" in run(home, "staff", "list").stdout
