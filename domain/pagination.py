"""Opaque keyset cursors for the customer's lists.

A cursor names the last item of the page the client already has, as its sort key
(a time and an id). It is HMAC-signed and bound to the list it came from (the customer and,
for transactions, the account), so a client can neither forge a position nor replay a cursor
on another list; anything else is `InvalidCursor` (a 400). Keyset cursors, unlike offsets,
stay correct while new rows arrive: a page starts strictly after the last key seen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from domain.errors import DomainError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_TAG_BYTES = 16
T = TypeVar("T")


class InvalidCursor(DomainError):
    """The cursor was not issued by this server for this list (malformed or tampered)."""


@dataclass(frozen=True, slots=True)
class Position:
    """The sort key of the last item seen: newest-first lists continue strictly below it."""

    at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next one (None on the last page)."""

    items: list[T]
    next_cursor: str | None


class CursorCodec:
    """Signs and checks cursors with a key of its own (never reused for anything else)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a cursor key needs at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "CursorCodec(<key hidden>)"

    def _tag(self, list_name: str, payload: bytes) -> bytes:
        mac = hmac.new(self._key, list_name.encode() + b"\x00" + payload, hashlib.sha256)
        return mac.digest()[:_TAG_BYTES]

    def encode(self, list_name: str, position: Position) -> str:
        """A URL-safe cursor for `position` that only `decode(list_name, ...)` accepts."""
        payload = json.dumps(
            [position.at.isoformat(), str(position.id)], separators=(",", ":")
        ).encode()
        raw = self._tag(list_name, payload) + payload
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode(self, list_name: str, cursor: str) -> Position:
        """The position a cursor names; InvalidCursor unless it was issued for `list_name`."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise InvalidCursor("the cursor is not valid") from None
        tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
        if len(tag) != _TAG_BYTES or not hmac.compare_digest(tag, self._tag(list_name, payload)):
            raise InvalidCursor("the cursor is not valid")
        try:
            at_text, id_text = json.loads(payload)
            at = datetime.fromisoformat(at_text)
            return Position(at, UUID(id_text))
        except (ValueError, TypeError):  # signed by us, so only a bug gets here
            raise InvalidCursor("the cursor is not valid") from None
