"""The canonical bytes of a stored audit event, built straight from the driver's row.

Verification hashes every event once; building an `AuditEvent` (UUID objects, enums,
datetimes) and encoding it with `json.dumps(sort_keys=True)` costs ten times the hashing.
`canonical_from_row` writes the same bytes as `domain.audit.events.canonical_bytes`
directly from the column values both drivers return (text for SQLite, objects for asyncpg),
with the standard library's C string encoder. Anything it does not recognise returns None,
and the caller takes the slow, exact path (which names what is wrong). A test checks both
paths give identical bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.audit.events import ActorType, Outcome

_text: Any = json.encoder.encode_basestring_ascii
_ACTOR_TYPES = frozenset(item.value for item in ActorType)
_OUTCOMES = frozenset(item.value for item in Outcome)
_HEX = frozenset("0123456789abcdef")
_ZERO = timedelta(0)


def _optional(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return str(_text(value))
    raise TypeError


def _uuid(value: object) -> str:
    if isinstance(value, str):
        # SQLAlchemy stores a UUID on SQLite as 32 lowercase hex digits.
        if len(value) != 32 or not _HEX.issuperset(value):
            raise TypeError
        return f'"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"'
    if isinstance(value, UUID):
        return f'"{value}"'
    raise TypeError


def _at(value: object) -> str:
    if isinstance(value, str):
        # SQLite: "YYYY-MM-DD HH:MM:SS.ffffff", UTC wall time.
        if len(value) != 26 or value[10] != " " or value[19] != ".":
            raise TypeError
        return f'"{value[:10]}T{value[11:]}Z"'
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is not None and offset != _ZERO:
            raise TypeError
        text = value.replace(tzinfo=None).isoformat(timespec="microseconds")
        return f'"{text}Z"'
    raise TypeError


def canonical_from_row(row: Sequence[Any]) -> bytes | None:
    """The event's canonical bytes from its stored columns (in table order: seq, id, at,
    actor_type, ..., prev_hash, hash), or None when a value is not in the form Custodian
    writes (the caller then checks it exactly)."""
    try:
        (
            seq,
            event_id,
            at,
            actor_type,
            actor_id,
            actor_role,
            client_id,
            subject_id,
            action,
            resource_type,
            resource_id,
            fields,
            purpose,
            outcome,
            request_id,
            prev_hash,
        ) = row[:16]
        if actor_type not in _ACTOR_TYPES or outcome not in _OUTCOMES:
            return None
        binary = bytes | memoryview | bytearray
        if not isinstance(prev_hash, binary) or not isinstance(row[16], binary):
            return None
        if not isinstance(action, str) or not isinstance(resource_type, str):
            return None
        names = json.loads(fields)
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            return None
        parts = (
            '{"action":',
            _text(action),
            ',"actor_id":',
            _optional(actor_id),
            ',"actor_role":',
            _optional(actor_role),
            ',"actor_type":',
            _text(actor_type),
            ',"at":',
            _at(at),
            ',"client_id":',
            _optional(client_id),
            ',"fields":[',
            ",".join(_text(name) for name in names),
            '],"id":',
            _uuid(event_id),
            ',"outcome":',
            _text(outcome),
            ',"prev_hash":"',
            bytes(prev_hash).hex(),
            '","purpose":',
            _optional(purpose),
            ',"request_id":',
            _optional(request_id),
            ',"resource_id":',
            _optional(resource_id),
            ',"resource_type":',
            _text(resource_type),
            ',"seq":',
            str(int(seq)),
            ',"subject_id":',
            "null" if subject_id is None else _uuid(subject_id),
            "}",
        )
    except (TypeError, ValueError):
        return None
    return "".join(parts).encode("ascii")
