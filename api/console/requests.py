"""The request queue (deadlines, overdue first in sight) and one request's timeline."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from api.console.site import ANALYST_SCOPE, CONSOLE, page
from api.web.forms import posted_form
from api.web.signin import NotSignedIn, finish_sign_in, sign_out, signed_in, start_sign_in

TYPES = ("export", "erasure", "restriction", "objection")
STATUSES = ("queued", "running", "ready", "completed", "failed", "expired", "cancelled")


def _filters(request: Request[Any, Any, Any]) -> dict[str, str]:
    params: dict[str, str] = {"limit": "50"}
    for name, allowed in (("type", TYPES), ("status", STATUSES)):
        value = request.query_params.get(name)
        if value is not None and value in allowed:
            params[name] = str(value)
    if request.query_params.get("overdue") == "true":
        params["overdue"] = "true"
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    return params


@get("/", name="console-home", include_in_schema=False)
async def queue(request: Request[Any, Any, Any]) -> Template:
    """The queue when signed in; otherwise the sign-in choices."""
    try:
        current = await signed_in(request, CONSOLE)
    except NotSignedIn:
        return page(request, "welcome.html", current=None)
    if not current.has_scope("dsr:admin"):
        return page(request, "not_allowed.html", {"needed": "dsr:admin"}, current=current)
    params = _filters(request)
    listing = await current.api.get_json("/v1/privacy/requests", params)
    return page(
        request,
        "queue.html",
        {
            "requests": listing["items"],
            "next_cursor": listing.get("next_cursor"),
            "types": TYPES,
            "statuses": STATUSES,
            "chosen": params,
        },
        current=current,
    )


@get("/requests/{request_id:str}", name="console-request", include_in_schema=False)
async def show_request(request: Request[Any, Any, Any], request_id: FromPath[str]) -> Template:
    """One request with the timeline of its events."""
    current = await signed_in(request, CONSOLE)
    detail = await current.api.get_json(f"/v1/privacy/requests/{quote(request_id, safe='')}")
    return page(request, "request.html", {"detail": detail}, current=current)


@get("/login", name="console-login", include_in_schema=False)
async def login(request: Request[Any, Any, Any]) -> Response[str]:
    """Sign in as a privacy officer, or (`?as=analyst`) for the analytics dashboard."""
    if request.query_params.get("as") == "analyst":
        analyst = replace(CONSOLE, scopes=ANALYST_SCOPE)
        return await start_sign_in(request, analyst, next_path="/console/analytics")
    return await start_sign_in(request, CONSOLE)


@get("/callback", name="console-callback", include_in_schema=False)
async def callback(request: Request[Any, Any, Any]) -> Response[str]:
    """Where /oauth/authorize sends the browser back with the code."""
    return await finish_sign_in(request, CONSOLE)


@post("/logout", name="console-logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[str]:
    """Revoke the tokens, forget the session."""
    current = await signed_in(request, CONSOLE)
    await posted_form(request, CONSOLE, current)
    return await sign_out(request, CONSOLE)
