"""Which errors mean "the database is away for now" (503) and which are bugs (500)."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy.exc

from api.problems import database_unavailable


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> sqlalchemy.exc.DBAPIError:
    return sqlalchemy.exc.DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(RuntimeError("closed"), invalidated=True),
        _wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
        _wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
        _wrapped(asyncpg.exceptions.TooManyConnectionsError("too many clients")),
        _wrapped(
            asyncpg.exceptions.ObjectNotInPrerequisiteStateError(
                'database "x" is not currently accepting connections'
            )
        ),
        ConnectionRefusedError(111, "Connection refused"),
        sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
    ],
)
def test_the_database_being_away_is_recognised(error: BaseException) -> None:
    assert database_unavailable(error)


def test_a_cause_further_down_the_chain_is_recognised() -> None:
    outer = RuntimeError("the audit batch failed")
    outer.__cause__ = ConnectionResetError(104, "reset by peer")
    assert database_unavailable(outer)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad"),
        _wrapped(asyncpg.exceptions.UndefinedTableError('relation "x" does not exist')),
        _wrapped(asyncpg.exceptions.ObjectNotInPrerequisiteStateError("currval not yet defined")),
        sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
    ],
)
def test_query_errors_stay_server_errors(error: BaseException) -> None:
    assert not database_unavailable(error)
