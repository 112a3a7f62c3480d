"""Opaque keyset cursors for the customer's lists.

A cursor names the last item of the page the client already has, as its sort key
(a time and an id). It is HMAC-signed and bound to the list it came from (the customer and,
for transactions, the account) and to the filters that list was read with (`filtered_list`),
so a client can neither forge a position nor replay a cursor on another list or another
search; anything else is `InvalidCursor` (a 400). Keyset cursors, unlike offsets,
stay correct while new rows arrive: a page starts strictly after the last key seen.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from domain.errors import DomainError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_SEQ = 2**63 - 1
"""The largest sequence number a cursor may name (a signed 64-bit column)."""
_TAG_BYTES = 16
T = TypeVar("T")
K = TypeVar("K")


class InvalidCursor(DomainError):
    """The cursor was not issued by this server for this list (malformed or tampered)."""


@dataclass(frozen=True, slots=True)
class Position:
    """The sort key of the last item seen: newest-first lists continue strictly below it."""

    at: datetime
    id: UUID


def key_of(position: Position | None) -> tuple[datetime, UUID] | None:
    """The (time, id) key a repository continues below, or None from the start."""
    return None if position is None else (position.at, position.id)


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
        return hmac.digest(self._key, list_name.encode() + b"\x00" + payload, "sha256")[:_TAG_BYTES]

    def _sign(self, list_name: str, payload: str) -> str:
        """A cursor carrying `payload`, the JSON array of its sort key."""
        data = payload.encode()
        raw = self._tag(list_name, data) + data
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def _open(self, list_name: str, cursor: str) -> list[str | int]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise InvalidCursor("the cursor is not valid") from None
        tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
        if len(tag) != _TAG_BYTES or not hmac.compare_digest(tag, self._tag(list_name, payload)):
            raise InvalidCursor("the cursor is not valid")
        key = json.loads(payload)
        if not isinstance(key, list):  # signed by us, so only a bug gets here
            raise InvalidCursor("the cursor is not valid")
        return key

    def encode(self, list_name: str, position: Position) -> str:
        """A URL-safe cursor for `position` that only `decode(list_name, ...)` accepts."""
        # An ISO time and a UUID hold nothing JSON escapes: written as they are, a page's
        # cursor costs a third of what `json.dumps` made of it.
        return self._sign(list_name, f'["{position.at.isoformat()}","{position.id}"]')

    def decode(self, list_name: str, cursor: str) -> Position:
        """The position a cursor names; InvalidCursor unless it was issued for `list_name`."""
        try:
            at_text, id_text = self._open(list_name, cursor)
            return Position(datetime.fromisoformat(str(at_text)), UUID(str(id_text)))
        except (ValueError, TypeError):  # signed by us, so only a bug gets here
            raise InvalidCursor("the cursor is not valid") from None

    def encode_seq(self, list_name: str, seq: int) -> str:
        """A cursor continuing below sequence number `seq` (lists in log order)."""
        return self._sign(list_name, f"[{int(seq)}]")

    def decode_seq(self, list_name: str, cursor: str) -> int:
        """The sequence number a cursor names; InvalidCursor unless it was issued for
        `list_name` and names a number from 1 to MAX_SEQ."""
        key = self._open(list_name, cursor)
        if len(key) != 1 or not isinstance(key[0], int) or not 1 <= key[0] <= MAX_SEQ:
            raise InvalidCursor("the cursor is not valid")
        return key[0]


def filtered_list(list_name: str, filters: object) -> str:
    """The name a filtered list's cursors are bound to: the list and the filters it was read
    with (a frozen dataclass of plain values, whose repr names every field).

    A position only means "continue this search": under other filters (or none) it would
    start a different list part-way through, so such a cursor is refused like a forged one.
    """
    return f"{list_name}:{filters!r}"


@dataclass(frozen=True, slots=True)
class Keyset(Generic[K, T]):
    """How one list's cursors read and write: the sort key a cursor names, and the cursor
    continuing after an item."""

    decode: Callable[[str], K]
    encode: Callable[[T], str]

    @staticmethod
    def by_position(
        codec: CursorCodec, list_name: str, key: Callable[[T], Position]
    ) -> Keyset[Position, T]:
        """A list ordered by (time, id), newest first."""
        return Keyset(
            lambda cursor: codec.decode(list_name, cursor),
            lambda item: codec.encode(list_name, key(item)),
        )

    @staticmethod
    def by_seq(codec: CursorCodec, list_name: str, seq: Callable[[T], int]) -> Keyset[int, T]:
        """A list ordered by sequence number, newest first."""
        return Keyset(
            lambda cursor: codec.decode_seq(list_name, cursor),
            lambda item: codec.encode_seq(list_name, seq(item)),
        )


async def read_page(
    keyset: Keyset[K, T],
    cursor: str | None,
    limit: int,
    fetch: Callable[[K | None, int], Awaitable[Sequence[T]]],
) -> Page[T]:
    """One page of a keyset list: the cursor decoded (InvalidCursor when it is not this
    list's), `limit + 1` rows fetched after it, the extra row saying only whether there is
    another page."""
    after = None if cursor is None else keyset.decode(cursor)
    rows = list(await fetch(after, limit + 1))
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, keyset.encode(items[-1]) if more and items else None)
