"""The analyst's queries with fakes for the projection and the audit log: what is
published, what is withheld, and what the audit log is told."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Self

import pytest

from domain.analytics import queries
from domain.analytics.answers import Answer
from domain.analytics.disclosure import Cell
from domain.analytics.queries import Asker
from domain.audit.events import Actor, ActorType, AuditEvent, AuditRecord
from domain.errors import InvalidValue

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


class _Trail:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    async def record(self, record: AuditRecord) -> AuditEvent:
        self.records.append(record)
        return None  # type: ignore[return-value]  # the queries ignore the stored event


class _Reader:
    async def population(self) -> int:
        return 120

    async def segments(self, dimensions: Sequence[str], month: str) -> list[Cell]:
        return [
            Cell(("DE",), 60, {"revenue": Decimal("1234.56")}),
            Cell(("FR",), 55, {"revenue": Decimal(990)}),
            Cell(("MT",), 5, {"revenue": Decimal(400)}),
        ]

    async def churn(self, dimension: str, first: str, last: str) -> list[Cell]:
        return [
            Cell(("gold", "stayed"), 90, {"revenue": Decimal("2749.99")}),
            Cell(("gold", "lost"), 10, {"revenue": Decimal("300")}),
        ]

    async def flow(self, first: str, last: str) -> list[Cell]:
        return [
            Cell(("2026-10", "gained"), 12, {"revenue": Decimal(100)}),
            Cell(("2026-11", "gained"), 3, {"revenue": Decimal(50)}),
        ]


class _SmallCounts(_Reader):
    """Churn of `lost` and `stayed` gold customers; ratings and complaints from few."""

    def __init__(self, lost: int = 10, stayed: int = 113) -> None:
        self.lost, self.stayed = lost, stayed

    async def churn(self, dimension: str, first: str, last: str) -> list[Cell]:
        cells = [Cell(("gold", "stayed"), self.stayed, {"revenue": Decimal(3000)})]
        if self.lost:  # an empty cell is no cell
            cells.append(Cell(("gold", "lost"), self.lost, {"revenue": Decimal(300)}))
        return cells

    async def segments(self, dimensions: Sequence[str], month: str) -> list[Cell]:
        def rated(raters: int) -> dict[str, Decimal]:
            return {
                "revenue": Decimal(1000),
                "satisfaction_sum": Decimal(4 * raters),
                "satisfaction_n": Decimal(raters),
                "satisfaction_raters": Decimal(raters),
            }

        return [Cell(("DE",), 60, rated(9)), Cell(("FR",), 55, rated(10))]

    async def experience(self, dimension: str, first: str, last: str) -> list[Cell]:
        def contacts(complaints: int, complainers: int, others: int) -> dict[str, Decimal]:
            return {
                "contacts": Decimal(60),
                "complaints": Decimal(complaints),
                "complainers": Decimal(complainers),
                "other_contacters": Decimal(others),
            }

        return [
            Cell(("phone", "gold"), 30, contacts(12, 9, 30)),  # 9 complained
            Cell(("email", "gold"), 30, contacts(12, 12, 25)),
            Cell(("chat", "gold"), 30, contacts(60, 30, 0)),  # nothing but complaints
        ]

    async def contact_pressure(self, first: str, last: str) -> list[Cell]:
        return []


class _Units:
    def __init__(self, reader: _Reader | None = None) -> None:
        self.analytics = reader or _Reader()
        self.audit_trail = _Trail()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


ASKER = Asker(Actor(ActorType.STAFF, "analyst-1", "console", "analyst"), 10, "req-1")


async def test_segments_withhold_the_small_cell_and_its_partner_and_audit_the_counts() -> None:
    units = _Units()
    answer = await queries.segments(units, _Clock(), ASKER, ["country"], "2026-11")  # type: ignore[arg-type]
    cells = {c.dimensions["country"]: c for c in answer.tables[0].cells}
    assert cells["MT"].suppressed
    assert cells["FR"].suppressed  # the smallest other cell: total minus DE is two cells
    assert cells["DE"].customers == 60
    assert cells["DE"].values["revenue"] == "1200"  # rounded to 100
    assert (answer.consenting_customers, answer.as_of, answer.suppressed_cells) == (120, NOW, 2)
    [record] = units.audit_trail.records
    assert record.subject_id is None
    assert record.action == "analytics.query"
    assert record.resource_id == "segments?by=country&period=2026-11"
    assert record.fields == ("cells=3", "suppressed=2")


async def test_flow_publishes_totals_and_a_lifetime_value_from_rounded_revenue() -> None:
    units = _Units()
    answer = await queries.customer_flow(
        units,  # type: ignore[arg-type]
        _Clock(),
        ASKER,
        "2025-12",
        "2026-11",
        by="tier",
    )
    totals, monthly, churn = answer.tables
    assert [c.customers for c in totals.cells] == [15]
    assert all(c.suppressed for c in monthly.cells)  # 3 gained in November, 12 beside it
    assert churn.suppressed == 0
    # 10 lost of 100 over the 12 months; revenue 3,049.99 is published as 3,000: mean
    # 30.00, times the expected tenure of 1 / (10 / 1,200) = 120 months
    assert answer.facts["monthly_churn_rate"] == "0.0083"
    assert answer.facts["lifetime_value"] == "3600.00"


async def _flow(reader: _Reader, first: str = "2026-09", last: str = "2026-09") -> Answer:
    return await queries.customer_flow(
        _Units(reader),  # type: ignore[arg-type]
        _Clock(),
        ASKER,
        first,
        last,
        by="tier",
    )


async def test_facts_of_k_leavers_and_k_stayers_are_published() -> None:
    answer = await _flow(_SmallCounts(lost=10, stayed=113))
    assert answer.facts["monthly_churn_rate"] == "0.0813"  # 10 of 123 in one month
    assert answer.facts["lifetime_value"] is not None


@pytest.mark.parametrize(
    ("lost", "stayed"),
    [(3, 120), (0, 123), (120, 3)],
    ids=["3 left", "nobody left", "3 stayed"],
)
async def test_facts_from_fewer_than_k_leavers_or_stayers_are_withheld(
    lost: int, stayed: int
) -> None:
    # 3 / 123 = 0.0244 would give away the 3 the churn table withholds; 0.0000 the zero.
    answer = await _flow(_SmallCounts(lost=lost, stayed=stayed))
    assert answer.facts == {"monthly_churn_rate": None, "lifetime_value": None}


async def test_a_mean_satisfaction_of_fewer_than_k_raters_is_withheld() -> None:
    units = _Units(_SmallCounts())
    answer = await queries.segments(units, _Clock(), ASKER, ["country"], "2026-11")  # type: ignore[arg-type]
    cells = {c.dimensions["country"]: c for c in answer.tables[0].cells}
    assert cells["DE"].customers == 60  # the cell is big enough, its 9 raters are not
    assert cells["DE"].values["mean_satisfaction"] is None
    assert cells["DE"].values["revenue"] == "1000"
    assert cells["FR"].values["mean_satisfaction"] == "4.0"


async def test_a_complaint_rate_with_fewer_than_k_on_either_side_is_withheld() -> None:
    answer = await queries.experience(
        _Units(_SmallCounts()),  # type: ignore[arg-type]
        _Clock(),
        ASKER,
        "2026-09",
        "2026-11",
        by="tier",
    )
    rates = {
        c.dimensions["contact_channel"]: c.values["complaint_rate"] for c in answer.tables[0].cells
    }
    # 9 complained on the phone; on chat nobody had another contact (1.0000 would say so).
    assert rates == {"phone": None, "email": "0.2000", "chat": None}
    assert all(c.values["contacts_per_customer"] == "2.0000" for c in answer.tables[0].cells)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [("2026-05", "2026-01", "to"), ("2020-01", "2026-01", "to"), ("2026-1", "2026-02", "from")],
)
def test_bad_spans_name_the_field(first: str, last: str, field: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        queries.parse_span(first, last)
    assert raised.value.field == field


def test_dimensions_are_checked_and_repeats_count_once() -> None:
    assert queries.parse_dimensions("country,tier,country") == ["country", "tier"]
    with pytest.raises(InvalidValue):
        queries.parse_dimensions("surname")
    with pytest.raises(InvalidValue):
        queries.parse_dimensions("country,tier,channel,products")
    with pytest.raises(InvalidValue):
        queries.parse_dimension("country,tier", "tier")
