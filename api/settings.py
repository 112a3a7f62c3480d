"""Configuration from `CUSTODIAN_*` environment variables (the README lists each one).

`load_settings` reads and checks everything once at start-up. Anything wrong raises
ConfigError whose message is one line naming the variable and what is wrong with it, so an
operator sees the fix without reading a traceback. The master key never appears in a repr or
in an error message.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

PREFIX = "CUSTODIAN_"
MASTER_KEY_BYTES = 32
Environment = Literal["development", "production"]
LogFormat = Literal["console", "json"]
DEVELOPMENT: Environment = "development"
PRODUCTION: Environment = "production"

# Only the async drivers the persistence layer is built and tested with.
_ACCEPTED_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line fit to print and exit on."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs to know about its environment, already validated."""

    database_url: str
    data_dir: Path
    master_key: bytes = field(repr=False)
    env: Environment = DEVELOPMENT
    issuer: str = "http://127.0.0.1:8000"
    access_token_ttl: int = 600
    analytics_min_cohort: int = 10
    export_ttl_days: int = 7
    financial_retention_years: int = 7
    # The contact policy: marketing contacts per customer across every campaign and channel
    # in 7 and 30 days, and the days without marketing after a complaint.
    marketing_weekly_limit: int = 2
    marketing_monthly_limit: int = 6
    complaint_cool_off_days: int = 14
    # `custodian serve` runs one background worker in-process; tests and deployments with
    # separate `custodian worker` processes turn it off.
    in_process_worker: bool = True
    # Seconds between signed heads of the audit log's Merkle tree while events are appended.
    tree_head_interval: int = 60
    # Log lines: "console" (readable, coloured when a terminal) or "json" (one object a line).
    log_format: LogFormat = "json"
    # Requests per minute per person and client on /v1, per client and address at /oauth/token;
    # 0 is no limit. Settings built in code (tests, tools) have none; the environment's
    # defaults are 600 and 60.
    rate_limit_per_minute: int = 0
    token_rate_limit_per_minute: int = 0
    # How stale the resource guard's "this token is not revoked" may be, in milliseconds: a
    # revoked token is refused by every server process within this bound. Settings built in
    # code ask the database on every request (0); the environment's default is 1000.
    revocation_check_ms: int = 0
    # PostgreSQL connections each process keeps (a fixed pool, no overflow).
    db_pool_size: int = 20
    # Seconds a client may take to send a request's headers, and each part of its body;
    # slower requests are answered 408 and their connection closed.
    read_timeout_seconds: int = 10
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR blocks); none by default.
    trusted_proxies: tuple[str, ...] = ()
    # Erasure needs a sign-in this recent, then waits this many days (cancellable; 0: none).
    erasure_reauth_seconds: int = 300
    erasure_grace_days: int = 7
    # PostgreSQL: migrations run as the tables' owner (this URL); the app connects with
    # `database_url` as a role `custodian migrate` sets up without DDL rights.
    migration_database_url: str | None = field(default=None, repr=False)

    @property
    def keys_dir(self) -> Path:
        """Where signing keys live (`<data_dir>/keys`)."""
        return self.data_dir / "keys"

    @property
    def is_production(self) -> bool:
        """Whether the process runs with production safeguards."""
        return self.env == PRODUCTION

    @property
    def issuer_is_https(self) -> bool:
        """Whether the public origin is HTTPS (and HSTS may therefore be sent)."""
        return self.issuer.startswith("https://")


def _name(suffix: str) -> str:
    return PREFIX + suffix


def _get(environ: Mapping[str, str], suffix: str) -> str | None:
    """The variable's value with surrounding blanks removed; None when unset or empty."""
    value = environ.get(_name(suffix))
    if value is None or not value.strip():
        return None
    return value.strip()


def _env(environ: Mapping[str, str]) -> Environment:
    value = _get(environ, "ENV")
    if value is None:
        return DEVELOPMENT
    if value == DEVELOPMENT:
        return DEVELOPMENT
    if value == PRODUCTION:
        return PRODUCTION
    raise ConfigError(f"{_name('ENV')}: unknown value {value!r}; use development or production")


