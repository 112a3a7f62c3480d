"""The audit log: search with filters, the verification of the whole log, the newest
signed tree head."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from api.console.site import CONSOLE, page
from api.web.errors import N_
from api.web.inprocess import ApiRefused
from api.web.signin import signed_in

FILTERS = ("subject", "actor", "action", "resource_type", "outcome", "from", "to")
OUTCOMES = ("allowed", "denied")
FILTER_REFUSED = N_("This filter is not valid.")
FIELD_IDS = {
    "subject": "f-subject",
    "actor": "f-actor",
    "action": "f-action",
    "resource_type": "f-resource",
    "outcome": "f-outcome",
    "from": "f-from",
    "to": "f-to",
}


@get("/audit", name="console-audit", include_in_schema=False)
async def search(request: Request[Any, Any, Any]) -> Template:
    """Events matching the filters, newest first; the log's verification and newest head."""
    current = await signed_in(request, CONSOLE)
    chosen = {
        name: value.strip()
        for name in FILTERS
        if (value := request.query_params.get(name)) and value.strip()
    }
    params = {**chosen, "limit": "50"}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    errors: dict[str, str] = {}
    try:
        events = await current.api.get_json("/v1/privacy/audit-events", params)
    except ApiRefused as refused:
        if refused.status not in (400, 422):
            raise
        named = [str(item.get("field")) for item in refused.body.get("errors", [])]
        errors = {
            name: FILTER_REFUSED for name in chosen if name in named or name in refused.detail
        } or dict.fromkeys(chosen, FILTER_REFUSED)
        events = {"items": [], "next_cursor": None}
    verification = await current.api.get_json("/v1/privacy/audit/verification")
    heads = (await current.api.get_json("/v1/privacy/audit/tree-heads", {"limit": "1"}))["items"]
    return page(
        request,
        "audit.html",
        {
            "events": events["items"],
            "next_cursor": events.get("next_cursor"),
            "chosen": chosen,
            "outcomes": OUTCOMES,
            "verification": verification,
            "head": heads[0] if heads else None,
            "errors": errors,
            "field_ids": FIELD_IDS,
        },
        current=current,
        status=400 if errors else 200,
    )
