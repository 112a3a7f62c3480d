"""Correction decisions. The requests awaiting one come from the officer's list of
correction requests, with what each customer asked, so the officer decides knowing it; the
API audits every request it shows as a read of its customer's data. The decision goes
through the API, which applies or rejects it and tells the customer why."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from api.console.site import CONSOLE, page
from api.web.errors import N_
from api.web.forms import posted_form
from api.web.inprocess import ApiRefused
from api.web.signin import signed_in

REASON_NEEDED = N_("Write the reason the customer will read.")


@get("/corrections", name="console-corrections", include_in_schema=False)
async def list_corrections(request: Request[Any, Any, Any]) -> Template:
    """Correction requests awaiting a decision, newest first, each with what the customer
    asked and its decision form."""
    current = await signed_in(request, CONSOLE)
    params = {"pending": "true", "limit": "50"}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    listing = await current.api.get_json("/v1/privacy/corrections", params)
    return page(
        request,
        "corrections.html",
        {"corrections": listing["items"], "next_cursor": listing.get("next_cursor")},
        current=current,
    )


@post("/corrections/{correction_id:str}", name="console-decide", include_in_schema=False)
async def decide(
    request: Request[Any, Any, Any], correction_id: FromPath[str]
) -> Response[str] | Template:
    """Apply or reject, with the reason."""
    current = await signed_in(request, CONSOLE)
    fields = await posted_form(request, CONSOLE, current)
    reason = fields.get("reason", "").strip()
    decision = fields.get("decision")

    def reason_needed() -> Template:
        context = {"correction_id": correction_id, "error": REASON_NEEDED, "result": None}
        return page(request, "decide.html", context, current=current, status=422)

    if not reason or decision not in ("apply", "reject"):
        return reason_needed()
    try:
        answer = await current.api.call(
            "POST",
            f"/v1/privacy/corrections/{quote(correction_id, safe='')}/decision",
            json={"decision": decision, "reason": reason},
        )
    except ApiRefused as refused:
        if refused.status == 422:
            return reason_needed()
        raise
    return page(
        request,
        "decide.html",
        {"correction_id": correction_id, "error": None, "result": answer.json()},
        current=current,
    )
