"""The profile page: read it, correct it. A change made elsewhere in between is caught by
the API's ETag check (If-Match) and shown as a conflict, never silently overwritten."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from api.portal.site import PORTAL, page
from api.web.errors import N_
from api.web.forms import posted_form
from api.web.inprocess import ApiRefused
from api.web.redirects import see_other
from api.web.signin import SignedIn, remember_language, signed_in

FIELDS = ("given_name", "family_name", "preferred_name", "phone", "language")
OPTIONAL = frozenset({"preferred_name", "phone"})
MERGE_PATCH = "application/merge-patch+json"
CONFLICT = N_(
    "Your profile was changed somewhere else after you opened this page. Nothing was saved: "
    "below is the current version. Make your change again."
)
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}


async def _current_profile(current: SignedIn) -> tuple[dict[str, Any], str]:
    response = await current.api.call("GET", "/v1/me/profile")
    return response.json(), response.headers.get("etag", "")


def _form(
    request: Request[Any, Any, Any],
    current: SignedIn,
    profile: dict[str, Any],
    etag: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    conflict: bool = False,
    status: int = 200,
) -> Template:
    shown = values or {name: profile.get(name) or "" for name in FIELDS}
    languages = dict(LANGUAGE_NAMES)
    if shown.get("language") and shown["language"] not in languages:
        languages[shown["language"]] = shown["language"]
    return page(
        request,
        "profile.html",
        {
            "profile": profile,
            "etag": etag,
            "values": shown,
            "errors": errors or {},
            "conflict": CONFLICT if conflict else None,
            "languages": languages,
        },
        current=current,
        status=status,
    )


@get("/profile", name="portal-profile", include_in_schema=False)
async def show_profile(request: Request[Any, Any, Any]) -> Template:
    """The profile with its correction form."""
    current = await signed_in(request, PORTAL)
    profile, etag = await _current_profile(current)
    return _form(request, current, profile, etag)


@post("/profile", name="portal-profile-save", include_in_schema=False, status_code=303)
async def save_profile(request: Request[Any, Any, Any]) -> Response[str] | Template:
    """Send the changed fields as a merge patch with the ETag the form was based on."""
    current = await signed_in(request, PORTAL)
    fields = await posted_form(request, PORTAL, current)
    values = {name: fields.get(name, "").strip() for name in FIELDS}
    patch: dict[str, Any] = {
        name: (value or None) if name in OPTIONAL else value for name, value in values.items()
    }
    try:
        saved = await current.api.call(
            "PATCH",
            "/v1/me/profile",
            json=patch,
            headers={"If-Match": fields.get("etag", ""), "Content-Type": MERGE_PATCH},
        )
    except ApiRefused as refused:
        if refused.status in (412, 428):
            profile, etag = await _current_profile(current)
            return _form(request, current, profile, etag, conflict=True, status=409)
        if refused.status == 422:
            errors = {
                str(item.get("field")): str(item.get("message"))
                for item in refused.body.get("errors", [])
                if isinstance(item, dict)
            }
            profile, _ = await _current_profile(current)
            return _form(
                request,
                current,
                profile,
                fields.get("etag", ""),
                values=values,
                errors=errors or {"given_name": refused.detail},
                status=422,
            )
        raise
    await remember_language(request, current, saved.json().get("language"))
    return see_other("/portal/profile?done=profile-saved")
