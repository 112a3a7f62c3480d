"""The analyst's questions, each answered with aggregates under disclosure control and
audited (who asked what, how many cells were returned and withheld; never a subject)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from types import TracebackType
from typing import Protocol, Self

from domain.analytics.answers import (
    Answer,
    Table,
    money_values,
    publish,
    rate,
    satisfaction_values,
)
from domain.analytics.attributes import months_between, months_in
from domain.analytics.disclosure import Cell, counts_disclosable, round_money
from domain.analytics.reader import SEGMENT_DIMENSIONS, AnalyticsReader
from domain.analytics.value import lifetime_value
from domain.audit.events import Actor, AuditRecord
from domain.clock import Clock
from domain.errors import InvalidValue
from domain.ports import DurableAuditLog

_MONTH = re.compile(r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$")
MAX_DIMENSIONS = 3
MAX_SPAN_MONTHS = 36


class AnalyticsUnitOfWork(Protocol):
    """What the analytics queries need: the reader, in a read-only transaction."""

    @property
    def analytics(self) -> AnalyticsReader: ...

    @property
    def audit_trail(self) -> DurableAuditLog: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks, for the audit log, and under which disclosure settings."""

    actor: Actor
    min_cohort: int
    request_id: str | None = None


def parse_month(field: str, text: str | None) -> str:
    """A `YYYY-MM` month; InvalidValue naming `field` otherwise."""
    if text is None or not _MONTH.match(text):
        raise InvalidValue(field, "a month as YYYY-MM is required")
    return text


def parse_span(first: str | None, last: str | None) -> tuple[str, str]:
    """Two months, in order, at most MAX_SPAN_MONTHS apart; InvalidValue otherwise."""
    start, end = parse_month("from", first), parse_month("to", last)
    span = months_between(start, end)
    if span < 0:
        raise InvalidValue("to", "must not be before from")
    if span > MAX_SPAN_MONTHS:
        raise InvalidValue("to", f"at most {MAX_SPAN_MONTHS} months after from")
    return start, end


def parse_dimensions(text: str | None) -> list[str]:
    """One to MAX_DIMENSIONS segment dimensions, comma-separated (repeats counted once)."""
    if not text:
        raise InvalidValue("by", "one or more of: " + ", ".join(SEGMENT_DIMENSIONS))
    names = [part.strip() for part in text.split(",")]
    unknown = [n for n in names if n not in SEGMENT_DIMENSIONS]
    if unknown:
        raise InvalidValue("by", "unknown dimension; use: " + ", ".join(SEGMENT_DIMENSIONS))
    distinct = list(dict.fromkeys(names))  # a repeated dimension adds nothing: once
    if len(distinct) > MAX_DIMENSIONS:
        raise InvalidValue("by", f"one to {MAX_DIMENSIONS} distinct dimensions")
    return distinct


def parse_dimension(text: str | None, default: str) -> str:
    """Exactly one segment dimension (`default` when none is given)."""
    names = parse_dimensions(text or default)
    if len(names) != 1:
        raise InvalidValue("segment", "exactly one dimension")
    return names[0]


async def _answer(
    uow: AnalyticsUnitOfWork,
    clock: Clock,
    asker: Asker,
    query: str,
    tables: list[Table],
    *,
    population: int,
    facts: dict[str, str | None] | None = None,
) -> Answer:
    answer = Answer(query, population, clock.now(), asker.min_cohort, tables, facts or {})
    # Durable before the answer leaves: who asked which question and how much was
    # withheld; no subject, since an aggregate is about no one customer.
    await uow.audit_trail.record(
        AuditRecord(
            asker.actor,
            "analytics.query",
            "analytics",
            resource_id=query[:200],
            fields=(f"cells={answer.cells}", f"suppressed={answer.suppressed_cells}"),
            purpose="analytics",
            request_id=asker.request_id,
        )
    )
    return answer


async def segments(
    units: AnalyticsUnitOfWork, clock: Clock, asker: Asker, by: Sequence[str], month: str
) -> Answer:
    """Customers, revenue and mean satisfaction per cell of the chosen dimensions."""
    async with units as uow:
        cells = await uow.analytics.segments(by, month)
        population = await uow.analytics.population()
    satisfaction = partial(satisfaction_values, min_cohort=asker.min_cohort)
    table = publish("segments", by, cells, asker.min_cohort, (money_values, satisfaction))
    query = f"segments?by={','.join(by)}&period={month}"
    return await _answer(units, clock, asker, query, [table], population=population)


async def tier_movement(
    units: AnalyticsUnitOfWork, clock: Clock, asker: Asker, first: str, last: str
) -> Answer:
    """The transition matrix between value tiers from `first` to `last`: customers and
    revenue change per (from tier, to tier)."""
    async with units as uow:
        cells = await uow.analytics.tier_movement(first, last)
        population = await uow.analytics.population()
    table = publish("movement", ("from_tier", "to_tier"), cells, asker.min_cohort, (_change,))
    return await _answer(
        units,
        clock,
        asker,
        f"tiers/movement?from={first}&to={last}",
        [table],
        population=population,
    )


