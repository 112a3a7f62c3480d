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


class _Units:
    def __init__(self) -> None:
        self.analytics = _Reader()
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
