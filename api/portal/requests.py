"""The customer's other requests: interactions (read), corrections of what they cannot edit,
restriction of processing and objection to marketing, and contact preferences."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from api.portal.site import PORTAL, page, paging
from api.web.errors import N_
from api.web.forms import posted_form
from api.web.inprocess import ApiRefused
from api.web.redirects import see_other
from api.web.signin import SignedIn, signed_in

TARGET_FIELDS = {
    "account": ("name",),
    "transaction": ("description", "category"),
    "interaction": ("summary", "outcome"),
}
GROUNDS = ("accuracy_contested", "unlawful_processing", "legal_claims", "objection_pending")
CHANNELS = ("email", "sms")
FIELD_NEEDED = N_("Fill this in.")
STALE = N_(
    "Your preferences were changed somewhere else after you opened this page. Nothing was "
    "saved: below is the current version."
)


@get("/interactions", name="portal-interactions", include_in_schema=False)
async def show_interactions(request: Request[Any, Any, Any]) -> Template:
    """My contacts with the organisation, newest first."""
    current = await signed_in(request, PORTAL)
    listing = await current.api.get_json("/v1/me/interactions", paging(request))
    return page(
        request,
        "interactions.html",
        {"interactions": listing["items"], "next_cursor": listing.get("next_cursor")},
        current=current,
    )


def _corrections_page(
    request: Request[Any, Any, Any],
    current: SignedIn,
    corrections: list[dict[str, Any]],
    *,
    target: dict[str, str] | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    return page(
        request,
        "corrections.html",
        {
            "corrections": corrections,
            "target": target,
            "values": values or {},
            "errors": errors or {},
        },
        current=current,
        status=status,
    )


def _target(query: Any) -> dict[str, str] | None:
    kind, identifier, field = query.get("type"), query.get("id"), query.get("field")
    if kind in TARGET_FIELDS and field in TARGET_FIELDS[kind] and identifier:
        return {"type": str(kind), "id": str(identifier), "field": str(field)}
    return None


@get("/corrections", name="portal-corrections", include_in_schema=False)
async def show_corrections(request: Request[Any, Any, Any]) -> Template:
    """My correction requests; with `?type=&id=&field=`, the form to ask for one."""
    current = await signed_in(request, PORTAL)
    corrections = (await current.api.get_json("/v1/me/corrections"))["items"]
    return _corrections_page(request, current, corrections, target=_target(request.query_params))


@post("/corrections", name="portal-correction-create", include_in_schema=False, status_code=303)
async def ask_correction(request: Request[Any, Any, Any]) -> Response[str] | Template:
    """Ask for a correction of an account name, a transaction or an interaction."""
    current = await signed_in(request, PORTAL)
    fields = await posted_form(request, PORTAL, current)
    target = _target(fields)
    values = {name: fields.get(name, "").strip() for name in ("requested_value", "reason")}
    errors = {name: FIELD_NEEDED for name, value in values.items() if not value}
    if target is not None and not errors:
        try:
            await current.api.call(
                "POST",
                "/v1/me/corrections",
                json={"target": target, **values},
                ok=(201,),
            )
        except ApiRefused as refused:
            if refused.status != 422:
                raise
            errors = {
                "requested_value" if "value" in str(i.get("field")) else "reason": str(
                    i.get("message")
                )
                for i in refused.body.get("errors", [])
                if isinstance(i, dict)
            } or {"requested_value": refused.detail}
        else:
            return see_other("/portal/corrections?done=asked")
    corrections = (await current.api.get_json("/v1/me/corrections"))["items"]
    return _corrections_page(
        request, current, corrections, target=target, values=values, errors=errors, status=422
    )


@get("/restriction", name="portal-restriction", include_in_schema=False)
async def show_restriction(request: Request[Any, Any, Any]) -> Template:
    """Restrict processing or lift the restriction; object to direct marketing."""
    current = await signed_in(request, PORTAL)
    return page(request, "restriction.html", {"grounds": GROUNDS, "result": None}, current=current)


@post("/restriction", name="portal-restriction-set", include_in_schema=False)
async def set_restriction(request: Request[Any, Any, Any]) -> Template:
    """Send the choice; show what it changed."""
    current = await signed_in(request, PORTAL)
    fields = await posted_form(request, PORTAL, current)
    restricted = fields.get("restricted") == "true"
    ground = fields.get("reason") if fields.get("reason") in GROUNDS else None
    body: dict[str, Any] = {
        "restricted": restricted,
        "object_to_direct_marketing": fields.get("object") == "true",
    }
    if restricted and ground:
        body["reason"] = ground
    answer = await current.api.call("PUT", "/v1/me/restriction", json=body)
    return page(
        request,
        "restriction.html",
        {"grounds": GROUNDS, "result": answer.json()},
        current=current,
    )


async def _preferences(current: SignedIn) -> tuple[dict[str, Any], str]:
    response = await current.api.call("GET", "/v1/me/contact-preferences")
    return response.json(), response.headers.get("etag", "")


@get("/contact-preferences", name="portal-preferences", include_in_schema=False)
async def show_preferences(request: Request[Any, Any, Any]) -> Template:
    """How and how often we may contact me for marketing."""
    current = await signed_in(request, PORTAL)
    preferences, etag = await _preferences(current)
    return page(
        request,
        "preferences.html",
        {"preferences": preferences, "etag": etag, "channels": CHANNELS, "stale": None},
        current=current,
    )


@post("/contact-preferences", name="portal-preferences-save", include_in_schema=False)
async def save_preferences(request: Request[Any, Any, Any]) -> Response[str] | Template:
    """Replace the preferences (the ETag the form showed guards against lost updates)."""
    current = await signed_in(request, PORTAL)
    form = await request.form()
    fields = await posted_form(request, PORTAL, current)
    chosen = [c for c in form.getall("channels", []) if c in CHANNELS]
    body: dict[str, Any] = {"channels": chosen}
    weekly = fields.get("weekly_limit", "").strip()
    if weekly.isdigit() and int(weekly) >= 1:
        body["weekly_limit"] = int(weekly)
    try:
        await current.api.call(
            "PUT",
            "/v1/me/contact-preferences",
            json=body,
            headers={"If-Match": fields.get("etag", "")},
        )
    except ApiRefused as refused:
        if refused.status not in (412, 428):
            raise
        preferences, etag = await _preferences(current)
        return page(
            request,
            "preferences.html",
            {"preferences": preferences, "etag": etag, "channels": CHANNELS, "stale": STALE},
            current=current,
            status=409,
        )
    return see_other("/portal/contact-preferences?done=saved")
