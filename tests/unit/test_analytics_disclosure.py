"""Disclosure control against the attacks an analyst could mount with the published answers:
total minus the other cells, two queries differing by one dimension, two periods differing
by one customer. Each attack recovers nothing about a cell of fewer than k customers."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from domain.analytics.answers import Table, publish
from domain.analytics.disclosure import Cell, round_money, suppressed_keys

K = 10


def _cells(counts: Mapping[Any, int]) -> list[Cell]:
    return [Cell(key, n, {"revenue": Decimal(n * 20)}) for key, n in counts.items()]


def _visible(table: Table) -> dict[tuple[str, ...], int]:
    return {
        tuple(c.dimensions.values()): c.customers for c in table.cells if c.customers is not None
    }


def test_a_small_cell_is_withheld_with_every_figure() -> None:
    table = publish("t", ("country",), _cells({("DE",): 50, ("FR",): 30, ("MT",): 3}), K)
    withheld = [c for c in table.cells if c.suppressed]
    assert {c.dimensions["country"] for c in withheld} == {"MT", "FR"}
    assert all(c.values == {} for c in withheld)
    assert table.suppressed == 2


def test_total_minus_the_other_cells_recovers_only_a_sum_of_k_or_more() -> None:
    counts = {("DE",): 50, ("FR",): 30, ("IT",): 12, ("MT",): 3}
    total = sum(counts.values())  # the published population of the table
    table = publish("t", ("country",), _cells(counts), K)
    visible = _visible(table)
    remainder = total - sum(visible.values())
    hidden = [key for key in counts if key not in visible]
    assert ("MT",) in hidden
    assert len(hidden) >= 2
    assert remainder >= K
    # Every split of the remainder over the hidden cells fits what was published, so the
    # small cell could hold anything from 1 to remainder - 1.
    assert remainder - 1 > K


def test_a_small_cell_cannot_be_the_only_hidden_one_even_when_tiny() -> None:
    counts = {("a",): 100, ("b",): 1, ("c",): 1}
    # Two primary cells hold two customers together: a third cell must join them.
    assert suppressed_keys(_cells(counts), K) == {("a",), ("b",), ("c",)}


def _feasible_values(
    counts: dict[tuple[str, str], int], table: Table, target: tuple[str, str]
) -> set[int]:
    """Brute-force attacker: every value of `target` consistent with the published cells of
    the two-dimensional table and with both one-dimensional margins (other queries)."""
    visible = _visible(table)
    hidden = [key for key in counts if key not in visible]
    rows = {r for r, _ in counts}
    cols = {c for _, c in counts}
    row_margin = {r: sum(n for (rr, _), n in counts.items() if rr == r) for r in rows}
    col_margin = {c: sum(n for (_, cc), n in counts.items() if cc == c) for c in cols}
    bound = max(row_margin.values())
    values: set[int] = set()
    for guess in itertools.product(range(1, bound + 1), repeat=len(hidden)):
        full = visible | dict(zip(hidden, guess, strict=True))
        if all(
            sum(n for (rr, _), n in full.items() if rr == r) == row_margin[r] for r in rows
        ) and all(sum(n for (_, cc), n in full.items() if cc == c) == col_margin[c] for c in cols):
            values.add(full[target])
    return values


def test_two_queries_differing_by_one_dimension_do_not_pin_a_small_cell() -> None:
    # Segments by country alone give the row margins; by country and channel the cells.
    k = 4  # small numbers keep the brute force quick; the rule is the same for any k
    counts = {
        ("DE", "web"): 9,
        ("DE", "branch"): 7,
        ("DE", "referral"): 1,
        ("FR", "web"): 8,
        ("FR", "branch"): 6,
        ("FR", "referral"): 5,
    }
    margins = publish(
        "by-country", ("country",), [Cell((c,), n) for c, n in {"DE": 17, "FR": 19}.items()], k
    )
    assert not any(c.suppressed for c in margins.cells)  # both margins are published
    table = publish("by-country-channel", ("country", "channel"), _cells(counts), k)
    assert table.suppressed >= 4  # the small cell, its row partner and their column partners
    feasible = _feasible_values(counts, table, ("DE", "referral"))
    assert 1 in feasible
    assert len(feasible) > 1  # the attacker cannot tell the true value from others


@pytest.mark.parametrize("before", [Decimal("1000.00"), Decimal("1030.00"), Decimal("987.65")])
def test_two_periods_differing_by_one_customer_do_not_reveal_their_revenue(
    before: Decimal,
) -> None:
    newcomer = Decimal("37.45")  # a gold customer joins the cell in the second month
    published = (round_money(before), round_money(before + newcomer))
    # The same two answers fit a bronze newcomer (1.00) and a platinum one (45.00): some
    # revenue of the others in the first month explains each.
    for candidate in (Decimal("1.00"), Decimal("45.00")):
        assert any(
            (round_money(other), round_money(other + candidate)) == published
            for other in (published[0] + Decimal(cents) / 100 for cents in range(-5000, 5000))
        )


def test_suppression_is_deterministic_and_needs_a_positive_cohort() -> None:
    cells = _cells({("a", "x"): 3, ("a", "y"): 12, ("b", "x"): 15, ("b", "y"): 11})
    assert suppressed_keys(cells, K) == suppressed_keys(list(reversed(cells)), K)
    assert suppressed_keys([], K) == set()
    with pytest.raises(ValueError, match="at least 1"):
        suppressed_keys(cells, 0)
