"""Structured JSON logs with redaction of secrets and personal data.

Every log line, from our code (structlog) or from libraries (stdlib `logging`: uvicorn,
SQLAlchemy, alembic...), passes through one chain that ends in `redact` and a JSON renderer
(our own events are written by structlog itself, libraries' records by a stdlib handler).
`redact` masks values under sensitive key names (recursively) and masks anything that looks
like a JWT, a bearer token, an email address or a query-string value inside any string.
Exceptions are logged as their type and raise site only: a traceback's text can quote
personal data.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from typing import Any, TextIO

import msgspec
import structlog
from structlog.types import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"

# Key names are compared after lower-casing and turning "-" into "_" (header names).
_SENSITIVE_KEYS = frozenset(
    {
        "name",
        "given_name",
        "family_name",
        "preferred_name",
        "full_name",
        "first_name",
        "last_name",
        "middle_name",
        "display_name",
        "username",
        "user_name",
        "dob",
        "line1",
        "line2",
        "city",
        "region",
        "postal_code",
        "zip",
        "country_of_birth",
        "body",
        "content",
        "data",
        "payload",
        "form",
        "json",
        "query",
        "query_string",
        "params",
        "code",
        "code_verifier",
        "csrf",
        "csrf_token",
        "otp",
        "pin",
        "key",
        "summary",
        "description",
        "outcome",
        "merchant",
        "reference",
        "old",
        "new",
        "old_value",
        "new_value",
        "requested_value",
        "current_value",
        "set_cookie",
        # Network identifiers are personal data too.
        "ip",
        "client_ip",
        "remote_ip",
        "remote_addr",
        "x_forwarded_for",
        "forwarded",
        "user_agent",
    }
)
_SENSITIVE_FRAGMENTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "authorization",
    "cookie",
    "api_key",
    "apikey",
    "private_key",
    "master_key",
    "credential",
    "session",
    "email",
    "phone",
    "mobile",
    "address",
    "birth",
    "iban",
    "card_number",
    "ssn",
)

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"\b(Bearer|Basic|DPoP)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Query-string values (`?email=...&code=...`) are masked whatever their name.
_QUERY_VALUE = re.compile(r"([?&][A-Za-z0-9_.\[\]-]+=)[^&#\s\"']+")
# Emails also travel percent-encoded in URLs (%40 is "@").
_EMAIL_ENCODED = re.compile(r"[A-Za-z0-9._%+-]+%40[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.IGNORECASE)

# Keys structlog and we add ourselves; never masked even when they match a fragment.
_SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "logger",
        "timestamp",
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "exc_type",
        "exc_origin",
        "token_type",
        "grant_type",
    }
)
_MAX_DEPTH = 8


@lru_cache(maxsize=4096)  # keys are names in code: every log line asks about the same few
def is_sensitive_key(key: str) -> bool:
    """Whether values stored under `key` must never be logged."""
    normalised = key.lower().replace("-", "_")
    if normalised in _SAFE_KEYS:
        return False
    if normalised in _SENSITIVE_KEYS or normalised.endswith("_name"):
        return normalised not in {
            "logger_name",
            "table_name",
            "column_name",
            "route_name",
            "operation_name",
            "exc_name",
        }
    return any(fragment in normalised for fragment in _SENSITIVE_FRAGMENTS)


def redact_text(text: str) -> str:
    """`text` with JWTs, bearer/basic credentials, emails and query-string values masked."""
    # Each pattern runs only when the text holds what every match of it must contain: most
    # values (ids, routes, times) hold none, and every log line passes here.
    if "eyJ" in text:
        text = _JWT.sub("[jwt]", text)
    if "=" in text:
        text = _QUERY_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    # Outside ASCII, IGNORECASE matches more than lower() tells (the long s, U+017F, is an
    # "s"): run the pattern.
    lowered = text.lower()
    if not text.isascii() or "bearer" in lowered or "basic" in lowered or "dpop" in lowered:
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    if "%40" in text:
        text = _EMAIL_ENCODED.sub("[email]", text)
    return text


def redact_value(value: Any, depth: int = 0) -> Any:
    """A copy of `value` with sensitive keys masked and strings scrubbed, recursively."""
    if type(value) is str:  # most values: one test instead of the chain below
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth > _MAX_DEPTH or isinstance(value, bytes | bytearray | memoryview):
        # Raw bytes are bodies, keys or ciphertexts: nothing worth the risk.
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if is_sensitive_key(str(k)) else redact_value(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item, depth + 1) for item in value]
    # Anything else is logged through its str(), which may quote data: scrub it too.
    return redact_text(value if isinstance(value, str) else str(value))


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets and personal data anywhere in the event."""
    for key in list(event_dict):
        if key.startswith("_"):
            continue  # structlog's own bookkeeping (_record, _from_structlog)
        if is_sensitive_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict


