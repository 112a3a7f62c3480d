"""Configuration: good values load, each bad value stops start-up with one clear line."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from api.settings import ConfigError, Settings, load_settings

KEY = bytes(range(32))
KEY_B64 = base64.b64encode(KEY).decode()


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    """A CUSTODIAN_* environment rooted in tmp_path, plus the given overrides."""
    base = {"CUSTODIAN_DATA_DIR": str(tmp_path / "var")}
    base.update({f"CUSTODIAN_{k}": v for k, v in values.items()})
    return base


def config_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    message = str(caught.value)
    assert "\n" not in message, "the message must be one line"
    return message


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path, MASTER_KEY=KEY_B64))
    assert settings.env == "development"
    assert settings.data_dir == tmp_path / "var"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'custodian.db'}"
    assert settings.issuer == "http://127.0.0.1:8000"
    assert (settings.access_token_ttl, settings.analytics_min_cohort) == (600, 10)
    assert (settings.export_ttl_days, settings.financial_retention_years) == (7, 7)
    assert settings.master_key == KEY
    assert settings.keys_dir == tmp_path / "var" / "keys"
    assert not settings.issuer_is_https


def test_every_value_can_be_set(tmp_path: Path) -> None:
    settings = load_settings(
        env(
            tmp_path,
            MASTER_KEY=KEY_B64,
            ENV="production",
            ISSUER="https://id.example.com/",
            DATABASE_URL="postgresql+asyncpg://app:pw@db.internal:5432/custodian",
            ACCESS_TOKEN_TTL="300",
            ANALYTICS_MIN_COHORT="25",
            EXPORT_TTL_DAYS="3",
            FINANCIAL_RETENTION_YEARS="10",
        )
    )
    assert settings.is_production
    assert settings.issuer == "https://id.example.com"
    assert settings.issuer_is_https
    assert settings.database_url == "postgresql+asyncpg://app:pw@db.internal:5432/custodian"
    assert (
        settings.access_token_ttl,
        settings.analytics_min_cohort,
        settings.export_ttl_days,
        settings.financial_retention_years,
    ) == (300, 25, 3, 10)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ENV", "staging", "unknown value"),
        ("DATABASE_URL", "mysql+aiomysql://u@h/db", "unsupported scheme"),
        ("DATABASE_URL", "sqlite:///plain-driver.db", "unsupported scheme"),
        ("DATABASE_URL", "postgresql+psycopg://u@h/db", "unsupported scheme"),
        ("DATABASE_URL", "not a url", "not a URL"),
        ("DATABASE_URL", "postgresql+asyncpg://u@h:notaport/db", "malformed"),
        ("DATABASE_URL", "postgresql+asyncpg://u@h", "database name"),
        ("DATABASE_URL", "sqlite+aiosqlite://relative", "sqlite+aiosqlite:///path"),
        ("MASTER_KEY", "not base64 at all!", "not valid base64"),
        ("MASTER_KEY", base64.b64encode(b"short").decode(), "exactly 32 bytes"),
        ("MASTER_KEY", base64.b64encode(bytes(48)).decode(), "exactly 32 bytes"),
        ("ACCESS_TOKEN_TTL", "ten", "not an integer"),
        ("ACCESS_TOKEN_TTL", "0", "out of range"),
        ("ANALYTICS_MIN_COHORT", "1", "out of range"),
        ("ANALYTICS_MIN_COHORT", "1.5", "not an integer"),
        ("EXPORT_TTL_DAYS", "-1", "out of range"),
        ("FINANCIAL_RETENTION_YEARS", "1000", "out of range"),
        ("ISSUER", "ftp://example.com", "absolute http(s) URL"),
        ("ISSUER", "https://example.com/?a=1", "query or fragment"),
    ],
)
def test_bad_value_names_the_variable(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    environ = env(tmp_path, MASTER_KEY=KEY_B64)
    environ[f"CUSTODIAN_{variable}"] = value
    message = config_error(environ)
    assert message.startswith(f"CUSTODIAN_{variable}:")
    assert expected in message


def test_database_password_is_not_echoed(tmp_path: Path) -> None:
    message = config_error(
        env(tmp_path, MASTER_KEY=KEY_B64, DATABASE_URL="mysql://admin:hunter2secret@db/x")
    )
    assert "hunter2secret" not in message


def test_wrong_size_key_is_not_echoed(tmp_path: Path) -> None:
    almost = base64.b64encode(bytes(range(31))).decode()
    message = config_error(env(tmp_path, MASTER_KEY=almost))
    assert almost not in message
    assert "got 31" in message


def test_master_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(KEY_B64 + "\n")
    settings = load_settings(env(tmp_path, MASTER_KEY_FILE=str(key_file), ENV="production"))
    assert settings.master_key == KEY


def test_url_safe_unpadded_key_is_accepted(tmp_path: Path) -> None:
    key = bytes([251] * 32)  # encodes to characters that differ between the alphabets
    text = base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert load_settings(env(tmp_path, MASTER_KEY=text)).master_key == key


def test_master_key_wins_over_key_file(tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_text(base64.b64encode(bytes(32)).decode())
    settings = load_settings(env(tmp_path, MASTER_KEY=KEY_B64, MASTER_KEY_FILE=str(other)))
    assert settings.master_key == KEY


def test_missing_key_file(tmp_path: Path) -> None:
    message = config_error(env(tmp_path, MASTER_KEY_FILE=str(tmp_path / "absent.key")))
    assert message.startswith("CUSTODIAN_MASTER_KEY_FILE:")
    assert "does not exist" in message


def test_unreadable_key_file(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory.key"
    directory.mkdir()
    message = config_error(env(tmp_path, MASTER_KEY_FILE=str(directory)))
    assert message.startswith("CUSTODIAN_MASTER_KEY_FILE:")
    assert "cannot read" in message


def test_key_file_of_wrong_size(tmp_path: Path) -> None:
    key_file = tmp_path / "short.key"
    key_file.write_text(base64.b64encode(bytes(16)).decode())
    message = config_error(env(tmp_path, MASTER_KEY_FILE=str(key_file)))
    assert message.startswith("CUSTODIAN_MASTER_KEY_FILE")
    assert "exactly 32 bytes" in message


def test_production_without_key_is_refused(tmp_path: Path) -> None:
    message = config_error(env(tmp_path, ENV="production"))
    assert message.startswith("CUSTODIAN_MASTER_KEY:")
    assert "production" in message
    assert not (tmp_path / "var" / "master.key").exists(), "production must not generate a key"


def test_production_needs_https_issuer(tmp_path: Path) -> None:
    message = config_error(
        env(tmp_path, ENV="production", MASTER_KEY=KEY_B64, ISSUER="http://id.example.com")
    )
    assert message.startswith("CUSTODIAN_ISSUER:")
    loopback = load_settings(
        env(tmp_path, ENV="production", MASTER_KEY=KEY_B64, ISSUER="http://127.0.0.1:9000")
    )
    assert loopback.issuer == "http://127.0.0.1:9000"


def test_development_key_is_generated_once(tmp_path: Path) -> None:
    first = load_settings(env(tmp_path))
    key_file = tmp_path / "var" / "master.key"
    assert key_file.is_file()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert list(key_file.parent.iterdir()) == [key_file], "no temporary file is left behind"
    assert base64.b64decode(key_file.read_text().strip()) == first.master_key
    assert len(first.master_key) == 32
    second = load_settings(env(tmp_path))
    assert second.master_key == first.master_key


def test_corrupt_development_key_is_reported(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "master.key").write_text("garbage")
    message = config_error(env(tmp_path))
    assert message.startswith("CUSTODIAN_DATA_DIR")
    assert "master.key" in message


def test_key_not_in_repr(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path, MASTER_KEY=KEY_B64))
    for text in (repr(settings), str(settings)):
        assert KEY_B64 not in text
        assert repr(KEY) not in text
        assert "master_key" not in text
    assert "database_url" in repr(settings)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings: Settings = load_settings(env(tmp_path, MASTER_KEY=KEY_B64))
    with pytest.raises(AttributeError):
        settings.env = "production"  # type: ignore[misc]


def test_contact_policy_limits(tmp_path: Path) -> None:
    defaults = load_settings(env(tmp_path, MASTER_KEY=KEY_B64))
    assert (
        defaults.marketing_weekly_limit,
        defaults.marketing_monthly_limit,
        defaults.complaint_cool_off_days,
    ) == (2, 6, 14)
    chosen = load_settings(
        env(
            tmp_path,
            MASTER_KEY=KEY_B64,
            MARKETING_WEEKLY_LIMIT="1",
            MARKETING_MONTHLY_LIMIT="3",
            COMPLAINT_COOL_OFF_DAYS="30",
        )
    )
    assert (
        chosen.marketing_weekly_limit,
        chosen.marketing_monthly_limit,
        chosen.complaint_cool_off_days,
    ) == (1, 3, 30)
    message = config_error(
        env(tmp_path, MASTER_KEY=KEY_B64, MARKETING_WEEKLY_LIMIT="5", MARKETING_MONTHLY_LIMIT="4")
    )
    assert message.startswith("CUSTODIAN_MARKETING_MONTHLY_LIMIT:")
    assert "out of range" in config_error(
        env(tmp_path, MASTER_KEY=KEY_B64, MARKETING_WEEKLY_LIMIT="0")
    )


def test_every_variable_the_settings_read_is_a_known_one() -> None:
    # A variable read but missing from KNOWN_VARIABLES would stop start-up as "unknown".
    import inspect  # noqa: PLC0415
    import re  # noqa: PLC0415

    import api.settings  # noqa: PLC0415

    read = set(re.findall(r'environ, "([A-Z_]+)"', inspect.getsource(api.settings)))
    assert read
    assert read <= api.settings.KNOWN_VARIABLES
