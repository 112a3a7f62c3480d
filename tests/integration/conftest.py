"""Fixtures of the persistence integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from persistence import sqlite_driver


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every function sent to a SQLite connection's thread, from now on."""
    sent: list[Any] = []
    execute = sqlite_driver.OneHopConnection._execute

    async def counting(self: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(function)
        return await execute(self, function, *args, **kwargs)

    monkeypatch.setattr(sqlite_driver.OneHopConnection, "_execute", counting)
    return sent