def _integer(environ: Mapping[str, str], suffix: str, default: int, low: int, high: int) -> int:
    value = _get(environ, suffix)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{_name(suffix)}: {value!r} is not an integer") from None
    if not low <= number <= high:
        raise ConfigError(f"{_name(suffix)}: {number} is out of range ({low}..{high})")
    return number


def _database_url(environ: Mapping[str, str], data_dir: Path) -> str:
    value = _get(environ, "DATABASE_URL")
    if value is None:
        return f"sqlite+aiosqlite:///{data_dir / 'custodian.db'}"
    # The URL may carry a password: messages name the scheme only, never echo the URL.
    scheme, sep, _rest = value.partition("://")
    if not sep:
        raise ConfigError(f"{_name('DATABASE_URL')}: not a URL (expected scheme://...)")
    if scheme not in _ACCEPTED_SCHEMES:
        raise ConfigError(
            f"{_name('DATABASE_URL')}: unsupported scheme {scheme!r}; use "
            + " or ".join(f"{s}://" for s in _ACCEPTED_SCHEMES)
        )
    if scheme == "postgresql+asyncpg":
        try:
            parts = urlsplit(value)
            _ = parts.port  # raises ValueError on a malformed port
        except ValueError:
            raise ConfigError(f"{_name('DATABASE_URL')}: malformed PostgreSQL URL") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(
                f"{_name('DATABASE_URL')}: a PostgreSQL URL needs a host and a database name"
            )
    elif not value.startswith("sqlite+aiosqlite:///"):
        raise ConfigError(f"{_name('DATABASE_URL')}: a SQLite URL is sqlite+aiosqlite:///path")
    return value


def _decode_key(text: str, source: str) -> bytes:
    """Base64 (standard or URL-safe) of exactly 32 bytes, else ConfigError naming `source`."""
    # Standard or URL-safe alphabet, padding optional (as persistence.crypto.MasterKey reads it).
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        key = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{source}: not valid base64") from None
    if len(key) != MASTER_KEY_BYTES:
        raise ConfigError(
            f"{source}: must be base64 of exactly {MASTER_KEY_BYTES} bytes (got {len(key)})"
        )
    return key


def _read_key_file(path: Path, source: str) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ConfigError(f"{source}: file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read {str(path)!r} ({type(exc).__name__})") from None
    return _decode_key(text, f"{source} ({str(path)!r})")


def _generate_development_key(path: Path) -> bytes:
    """Create `path` with a fresh random key, readable by the owner only.

    The key is written to a private temporary file and then hard-linked into place, so a
    process starting at the same moment sees either no file or the complete key, and the
    first link wins (the other process reads the winner's key).
    """
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(key).decode("ascii") + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return _read_key_file(path, _name("DATA_DIR") + " master.key")
    except OSError as exc:
        raise ConfigError(
            f"{_name('DATA_DIR')}: cannot create {str(path)!r} ({type(exc).__name__})"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)
    return key


def _master_key(environ: Mapping[str, str], env: Environment, data_dir: Path) -> bytes:
    # Precedence: the key itself, then a key file, then (development only) a generated file.
    inline = _get(environ, "MASTER_KEY")
    if inline is not None:
        return _decode_key(inline, _name("MASTER_KEY"))
    key_file = _get(environ, "MASTER_KEY_FILE")
    if key_file is not None:
        return _read_key_file(Path(key_file), _name("MASTER_KEY_FILE"))
    if env == PRODUCTION:
        raise ConfigError(
            f"{_name('MASTER_KEY')}: required in production (or set "
            f"{_name('MASTER_KEY_FILE')}); refusing to start without a master key"
        )
    path = data_dir / "master.key"
    if path.exists():
        return _read_key_file(path, _name("DATA_DIR") + " master.key")
    return _generate_development_key(path)


