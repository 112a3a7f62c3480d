"""The portal's front door: the sign-in page, the overview, the sign-in flow's ends."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from api.portal.site import PORTAL, page
from api.web.forms import posted_form
from api.web.signin import (
    NotSignedIn,
    finish_sign_in,
    remember_language,
    sign_out,
    signed_in,
    start_sign_in,
)
from domain.identity import ERASE_SCOPE


@get("/", name="portal-home", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    """The overview when signed in; otherwise the invitation to sign in."""
    try:
        current = await signed_in(request, PORTAL)
    except NotSignedIn:
        return page(request, "welcome.html", current=None)
    profile = await current.api.get_json("/v1/me/profile")
    await remember_language(request, current, profile.get("language"))
    consents = (await current.api.get_json("/v1/me/consents"))["items"]
    accounts = (await current.api.get_json("/v1/me/accounts", {"limit": "5"}))["items"]
    granted = sum(1 for item in consents if item["granted"])
    return page(
        request,
        "overview.html",
        {
            "profile": profile,
            "granted": granted,
            "purposes": len(consents),
            "accounts": accounts,
        },
        current=current,
    )


@get("/login", name="portal-login", include_in_schema=False)
async def login(request: Request[Any, Any, Any]) -> Response[str]:
    """Start the sign-in (`?erase=1`: a fresh sign-in that also allows erasure)."""
    erase = request.query_params.get("erase") == "1"
    return await start_sign_in(
        request,
        PORTAL,
        extra_scopes=(ERASE_SCOPE,) if erase else (),
        fresh=erase,
        next_path="/portal/erasure" if erase else request.query_params.get("next"),
    )


@get("/callback", name="portal-callback", include_in_schema=False)
async def callback(request: Request[Any, Any, Any]) -> Response[str]:
    """Where /oauth/authorize sends the browser back with the code."""
    return await finish_sign_in(request, PORTAL)


@post("/logout", name="portal-logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[str]:
    """Revoke the tokens, forget the session."""
    current = await signed_in(request, PORTAL)
    await posted_form(request, PORTAL, current)
    return await sign_out(request, PORTAL)


@get("/more", name="portal-more", include_in_schema=False)
async def more(request: Request[Any, Any, Any]) -> Template:
    """The other rights: interactions, corrections, restriction, contact preferences."""
    current = await signed_in(request, PORTAL)
    return page(request, "more.html", current=current)
