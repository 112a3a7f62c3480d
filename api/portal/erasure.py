"""Erasure: a fresh sign-in that allows it, a typed confirmation, then the grace period
during which the customer can cancel. The API decides each step; the page explains."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from api.portal.site import PORTAL, page
from api.web.errors import N_
from api.web.forms import posted_form
from api.web.inprocess import ApiRefused
from api.web.redirects import see_other
from api.web.signin import SignedIn, signed_in
from domain.identity import ERASE_SCOPE

CONFIRMATION = "erase my data"
STALE_SIGN_IN = N_("For your safety, erasure needs a sign-in from the last few minutes.")
WRONG_PHRASE = N_("Type the words exactly as shown.")


def _path(erasure_id: FromPath[str]) -> str:
    return f"/v1/me/erasure/{quote(erasure_id, safe='')}"


def _ask(
    request: Request[Any, Any, Any],
    current: SignedIn,
    *,
    error: str | None = None,
    stale: bool = False,
    status: int = 200,
) -> Template:
    return page(
        request,
        "erasure.html",
        {
            "can_erase": current.has_scope(ERASE_SCOPE) and not stale,
            "stale": STALE_SIGN_IN if stale else None,
            "phrase": CONFIRMATION,
            "errors": {"confirmation": error} if error else {},
        },
        current=current,
        status=status,
    )


@get("/erasure", name="portal-erasure", include_in_schema=False)
async def show_erasure(request: Request[Any, Any, Any]) -> Template:
    """What erasure means; the confirmation once the sign-in allows it."""
    current = await signed_in(request, PORTAL)
    return _ask(request, current)


@post("/erasure", name="portal-erasure-request", include_in_schema=False, status_code=303)
async def request_erasure(request: Request[Any, Any, Any]) -> Response[str] | Template:
    """Ask for the erasure with the typed confirmation."""
    current = await signed_in(request, PORTAL)
    fields = await posted_form(request, PORTAL, current)
    try:
        answer = await current.api.call(
            "POST",
            "/v1/me/erasure",
            json={"confirmation": fields.get("confirmation", "").strip()},
            ok=(200, 202),
        )
    except ApiRefused as refused:
        if refused.status in (401, 403):
            # Too old a sign-in, or one that did not allow erasure: sign in again for it.
            return _ask(request, current, stale=True, status=403)
        if refused.status == 422:
            return _ask(request, current, error=WRONG_PHRASE, status=422)
        raise
    erasure_id = answer.json()["id"]
    return see_other(f"/portal/erasure/{quote(erasure_id, safe='')}")


@get("/erasure/{erasure_id:str}", name="portal-erasure-status", include_in_schema=False)
async def show_erasure_request(
    request: Request[Any, Any, Any], erasure_id: FromPath[str]
) -> Template:
    """The request: its grace period and the cancel button, or its report."""
    current = await signed_in(request, PORTAL)
    erasure = await current.api.get_json(_path(erasure_id))
    return page(request, "erasure_request.html", {"erasure": erasure}, current=current)


@post(
    "/erasure/{erasure_id:str}/cancel",
    name="portal-erasure-cancel",
    include_in_schema=False,
    status_code=303,
)
async def cancel_erasure(
    request: Request[Any, Any, Any], erasure_id: FromPath[str]
) -> Response[str]:
    """Cancel during the grace period."""
    current = await signed_in(request, PORTAL)
    await posted_form(request, PORTAL, current)
    await current.api.call("DELETE", _path(erasure_id))
    return see_other(f"/portal/erasure/{quote(erasure_id, safe='')}?done=erasure-cancelled")
