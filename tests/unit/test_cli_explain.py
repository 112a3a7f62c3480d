"""How the command line words each kind of failure: one line, the right exit status."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from api.cli.main import EXIT_FAILED, EXIT_USAGE, CommandFailed, explain
from api.settings import ConfigError
from domain.errors import InvalidValue


@pytest.mark.parametrize(
    ("error", "line", "status"),
    [
        (ConfigError("CUSTODIAN_ENV: unknown value"), "CUSTODIAN_ENV: unknown value", EXIT_USAGE),
        (CommandFailed("run `custodian migrate` first"), "run `custodian migrate` first", 1),
        (InvalidValue("email", "is not a valid email address"), "email: is not", EXIT_FAILED),
        (LookupError("no client with the id x"), "no client with the id x", EXIT_FAILED),
        (
            FileNotFoundError(2, "No such file or directory", "/nonexistent/x.json"),
            "/nonexistent/x.json: No such file or directory",
            EXIT_FAILED,
        ),
        (ConnectionRefusedError(111, "Connection refused"), "database unavailable: ", 1),
        (OperationalError("SELECT 1", {}, Exception("no such table: jobs")), "database unava", 1),
        (RuntimeError("boom\nsecond line"), "unexpected RuntimeError: boom", EXIT_FAILED),
    ],
)
def test_each_failure_is_one_line_with_its_status(error: Exception, line: str, status: int) -> None:
    message, code = explain(error)
    assert message.startswith(line)
    assert "\n" not in message
    assert code == status
