"""Response bodies of the analytics routes: aggregates only, never a row or a pseudonym."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from domain.analytics.answers import Answer


class AnalyticsCell(msgspec.Struct):
    """One cell: its dimension values and, unless suppressed, how many customers it counts
    and its figures (amounts as decimal strings, rounded)."""

    dimensions: dict[str, str]
    suppressed: bool
    customers: int | None
    values: dict[str, str | None]


class AnalyticsTable(msgspec.Struct):
    """A table of cells under disclosure control."""

    name: str
    suppressed_cells: int
    cells: list[AnalyticsCell]


class AnalyticsAnswer(msgspec.Struct):
    """An answer: the question, its population, when, and what was withheld."""

    query: str
    consenting_customers: int
    as_of: datetime
    min_cohort: int
    cells: int
    suppressed_cells: int
    tables: list[AnalyticsTable]
    facts: dict[str, str | None]


def answer_out(answer: Answer) -> AnalyticsAnswer:
    """The response body of an answer."""
    return AnalyticsAnswer(
        query=answer.query,
        consenting_customers=answer.consenting_customers,
        as_of=answer.as_of.astimezone(UTC),
        min_cohort=answer.min_cohort,
        cells=answer.cells,
        suppressed_cells=answer.suppressed_cells,
        tables=[
            AnalyticsTable(
                name=table.name,
                suppressed_cells=table.suppressed,
                cells=[
                    AnalyticsCell(c.dimensions, c.suppressed, c.customers, c.values)
                    for c in table.cells
                ],
            )
            for table in answer.tables
        ],
        facts=answer.facts,
    )
