"""What an analytics query answers: published cells, its population, what was withheld."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.analytics.disclosure import (
    Cell,
    counts_disclosable,
    round_mean,
    round_money,
    suppressed_keys,
)


@dataclass(frozen=True, slots=True)
class PublishedCell:
    """One cell as published: its dimension values and, unless suppressed, its figures."""

    dimensions: dict[str, str]
    customers: int | None
    values: dict[str, str | None]

    @property
    def suppressed(self) -> bool:
        """Whether the cell's figures are withheld."""
        return self.customers is None


@dataclass(frozen=True, slots=True)
class Table:
    """A named table of an answer."""

    name: str
    cells: list[PublishedCell]

    @property
    def suppressed(self) -> int:
        """How many of its cells are withheld."""
        return sum(1 for c in self.cells if c.suppressed)


@dataclass(frozen=True, slots=True)
class Answer:
    """An analytics answer: aggregates only, with its population and as-of time."""

    query: str
    consenting_customers: int
    as_of: datetime
    min_cohort: int
    tables: list[Table]
    facts: dict[str, str | None]

    @property
    def cells(self) -> int:
        """Cells in every table."""
        return sum(len(t.cells) for t in self.tables)

    @property
    def suppressed_cells(self) -> int:
        """Withheld cells in every table."""
        return sum(t.suppressed for t in self.tables)


Values = Callable[[Cell], dict[str, str | None]]


def money_values(cell: Cell) -> dict[str, str | None]:
    """Revenue total (rounded) and mean per customer, from the `revenue` sum."""
    total = round_money(cell.sums.get("revenue", Decimal(0)))
    mean = round_mean(total, cell.customers, 2)
    return {"revenue": str(total), "mean_revenue": None if mean is None else str(mean)}


def satisfaction_values(cell: Cell, min_cohort: int) -> dict[str, str | None]:
    """Mean satisfaction (one decimal) from `satisfaction_sum` over `satisfaction_n`, withheld
    unless `satisfaction_raters` (customers who gave a rating) reach `min_cohort`: the cell
    counts enough customers, but the mean is over the raters only."""
    raters = int(cell.sums.get("satisfaction_raters", Decimal(0)))
    n = int(cell.sums.get("satisfaction_n", Decimal(0)))
    mean = round_mean(cell.sums.get("satisfaction_sum", Decimal(0)), n)
    if mean is None or not counts_disclosable(min_cohort, raters):
        return {"mean_satisfaction": None}
    return {"mean_satisfaction": str(mean)}


def publish(
    name: str,
    dimensions: Sequence[str],
    cells: Sequence[Cell],
    min_cohort: int,
    values: Sequence[Values] = (money_values,),
) -> Table:
    """The table with disclosure control applied: withheld cells keep their dimension
    values but lose every figure. Cells are sorted by key."""
    hidden = suppressed_keys(cells, min_cohort)
    published = []
    for cell in sorted(cells, key=lambda c: tuple(str(part) for part in c.key)):
        labels = {d: str(v) for d, v in zip(dimensions, cell.key, strict=True)}
        if cell.key in hidden:
            published.append(PublishedCell(labels, None, {}))
            continue
        figures: dict[str, str | None] = {}
        for value in values:
            figures.update(value(cell))
        published.append(PublishedCell(labels, cell.customers, figures))
    return Table(name, published)


def rate(numerator: int, denominator: int) -> str | None:
    """A ratio to four decimals, or None for an empty denominator."""
    if denominator <= 0:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001")))
