"""Operator settings: log format, worker switch, rate limits, the issuer following HOST and
PORT, and misspelt CUSTODIAN_* variables refused with one line."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from api.logging import configure_logging, get_logger
from api.settings import ConfigError, load_settings

KEY_B64 = base64.b64encode(bytes(range(32))).decode()


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    base = {"CUSTODIAN_DATA_DIR": str(tmp_path / "var"), "CUSTODIAN_MASTER_KEY": KEY_B64}
    base.update({f"CUSTODIAN_{k}": v for k, v in values.items()})
    return base


def config_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_misspelt_variable_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    environ = {**env(tmp_path), "CUSTODIAN_DATABASE_URLL": "sqlite+aiosqlite:///x.db"}
    message = config_error(environ)
    assert message.startswith("CUSTODIAN_DATABASE_URLL: unknown variable")
    assert "did you mean CUSTODIAN_DATABASE_URL?" in message
    assert "x.db" not in message  # values are never echoed (they can hold passwords)


def test_tooling_and_foreign_variables_are_left_alone(tmp_path: Path) -> None:
    environ = {
        **env(tmp_path),
        "CUSTODIAN_TEST_POSTGRES_URL": "postgresql+asyncpg://x/y",
        "PATH": "/bin",
    }
    assert load_settings(environ).env == "development"


def test_development_logs_to_the_console_production_in_json(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path)).log_format == "console"
    production = env(tmp_path, ENV="production", ISSUER="https://custodian.example")
    assert load_settings(production).log_format == "json"
    assert load_settings(env(tmp_path, LOG_FORMAT="json")).log_format == "json"
    assert "use console or json" in config_error(env(tmp_path, LOG_FORMAT="xml"))


def test_the_in_process_worker_can_be_switched_off(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path)).in_process_worker is True
    assert load_settings(env(tmp_path, WORKER="off")).in_process_worker is False
    assert "use inprocess or off" in config_error(env(tmp_path, WORKER="yes"))


def test_rate_limits_default_and_bounds(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path))
    assert (settings.rate_limit_per_minute, settings.token_rate_limit_per_minute) == (600, 60)
    assert load_settings(env(tmp_path, RATE_LIMIT="0")).rate_limit_per_minute == 0
    assert "not an integer" in config_error(env(tmp_path, RATE_LIMIT="lots"))


def test_the_revocation_bound_defaults_to_one_second(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path)).revocation_check_ms == 1000
    assert load_settings(env(tmp_path, REVOCATION_CHECK_MS="0")).revocation_check_ms == 0
    assert "CUSTODIAN_REVOCATION_CHECK_MS" in config_error(
        env(tmp_path, REVOCATION_CHECK_MS="600000")
    )


def test_the_issuer_follows_host_and_port_unless_set(tmp_path: Path) -> None:
    assert load_settings({**env(tmp_path), "PORT": "8100"}).issuer == "http://127.0.0.1:8100"
    moved = {**env(tmp_path), "HOST": "localhost", "PORT": "9000"}
    assert load_settings(moved).issuer == "http://localhost:9000"
    # Binding every interface still gives a URL a browser can open.
    assert load_settings({**env(tmp_path), "HOST": "0.0.0.0"}).issuer == "http://127.0.0.1:8000"
    explicit = {**env(tmp_path, ISSUER="https://id.example"), "PORT": "8100"}
    assert load_settings(explicit).issuer == "https://id.example"
    assert config_error({**env(tmp_path), "PORT": "eighty"}).startswith("PORT:")


def test_console_logs_are_readable_and_still_redacted() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, log_format="console")
    try:
        get_logger("custodian.test").info("signed in", email="ada@example.com", status=200)
    finally:
        configure_logging(stream=io.StringIO())
    line = stream.getvalue()
    assert "signed in" in line
    assert "ada@example.com" not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
