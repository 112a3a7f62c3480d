"""Response bodies of the analytics routes: aggregates only, never a row or a pseudonym."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from domain.analytics.answers import Answer

CELL_VALUES = (
    "The cell's figures: amounts and ratios as decimal strings, amounts rounded; empty when "
    "the cell is suppressed. A figure is null when there is nothing to compute it from, or "
    "when it is withheld because it derives from fewer than `min_cohort` customers: "
    "`mean_satisfaction` needs that many who gave a rating, `complaint_rate` that many who "
    "complained and that many who had other contacts."
)
FACTS = (
    "Figures of the whole answer (customers/flow: `monthly_churn_rate`, `lifetime_value`). "
    "Null when withheld: both derive from how many customers left and how many stayed, and "
    "are withheld when either is below `min_cohort` (zero included), since the rate would "
    "give that count away."
)


class AnalyticsCell(msgspec.Struct):
    """One cell: its dimension values and, unless suppressed, how many customers it counts
    and its figures (amounts as decimal strings, rounded)."""

    dimensions: dict[str, str]
    suppressed: bool
    customers: int | None
    values: Annotated[dict[str, str | None], msgspec.Meta(description=CELL_VALUES)]


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
    facts: Annotated[dict[str, str | None], msgspec.Meta(description=FACTS)]


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
