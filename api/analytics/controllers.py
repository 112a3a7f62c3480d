"""GET /v1/analytics/... (scope analytics:read): segments, movement between value tiers,
customers gained and lost, referrals and experience. Analysts and the analytics service
only; every answer is audited (who asked what, cells returned and withheld)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.analytics.dtos import AnalyticsAnswer, answer_out
from api.middleware import request_id_of
from api.routes import problems
from api.settings import Settings
from domain.analytics import queries
from domain.analytics.attributes import add_months, month_of
from domain.analytics.queries import AnalyticsUnitOfWork, Asker
from domain.analytics.reader import SEGMENT_DIMENSIONS
from domain.clock import Clock
from domain.identity import Caller

TAG = "analytics"
_SCOPE = "analytics:read"
_MONTH = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"
_FIRST_MONTH = "1900-01"
Month = Annotated[
    str | None, QueryParameter(pattern=_MONTH, description="A calendar month, YYYY-MM")
]
FromMonth = Annotated[
    str | None,
    QueryParameter(name="from", pattern=_MONTH, description="First month, YYYY-MM"),
]
_DIMENSION = "(" + "|".join(SEGMENT_DIMENSIONS) + ")"
RequiredFrom = Annotated[
    str, QueryParameter(name="from", pattern=_MONTH, description="First month, YYYY-MM")
]
RequiredTo = Annotated[str, QueryParameter(pattern=_MONTH, description="Last month, YYYY-MM")]
Segment = Annotated[
    str | None,
    QueryParameter(
        pattern=f"^{_DIMENSION}$", description="One of: " + ", ".join(SEGMENT_DIMENSIONS)
    ),
]


def _route(action: str) -> dict[str, Any]:
    return {
        "opt": {"scopes": (_SCOPE,), "audit": (action, "analytics")},
        "security": [{"oauth2": [_SCOPE]}],
        "tags": [TAG],
        "responses": problems(400, 422),
    }


def _asker(caller: Caller, settings: Settings, request: Request[Any, Any, Any]) -> Asker:
    return Asker(caller.as_actor(), settings.analytics_min_cohort, request_id_of(request.scope))


def _last_complete_month(clock: Clock) -> str:
    return add_months(month_of(clock.now()), -1)


class AnalyticsController(Controller):
    """Aggregates of the analytics projection."""

    path = "/v1/analytics"

    @get(
        "/segments",
        operation_id="getAnalyticsSegments",
        summary="Customers, revenue and satisfaction per segment in a month",
        **_route("analytics.segments"),
    )
    async def get_segments(
        self,
        *,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        settings: NamedDependency[Settings],
        analytics_units: NamedDependency[Callable[[], AnalyticsUnitOfWork]],
        clock: NamedDependency[Clock],
        by: Annotated[
            str,
            QueryParameter(
                pattern=f"^{_DIMENSION}(,{_DIMENSION}){{0,2}}$",
                description="Comma-separated dimensions (1-3) of: " + ", ".join(SEGMENT_DIMENSIONS),
            ),
        ],
        period: Month = None,
    ) -> AnalyticsAnswer:
        """Customers, estimated revenue and mean satisfaction per cell."""
        dimensions = queries.parse_dimensions(by)
        month = queries.parse_month("period", period or _last_complete_month(clock))
        answer = await queries.segments(
            analytics_units(), clock, _asker(caller, settings, request), dimensions, month
        )
        return answer_out(answer)

    @get(
        "/tiers/movement",
        operation_id="getAnalyticsTierMovement",
        summary="How customers moved between value tiers from one month to another",
        **_route("analytics.tier_movement"),
    )
    async def get_tier_movement(
        self,
        *,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        settings: NamedDependency[Settings],
        analytics_units: NamedDependency[Callable[[], AnalyticsUnitOfWork]],
        clock: NamedDependency[Clock],
        from_: RequiredFrom,
        to: RequiredTo,
    ) -> AnalyticsAnswer:
        """The transition matrix between value tiers, with counts and revenue change."""
        first, last = queries.parse_span(from_, to)
        answer = await queries.tier_movement(
            analytics_units(), clock, _asker(caller, settings, request), first, last
        )
        return answer_out(answer)

    @get(
        "/customers/flow",
        operation_id="getAnalyticsCustomerFlow",
        summary="Customers gained and lost per month, churn by segment, lifetime value",
        **_route("analytics.customer_flow"),
    )
    async def get_customer_flow(
        self,
        *,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        settings: NamedDependency[Settings],
        analytics_units: NamedDependency[Callable[[], AnalyticsUnitOfWork]],
        clock: NamedDependency[Clock],
        from_: RequiredFrom,
        to: RequiredTo,
        segment: Segment = None,
    ) -> AnalyticsAnswer:
        """Gained, lost and net per month with their estimated value; churn by segment."""
        first, last = queries.parse_span(from_, to)
        by = queries.parse_dimension(segment, "tier")
        answer = await queries.customer_flow(
            analytics_units(), clock, _asker(caller, settings, request), first, last, by=by
        )
        return answer_out(answer)

    @get(
        "/referrals",
        operation_id="getAnalyticsReferrals",
        summary="Referrers, referred customers and their value against the others",
        **_route("analytics.referrals"),
    )
    async def get_referrals(
        self,
        *,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        settings: NamedDependency[Settings],
        analytics_units: NamedDependency[Callable[[], AnalyticsUnitOfWork]],
        clock: NamedDependency[Clock],
        period: Month = None,
    ) -> AnalyticsAnswer:
        """Referred customers against the others, and referrers, with their revenue."""
        month = queries.parse_month("period", period or _last_complete_month(clock))
        answer = await queries.referrals(
            analytics_units(), clock, _asker(caller, settings, request), month
        )
        return answer_out(answer)

    @get(
        "/experience",
        operation_id="getAnalyticsExperience",
        summary="Satisfaction and complaints by channel and segment; contact pressure and churn",
        **_route("analytics.experience"),
    )
    async def get_experience(
        self,
        *,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        settings: NamedDependency[Settings],
        analytics_units: NamedDependency[Callable[[], AnalyticsUnitOfWork]],
        clock: NamedDependency[Clock],
        from_: FromMonth = None,
        to: Month = None,
        segment: Segment = None,
    ) -> AnalyticsAnswer:
        """Contacts per customer, complaint rate and satisfaction per channel and segment;
        customers by marketing contacts per month against whether they left."""
        last = to or _last_complete_month(clock)
        first, last = queries.parse_span(from_ or max(add_months(last, -11), _FIRST_MONTH), last)
        by = queries.parse_dimension(segment, "tier")
        answer = await queries.experience(
            analytics_units(), clock, _asker(caller, settings, request), first, last, by=by
        )
        return answer_out(answer)