_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _issuer(environ: Mapping[str, str], env: Environment) -> str:
    value = _get(environ, "ISSUER")
    if value is None:
        return "http://127.0.0.1:8000"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{_name('ISSUER')}: must be an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise ConfigError(f"{_name('ISSUER')}: must not have a query or fragment")
    # Tokens and the login form travel to the issuer: in production only a loopback test
    # deployment may do without TLS.
    if env == PRODUCTION and parts.scheme != "https" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ConfigError(f"{_name('ISSUER')}: must be https:// in production")
    return value.rstrip("/")


KNOWN_VARIABLES = frozenset(
    {
        "DATABASE_URL",
        "DATA_DIR",
        "MASTER_KEY",
        "MASTER_KEY_FILE",
        "ISSUER",
        "ENV",
        "ACCESS_TOKEN_TTL",
        "ANALYTICS_MIN_COHORT",
        "EXPORT_TTL_DAYS",
        "FINANCIAL_RETENTION_YEARS",
        "LOG_FORMAT",
        "WORKER",
        "RATE_LIMIT",
        "TOKEN_RATE_LIMIT",
        "REVOCATION_CHECK_MS",
        "TREE_HEAD_INTERVAL",
        "MARKETING_WEEKLY_LIMIT",
        "MARKETING_MONTHLY_LIMIT",
        "COMPLAINT_COOL_OFF_DAYS",
        "TRUSTED_PROXIES",
        "ERASURE_REAUTH_SECONDS",
        "ERASURE_GRACE_DAYS",
        "MIGRATION_DATABASE_URL",
        "DB_POOL_SIZE",
        "READ_TIMEOUT",
    }
)
"""Every `CUSTODIAN_*` variable the service reads (without the prefix)."""
# Variables of the test and benchmark tooling, read by those tools only.
_TOOLING_PREFIXES = ("TEST_", "BENCH_")


def _refuse_unknown(environ: Mapping[str, str]) -> None:
    # A misspelt variable would otherwise be silently ignored and its default used.
    for name in sorted(environ):
        suffix = name.removeprefix(PREFIX)
        if suffix == name or suffix in KNOWN_VARIABLES or suffix.startswith(_TOOLING_PREFIXES):
            continue
        close = difflib.get_close_matches(suffix, sorted(KNOWN_VARIABLES), n=1)
        hint = f"; did you mean {_name(close[0])}?" if close else ""
        raise ConfigError(f"{name}: unknown variable{hint}")


def _choice(environ: Mapping[str, str], suffix: str, choices: tuple[str, ...], default: str) -> str:
    value = _get(environ, suffix)
    if value is None:
        return default
    if value not in choices:
        raise ConfigError(f"{_name(suffix)}: unknown value {value!r}; use " + " or ".join(choices))
    return value


def _default_issuer(environ: Mapping[str, str]) -> str:
    """http://HOST:PORT from the plain HOST and PORT variables (`make run PORT=8100` sets
    them), else http://127.0.0.1:8000."""
    host = (environ.get("HOST") or "127.0.0.1").strip()
    port = (environ.get("PORT") or "8000").strip()
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"PORT: must be a port number (1-65535), got {port!r}")
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a bind-all address is not a URL host
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{int(port)}"


def _trusted_proxies(environ: Mapping[str, str]) -> tuple[str, ...]:
    value = _get(environ, "TRUSTED_PROXIES")
    if value is None:
        return ()
    entries = tuple(entry.strip() for entry in value.split(",") if entry.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"{_name('TRUSTED_PROXIES')}: {entry!r} is not an IP address or network"
            ) from None
    return entries


def _migration_database_url(environ: Mapping[str, str], data_dir: Path) -> str | None:
    value = _get(environ, "MIGRATION_DATABASE_URL")
    if value is None:
        return None
    try:
        return _database_url({_name("DATABASE_URL"): value}, data_dir)
    except ConfigError as error:
        raise ConfigError(
            str(error).replace(_name("DATABASE_URL"), _name("MIGRATION_DATABASE_URL"))
        ) from None


def read_timeout_seconds(environ: Mapping[str, str] = os.environ) -> int:
    """`CUSTODIAN_READ_TIMEOUT`: also read on its own by the HTTP protocol of each server
    process (api.read_deadline), which starts before the app and its settings."""
    return _integer(environ, "READ_TIMEOUT", 10, 1, 300)


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """Read and validate the configuration; raise ConfigError (one line) on any bad value.

    In development a missing master key is generated into `<data_dir>/master.key` (mode
    0600) on first run and reused afterwards; production refuses to start without one.
    """
    _refuse_unknown(environ)
    env = _env(environ)
    data_dir = Path(_get(environ, "DATA_DIR") or "./var")
    issuer = _issuer(environ, env) if _get(environ, "ISSUER") else _default_issuer(environ)
    log_format = _choice(
        environ, "LOG_FORMAT", ("console", "json"), "json" if env == PRODUCTION else "console"
    )
    worker = _choice(environ, "WORKER", ("inprocess", "off"), "inprocess")
    rate_limit = _integer(environ, "RATE_LIMIT", 600, 0, 1_000_000)
    token_rate_limit = _integer(environ, "TOKEN_RATE_LIMIT", 60, 0, 1_000_000)
    database_url = _database_url(environ, data_dir)
    access_token_ttl = _integer(environ, "ACCESS_TOKEN_TTL", 600, 30, 86_400)
    analytics_min_cohort = _integer(environ, "ANALYTICS_MIN_COHORT", 10, 2, 1_000_000)
    export_ttl_days = _integer(environ, "EXPORT_TTL_DAYS", 7, 1, 365)
    tree_head_interval = _integer(environ, "TREE_HEAD_INTERVAL", 60, 1, 86_400)
    financial_retention_years = _integer(environ, "FINANCIAL_RETENTION_YEARS", 7, 1, 100)
    weekly_limit = _integer(environ, "MARKETING_WEEKLY_LIMIT", 2, 1, 100)
    monthly_limit = _integer(environ, "MARKETING_MONTHLY_LIMIT", 6, 1, 1000)
    if monthly_limit < weekly_limit:
        raise ConfigError(
            f"{_name('MARKETING_MONTHLY_LIMIT')}: must not be lower than "
            f"{_name('MARKETING_WEEKLY_LIMIT')}"
        )
    cool_off_days = _integer(environ, "COMPLAINT_COOL_OFF_DAYS", 14, 0, 365)
    master_key = _master_key(environ, env, data_dir)
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        master_key=master_key,
        env=env,
        issuer=issuer,
        access_token_ttl=access_token_ttl,
        analytics_min_cohort=analytics_min_cohort,
        export_ttl_days=export_ttl_days,
        tree_head_interval=tree_head_interval,
        financial_retention_years=financial_retention_years,
        marketing_weekly_limit=weekly_limit,
        marketing_monthly_limit=monthly_limit,
        complaint_cool_off_days=cool_off_days,
        in_process_worker=worker == "inprocess",
        log_format="console" if log_format == "console" else "json",
        rate_limit_per_minute=rate_limit,
        token_rate_limit_per_minute=token_rate_limit,
        revocation_check_ms=_integer(environ, "REVOCATION_CHECK_MS", 1000, 0, 60_000),
        trusted_proxies=_trusted_proxies(environ),
        db_pool_size=_integer(environ, "DB_POOL_SIZE", 20, 1, 1000),
        read_timeout_seconds=read_timeout_seconds(environ),
        erasure_reauth_seconds=_integer(environ, "ERASURE_REAUTH_SECONDS", 300, 30, 86_400),
        # At most 25 days: the erasure must still be done within the legal month.
        erasure_grace_days=_integer(environ, "ERASURE_GRACE_DAYS", 7, 0, 25),
        migration_database_url=_migration_database_url(environ, data_dir),
    )
