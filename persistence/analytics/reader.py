"""The projection's read side: GROUP BY over monthly facts, one row per cell.

Only the current generation is read, so a rotation in progress is invisible. Cells count
distinct members; disclosure control is applied by the domain afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Executable, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.analytics.disclosure import Cell
from persistence.analytics.projection import STATE_ID
from persistence.analytics.tables import (
    AnalyticsContactRow,
    AnalyticsMemberRow,
    AnalyticsMonthRow,
    AnalyticsStateRow,
)

M = AnalyticsMemberRow
F = AnalyticsMonthRow
C = AnalyticsContactRow
_MEMBER_DIMENSIONS = {
    "age_band": M.age_band,
    "country": M.country,
    "channel": M.channel,
    "tenure_band": M.tenure_band,
    "products": M.products,
    "referred": M.referred,
}
_FACT_DIMENSIONS = {"tier": F.tier, "balance_band": F.balance_band}


def _dimension(name: str, facts: Any = F) -> Any:
    if name in _FACT_DIMENSIONS:
        return getattr(facts, name)
    return _MEMBER_DIMENSIONS[name]


def _label(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _cells(rows: Sequence[Any], width: int, sums: Sequence[str]) -> list[Cell]:
    return [
        Cell(
            tuple(_label(v) for v in row[:width]),
            int(row[width]),
            {name: Decimal(row[width + 1 + i] or 0) for i, name in enumerate(sums)},
        )
        for row in rows
    ]


class SqlAnalyticsReader:
    """domain.analytics.reader.AnalyticsReader over the session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._generation: int | None = None

    async def _current(self) -> int:
        if self._generation is None:
            self._generation = await self._session.scalar(
                select(AnalyticsStateRow.generation).where(AnalyticsStateRow.id == STATE_ID)
            )
        return self._generation or 0

    async def _rows(self, query: Executable) -> list[Any]:
        return list((await self._session.execute(query)).all())

    async def population(self) -> int:
        """How many customers the projection holds."""
        generation = await self._current()
        count = await self._session.scalar(
            select(func.count()).select_from(M).where(M.generation == generation)
        )
        return int(count or 0)

    async def segments(self, dimensions: Sequence[str], month: str) -> list[Cell]:
        """Members with facts in `month`, by the dimensions, with how many of them gave a
        satisfaction rating that month."""
        generation = await self._current()
        satisfaction = (
            select(
                C.pseudonym,
                func.sum(C.satisfaction_sum).label("s"),
                func.sum(C.satisfaction_n).label("n"),
            )
            .where(C.month == month)
            .group_by(C.pseudonym)
            .subquery()
        )
        keys = [_dimension(d) for d in dimensions]
        query = (
            select(
                *keys,
                func.count(),
                func.sum(F.revenue),
                func.sum(satisfaction.c.s),
                func.sum(satisfaction.c.n),
                func.count(case((satisfaction.c.n > 0, 1))),
            )
            .select_from(F)
            .join(M, M.pseudonym == F.pseudonym)
            .outerjoin(satisfaction, satisfaction.c.pseudonym == F.pseudonym)
            .where(F.month == month, M.generation == generation)
            .group_by(*keys)
        )
        return _cells(
            await self._rows(query),
            len(keys),
            ("revenue", "satisfaction_sum", "satisfaction_n", "satisfaction_raters"),
        )

    async def tier_movement(self, first: str, last: str) -> list[Cell]:
        """Members with facts in both months, by (tier then, tier now)."""
        generation = await self._current()
        before, after = aliased(F), aliased(F)
        query = (
            select(
                before.tier,
                after.tier,
                func.count(),
                func.sum(before.revenue),
                func.sum(after.revenue),
            )
            .select_from(before)
            .join(after, and_(after.pseudonym == before.pseudonym, after.month == last))
            .join(M, M.pseudonym == before.pseudonym)
            .where(before.month == first, M.generation == generation)
            .group_by(before.tier, after.tier)
        )
        return _cells(await self._rows(query), 2, ("revenue_from", "revenue_to"))

    async def flow(self, first: str, last: str) -> list[Cell]:
        """Members gained and lost per month, with their revenue that month."""
        generation = await self._current()
        cells: list[Cell] = []
        for label, column in (("gained", M.joined_month), ("lost", M.left_month)):
            query = (
                select(column, literal(label), func.count(), func.sum(F.revenue))
                .select_from(M)
                .outerjoin(F, and_(F.pseudonym == M.pseudonym, F.month == column))
                .where(M.generation == generation, column >= first, column <= last)
                .group_by(column)
            )
            cells.extend(_cells(await self._rows(query), 2, ("revenue",)))
        return cells

    async def churn(self, dimension: str, first: str, last: str) -> list[Cell]:
        """Members active in `first`, by segment and whether they left by `last`."""
        generation = await self._current()
        outcome = case(
            (and_(M.left_month.is_not(None), M.left_month <= last), "lost"), else_="stayed"
        )
        key = _dimension(dimension)
        query = (
            select(key, outcome, func.count(), func.sum(F.revenue))
            .select_from(F)
            .join(M, M.pseudonym == F.pseudonym)
            .where(F.month == first, M.generation == generation)
            .group_by(key, outcome)
        )
        return _cells(await self._rows(query), 2, ("revenue",))

    async def referrals(self, month: str) -> list[Cell]:
        """Members with facts in `month`, by whether referred and whether referrers."""
        generation = await self._current()
        referrer = case((M.referrals_made > 0, "yes"), else_="no")
        query = (
            select(M.referred, referrer, func.count(), func.sum(F.revenue))
            .select_from(F)
            .join(M, M.pseudonym == F.pseudonym)
            .where(F.month == month, M.generation == generation)
            .group_by(M.referred, referrer)
        )
        return _cells(await self._rows(query), 2, ("revenue",))

    async def experience(self, dimension: str, first: str, last: str) -> list[Cell]:
        """Contacts by channel and segment over the months, with how many distinct members
        gave a rating, complained, and had other contacts (what the means and rates are
        over)."""
        generation = await self._current()
        key = getattr(C, dimension) if dimension in _FACT_DIMENSIONS else _dimension(dimension)
        query = (
            select(
                C.channel,
                key,
                func.count(func.distinct(C.pseudonym)),
                func.sum(C.contacts),
                func.sum(C.complaints),
                func.sum(C.satisfaction_sum),
                func.sum(C.satisfaction_n),
                func.count(func.distinct(case((C.satisfaction_n > 0, C.pseudonym)))),
                func.count(func.distinct(case((C.complaints > 0, C.pseudonym)))),
                func.count(func.distinct(case((C.contacts > C.complaints, C.pseudonym)))),
            )
            .select_from(C)
            .join(M, M.pseudonym == C.pseudonym)
            .where(C.month >= first, C.month <= last, M.generation == generation)
            .group_by(C.channel, key)
        )
        return _cells(
            await self._rows(query),
            2,
            (
                "contacts",
                "complaints",
                "satisfaction_sum",
                "satisfaction_n",
                "satisfaction_raters",
                "complainers",
                "other_contacters",
            ),
        )

    async def contact_pressure(self, first: str, last: str) -> list[Cell]:
        """Members by marketing contacts per month (band) and whether they left; banded in
        the database, so ten thousand members come back as a handful of rows."""
        generation = await self._current()
        per_member = (
            select(
                func.sum(F.marketing_contacts).label("contacts"),
                func.count().label("months"),
                M.left_month.label("left_month"),
            )
            .select_from(F)
            .join(M, M.pseudonym == F.pseudonym)
            .where(F.month >= first, F.month <= last, M.generation == generation)
            .group_by(M.pseudonym, M.left_month)
            .subquery()
        )
        contacts, months = per_member.c.contacts, per_member.c.months
        # Integer comparisons: contacts / months < 0.5 is 2 x contacts < months.
        band = case(
            (contacts == 0, "0"),
            (contacts * 2 < months, "<0.5"),
            (contacts < months, "0.5-1"),
            else_="1+",
        )
        left = per_member.c.left_month
        outcome = case(
            (and_(left.is_not(None), left >= first, left <= last), "lost"), else_="stayed"
        )
        query = select(band, outcome, func.count()).group_by(band, outcome)
        return _cells(await self._rows(query), 2, ())
