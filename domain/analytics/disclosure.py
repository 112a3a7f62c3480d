"""Disclosure control: no published figure lets anyone learn about fewer than k customers.

Primary suppression hides every cell of fewer than k customers (k = the minimum cohort).
Complementary suppression then makes sure the hidden cells cannot be recovered by
subtraction: every margin of the table (any other query that drops one of its dimensions,
and the published population) is the sum of a line of cells, so in each line that hides
anything, at least two cells are hidden and the hidden cells hold at least k customers
together. Subtracting the visible cells from a margin then yields only a sum over k or more
customers, never one cell. Empty cells are not cells: no row exists for them.

A figure derived from counts (a rate, a mean, a lifetime value) is published only when every
count it is derived from holds at least k customers (`counts_disclosable`), zero being a count
too: otherwise it is withheld (null), since whoever knows or derives the other part would
read the small count back from it.

Money is published rounded to MONEY_ROUNDING, so two answers whose populations differ by one
customer (a month apart, say) differ by a multiple of it and do not reveal that customer's
revenue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

DEFAULT_MIN_COHORT = 10
MONEY_ROUNDING = Decimal(100)
"""Revenue totals are published to the nearest 100 (currency units)."""

Key = tuple[Hashable, ...]


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of an aggregate before disclosure control: its key (one value per
    dimension), how many distinct customers it counts, and its sums."""

    key: Key
    customers: int
    sums: dict[str, Decimal] = field(default_factory=dict)


def suppressed_keys(cells: Sequence[Cell], min_cohort: int) -> set[Key]:
    """The keys of the cells to withhold: primary (fewer than `min_cohort` customers) and
    complementary (so that no margin recovers a primary cell; see the module docstring).

    Deterministic: complementary cells are the smallest visible cells of the line, ties
    broken by key, so the same data always gives the same answer (asking twice reveals
    nothing new)."""
    if min_cohort < 1:
        raise ValueError("the minimum cohort is at least 1")
    hidden = {c.key for c in cells if c.customers < min_cohort}
    dimensions = len(cells[0].key) if cells else 0
    changed = bool(hidden)
    while changed:
        changed = False
        for dimension in range(dimensions):
            for line in _lines(cells, dimension):
                changed |= _protect_line(line, hidden, min_cohort)
    return hidden


def _lines(cells: Sequence[Cell], dimension: int) -> list[list[Cell]]:
    """The cells grouped by every key part except `dimension`: the lines summed by the
    margin that drops that dimension."""
    groups: dict[Key, list[Cell]] = defaultdict(list)
    for cell in cells:
        groups[cell.key[:dimension] + cell.key[dimension + 1 :]].append(cell)
    return list(groups.values())


def _protect_line(line: list[Cell], hidden: set[Key], min_cohort: int) -> bool:
    withheld = [c for c in line if c.key in hidden]
    if not withheld:
        return False
    visible = sorted(
        (c for c in line if c.key not in hidden), key=lambda c: (c.customers, repr(c.key))
    )
    changed = False
    while visible and (len(withheld) < 2 or sum(c.customers for c in withheld) < min_cohort):
        cell = visible.pop(0)
        hidden.add(cell.key)
        withheld.append(cell)
        changed = True
    # A line that cannot reach two cells or k customers even fully hidden has a margin
    # below k, which the query publishing that margin suppresses in its turn.
    return changed


def counts_disclosable(min_cohort: int, *counts: int) -> bool:
    """Whether a figure derived from these customer counts may be published: each counts at
    least `min_cohort` customers (see the module docstring)."""
    return all(count >= min_cohort for count in counts)


def round_money(amount: Decimal) -> Decimal:
    """`amount` to the nearest MONEY_ROUNDING (half to even), as published."""
    return (amount / MONEY_ROUNDING).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * MONEY_ROUNDING


def round_mean(total: Decimal, count: int, places: int = 1) -> Decimal | None:
    """`total / count` to `places` decimals, or None for no count."""
    if count <= 0:
        return None
    return (total / count).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