def exception_type_only(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: replace exception details by the type and innermost raise site."""
    exc_info = event_dict.pop("exc_info", None)
    for key in ("exception", "stack", "stack_info"):
        event_dict.pop(key, None)
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        describe_exception(event_dict, exc_info)
    elif isinstance(exc_info, tuple) and len(exc_info) == 3:
        describe_exception(event_dict, exc_info[1])
    return event_dict


def describe_exception(event_dict: MutableMapping[str, Any], exc: BaseException | None) -> None:
    """Add `exc_type` and `exc_origin` (module:line of the innermost frame) to a log event."""
    if exc is None:
        return
    event_dict["exc_type"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "?")
        event_dict["exc_origin"] = f"{module}:{tb.tb_lineno}"


_HANDLER_MARK = "_custodian_handler"
# Chatty at INFO on every readiness probe (alembic) or outgoing call with its full URL (httpx).
_QUIET_LOGGERS = {"alembic": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING}


class _Output:
    """Where lines go and how they are rendered: set by `configure_logging`, read at each
    line, so a logger built before a reconfiguration (structlog caches them) follows it."""

    stream: TextIO = sys.stderr
    render: Processor = structlog.processors.JSONRenderer()
    lock: threading.Lock | threading.RLock = threading.Lock()
    """The stream's handler's lock once configured: a library's line and one of ours
    never interleave."""


class LineWriter:
    """structlog's logger for Custodian's own events: writes each finished line to the
    configured stream. They skip the stdlib `logging` round (a record, a copy of it for the
    formatter, handler locks): that cost more than the rest of the chain, and every
    request writes one access line."""

    __slots__ = ("name",)

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, line: str) -> None:
        """Write `line`, rendered and redacted by the chain (`configure_logging`). A stream
        that cannot take it (closed, a broken pipe) loses the line, as a stdlib handler
        would, and never fails the request that logged it."""
        with _Output.lock:
            try:
                _Output.stream.write(line + "\n")
                _Output.stream.flush()
            except (OSError, ValueError):
                pass

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _finish(logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
    """The last step for Custodian's own events: the same as a library's record gets."""
    event_dict = exception_type_only(logger, method, event_dict)
    return str(_Output.render(logger, method, redact(logger, method, event_dict)))


def configure_logging(
    *, level: int | str = logging.INFO, stream: TextIO | None = None, log_format: str = "json"
) -> None:
    """Route structlog and stdlib logging to one JSON-lines output on `stream` (stderr).

    Safe to call again (tests do, to capture a stream): the previous Custodian handler is
    replaced, other handlers are left alone. Uvicorn's access log is silenced because the
    request middleware writes a better one (with the request id and the route template).
    `log_format="console"` renders the same redacted events as readable lines instead.
    """
    target = stream if stream is not None else sys.stderr
    renderer = _renderer(log_format, target)
    _Output.stream, _Output.render = target, renderer
    # No record attribute that no line shows: the caller's file and line (a walk up the
    # stack for every record), thread and process names. Lines render the event only.
    logging._srcfile = None  # the documented switch (logging HOWTO, "Optimization")
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, _finish],
        logger_factory=LineWriter,
        wrapper_class=structlog.make_filtering_bound_logger(_level_number(level)),
        # Configuring again (tests capture a stream) changes `_Output`, which cached
        # loggers read at every line: building a logger per call cost more than a line.
        cache_logger_on_first_use=True,
    )
    # Libraries log through stdlib `logging`: their records take the same steps.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            exception_type_only,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(target)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    if handler.lock is not None:
        _Output.lock = handler.lock
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet_level)
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        # Uvicorn installs its own handlers when given a log config; ours must be the only one.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def _level_number(level: int | str) -> int:
    if isinstance(level, int):
        return level
    try:
        return logging.getLevelNamesMapping()[level.upper()]
    except KeyError:
        raise ValueError(f"unknown log level: {level}") from None


def _json(event_dict: EventDict, **_options: Any) -> str:
    # Keys sorted, as before; anything JSON cannot hold is written as its str() (redacted
    # already). msgspec writes a line in about a tenth of the time the json module takes.
    return msgspec.json.encode(event_dict, order="sorted", enc_hook=str).decode()


def _renderer(log_format: str, stream: TextIO) -> Processor:
    if log_format == "console":
        # Colours only on a terminal: redirected output stays plain text.
        return structlog.dev.ConsoleRenderer(colors=stream.isatty(), sort_keys=True)
    return structlog.processors.JSONRenderer(serializer=_json)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A structlog logger named `name`; its lines go through the redaction chain."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger
