"""CUSTODIAN_TREE_HEAD_INTERVAL: how often the audit log's tree head is signed."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from api.settings import ConfigError, load_settings

KEY = base64.b64encode(bytes(range(32))).decode()


def environ(tmp_path: Path, **values: str) -> dict[str, str]:
    return {
        "CUSTODIAN_DATA_DIR": str(tmp_path),
        "CUSTODIAN_MASTER_KEY": KEY,
        **{f"CUSTODIAN_{name}": value for name, value in values.items()},
    }


def test_the_interval_defaults_to_a_minute(tmp_path: Path) -> None:
    assert load_settings(environ(tmp_path)).tree_head_interval == 60


def test_the_interval_is_read_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(environ(tmp_path, TREE_HEAD_INTERVAL="5"))
    assert settings.tree_head_interval == 5


@pytest.mark.parametrize("value", ["0", "soon", "100000"])
def test_a_bad_interval_stops_start_up_with_one_line(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="CUSTODIAN_TREE_HEAD_INTERVAL") as error:
        load_settings(environ(tmp_path, TREE_HEAD_INTERVAL=value))
    assert "\n" not in str(error.value)
