"""CUSTODIAN_DB_POOL_SIZE: each process's PostgreSQL pool, sized for scale-out (fixed: short-lived
overflow connections made a loaded server open a connection per request)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import ConfigError, load_settings
from persistence.crypto import MasterKey
from persistence.database import make_engine


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "CUSTODIAN_DATA_DIR": str(tmp_path),
        "CUSTODIAN_MASTER_KEY": MasterKey.generate().to_base64(),
        **{f"CUSTODIAN_{name}": value for name, value in extra.items()},
    }


def test_the_pool_size_defaults_to_20_and_can_be_set(tmp_path: Path) -> None:
    assert load_settings(_environ(tmp_path)).db_pool_size == 20
    assert load_settings(_environ(tmp_path, DB_POOL_SIZE="8")).db_pool_size == 8
    with pytest.raises(ConfigError, match="CUSTODIAN_DB_POOL_SIZE"):
        load_settings(_environ(tmp_path, DB_POOL_SIZE="0"))


async def test_the_engine_keeps_that_many_and_no_overflow() -> None:
    engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=8)
    try:
        pool = engine.sync_engine.pool
        assert pool.size() == 8  # type: ignore[attr-defined]
        assert pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