def _change(cell: Cell) -> dict[str, str | None]:
    change = cell.sums.get("revenue_to", Decimal(0)) - cell.sums.get("revenue_from", Decimal(0))
    published = money_values(Cell(cell.key, cell.customers, {"revenue": change}))
    return {
        "revenue_change": published["revenue"],
        "mean_revenue_change": published["mean_revenue"],
    }


async def customer_flow(
    units: AnalyticsUnitOfWork, clock: Clock, asker: Asker, first: str, last: str, *, by: str
) -> Answer:
    """Customers gained and lost per month with their estimated value, churn by segment
    and a lifetime value from the observed churn."""
    async with units as uow:
        flow = await uow.analytics.flow(first, last)
        churn = await uow.analytics.churn(by, first, last)
        population = await uow.analytics.population()
    k = asker.min_cohort
    flow_table = publish("flow", ("month", "movement"), flow, k)
    totals_table = publish("flow_total", ("movement",), _totals(flow), k)
    churn_table = publish("churn", (by, "outcome"), churn, k)
    lost = sum(c.customers for c in churn if c.key[1] == "lost")
    start = sum(c.customers for c in churn)
    months = months_in(first, last)  # leavers of every month, `first` and `last` included
    revenue = sum((c.sums.get("revenue", Decimal(0)) for c in churn), Decimal(0))
    facts: dict[str, str | None] = {"monthly_churn_rate": None, "lifetime_value": None}
    # Both derive from how many left and how many stayed: withheld when either is under k
    # (as the churn table withholds such cells), or the rate would give the count away.
    if counts_disclosable(k, lost, start - lost):
        monthly = lost / start / months
        facts["monthly_churn_rate"] = rate(lost, start * months)
        # From the rounded total, like every published amount: an exact mean would let two
        # spans differing by one customer reveal that customer's revenue.
        mean = round_money(revenue) / start
        facts["lifetime_value"] = str(lifetime_value(mean, monthly))
    query = f"customers/flow?from={first}&to={last}&segment={by}"
    return await _answer(
        units,
        clock,
        asker,
        query,
        [totals_table, flow_table, churn_table],
        population=population,
        facts=facts,
    )


def _totals(flow: Sequence[Cell]) -> list[Cell]:
    """Gained and lost over the whole span: the margin of the monthly table (which the
    monthly table's complementary suppression protects)."""
    totals: dict[str, Cell] = {}
    for cell in flow:
        movement = str(cell.key[1])
        before = totals.get(movement, Cell((movement,), 0, {"revenue": Decimal(0)}))
        totals[movement] = Cell(
            (movement,),
            before.customers + cell.customers,
            {"revenue": before.sums["revenue"] + cell.sums.get("revenue", Decimal(0))},
        )
    return list(totals.values())


async def referrals(units: AnalyticsUnitOfWork, clock: Clock, asker: Asker, month: str) -> Answer:
    """Referred customers against the others, and referrers, with their revenue."""
    async with units as uow:
        cells = await uow.analytics.referrals(month)
        population = await uow.analytics.population()
    table = publish("referrals", ("referred", "referrer"), cells, asker.min_cohort)
    return await _answer(
        units, clock, asker, f"referrals?period={month}", [table], population=population
    )


def _contact_values(cell: Cell, min_cohort: int) -> dict[str, str | None]:
    contacts = int(cell.sums.get("contacts", Decimal(0)))
    complaints = int(cell.sums.get("complaints", Decimal(0)))
    # The complaint rate splits the contacts into complaints and the rest: published only
    # when each part comes from k customers or more, or it would give a small part away.
    disclosable = counts_disclosable(
        min_cohort,
        int(cell.sums.get("complainers", Decimal(0))),
        int(cell.sums.get("other_contacters", Decimal(0))),
    )
    return {
        "contacts_per_customer": rate(contacts, cell.customers),
        "complaint_rate": rate(complaints, contacts) if disclosable else None,
    } | satisfaction_values(cell, min_cohort)


async def experience(
    units: AnalyticsUnitOfWork, clock: Clock, asker: Asker, first: str, last: str, *, by: str
) -> Answer:
    """Satisfaction and complaints by channel and segment; marketing contact pressure
    against churn."""
    async with units as uow:
        contact = await uow.analytics.experience(by, first, last)
        pressure = await uow.analytics.contact_pressure(first, last)
        population = await uow.analytics.population()
    k = asker.min_cohort
    tables = [
        publish(
            "experience",
            ("contact_channel", by),
            contact,
            k,
            (partial(_contact_values, min_cohort=k),),
        ),
        publish("contact_pressure", ("marketing_per_month", "outcome"), pressure, k, ()),
    ]
    query = f"experience?from={first}&to={last}&segment={by}"
    return await _answer(units, clock, asker, query, tables, population=population)
