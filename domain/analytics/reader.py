"""The read side of the projection: aggregates by cell, never a row or a pseudonym."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.analytics.disclosure import Cell

SEGMENT_DIMENSIONS: tuple[str, ...] = (
    "age_band",
    "country",
    "channel",
    "tenure_band",
    "products",
    "tier",
    "balance_band",
    "referred",
)
"""What segments may be cut by: coarse member attributes and monthly bands."""


class AnalyticsReader(Protocol):
    """Aggregates over the projection. `customers` of a cell counts distinct members."""

    async def population(self) -> int:
        """How many customers the projection holds (the consenting population)."""
        ...

    async def segments(self, dimensions: Sequence[str], month: str) -> list[Cell]:
        """Members with facts in `month`, by the dimensions; sums `revenue`,
        `satisfaction_sum`, `satisfaction_n`, and `satisfaction_raters` (members who gave a
        rating)."""
        ...

    async def tier_movement(self, first: str, last: str) -> list[Cell]:
        """Members with facts in both months, by (tier in `first`, tier in `last`); sums
        `revenue_from`, `revenue_to`."""
        ...

    async def flow(self, first: str, last: str) -> list[Cell]:
        """By (month, `gained` | `lost`) for months in [first, last]: members who joined or
        left that month; sums `revenue` (their revenue in that month)."""
        ...

    async def churn(self, dimension: str, first: str, last: str) -> list[Cell]:
        """By (segment value, `lost` | `stayed`): members active in `first` and whether
        they left by `last`; sums `revenue` (in `first`)."""
        ...

    async def referrals(self, month: str) -> list[Cell]:
        """By (`referred` | `not_referred`, `referrer` | `not_referrer`), members with facts
        in `month`; sums `revenue`."""
        ...

    async def experience(self, dimension: str, first: str, last: str) -> list[Cell]:
        """By (contact channel, segment value) over [first, last]: members contacted; sums
        `contacts`, `complaints`, `satisfaction_sum`, `satisfaction_n`, and the members who
        gave a rating (`satisfaction_raters`), who complained (`complainers`) and who had
        contacts other than complaints (`other_contacters`)."""
        ...

    async def contact_pressure(self, first: str, last: str) -> list[Cell]:
        """By (marketing contacts per month band, `lost` | `stayed`) over [first, last]."""
        ...
