"""The analytics dashboard: tier movement as a heat map, customers gained and lost per
month, customers per segment; every figure from the API's disclosure-controlled answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get
from litestar.response import Template

from api.console.charts import bars, heat_map
from api.console.site import ANALYST_SCOPE, CONSOLE, page
from api.web.errors import N_
from api.web.pages import language_of
from api.web.signin import signed_in
from api.web.translations import translations
from api.web.wiring import wiring_of

SUPPRESSED = N_("suppressed")
MONTHS_SHOWN = 12


def _month(moment: datetime, back: int) -> str:
    index = moment.year * 12 + moment.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _table(answer: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((table for table in answer["tables"] if table["name"] == name), None)


@get("/analytics", name="console-analytics", include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any]) -> Template:
    """The three charts for the last twelve complete months (or `?from=&to=`)."""
    current = await signed_in(request, CONSOLE)
    if not current.has_scope(ANALYST_SCOPE):
        return page(request, "not_allowed.html", {"needed": ANALYST_SCOPE}, current=current)
    now = wiring_of(request).clock.now()
    last = request.query_params.get("to") or _month(now, 1)
    first = request.query_params.get("from") or _month(now, MONTHS_SHOWN)
    span = {"from": first, "to": last}
    movement = await current.api.get_json("/v1/analytics/tiers/movement", span)
    flow = await current.api.get_json("/v1/analytics/customers/flow", span)
    segments = await current.api.get_json("/v1/analytics/segments", {"by": "tier", "period": last})
    word = translations(language_of(request, current)).gettext(SUPPRESSED)
    return page(
        request,
        "analytics.html",
        {
            "span": span,
            "movement": movement,
            "flow": flow,
            "segments": segments,
            "heat": heat_map(_table(movement, "movement"), word, movement["min_cohort"]),
            "flow_chart": bars(_table(flow, "flow"), "month", "movement", word),
            "segment_chart": bars(_table(segments, "segments"), "tier", "tier", word),
        },
        current=current,
    )
