"""The portal as a page app: its client, its scopes, its navigation and how it renders."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from api.web.errors import N_
from api.web.pages import render
from api.web.signin import SignedIn, WebApp
from domain.identity import DEFAULT_CUSTOMER_SCOPES

PORTAL = WebApp(
    name="portal",
    prefix="/portal",
    client_id="portal",
    scopes=" ".join(sorted(DEFAULT_CUSTOMER_SCOPES)),
)

NAV = [
    ("/portal", N_("Overview")),
    ("/portal/profile", N_("Profile")),
    ("/portal/accounts", N_("Accounts")),
    ("/portal/consents", N_("Consents")),
    ("/portal/access-log", N_("Access log")),
    ("/portal/exports", N_("Export")),
    ("/portal/erasure", N_("Erasure")),
    ("/portal/more", N_("More rights")),
]

NOTICES = {
    "profile-saved": N_("Your profile was saved."),
    "consent-granted": N_("Your consent was recorded. The receipt is below."),
    "consent-withdrawn": N_("Your consent was withdrawn. The receipt is below."),
    "export-requested": N_("We are preparing your export."),
    "erasure-cancelled": N_("Your erasure request was cancelled."),
    "signed-out": N_("You have signed out."),
    "asked": N_("Your correction request was sent. We will answer within a month."),
    "saved": N_("Your contact preferences were saved."),
}


def chrome() -> dict[str, Any]:
    """What every portal page shows around its content."""
    return {"nav": NAV, "app_title": N_("Your data")}


def page(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    current: SignedIn | None,
    status: int = 200,
) -> Template:
    """A portal page, with the notice named by `?done=` when there is one."""
    notice = NOTICES.get(request.query_params.get("done") or "")
    values = {**chrome(), "notice": notice, **(context or {})}
    return render(request, PORTAL, f"portal/{template}", values, current=current, status=status)
