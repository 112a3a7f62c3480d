"""The time, as the domain asks for it: one port and its one implementation.

Use cases and adapters receive a `Clock` from the composition root; tests pass one they
control. Nothing else reads the wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


# Checkable at run time: the web framework checks each injected dependency's type.
@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """`Clock` on the system clock, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)
