"""The portal as a page app: its client, its scopes, its navigation, its notices."""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.web.errors import N_
from api.web.pages import Site
from api.web.signin import WebApp
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


SITE = Site(PORTAL, NAV, N_("Your data"), NOTICES)
chrome = SITE.chrome
page = SITE.page

PAGE_SIZE = "20"


def paging(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The API query of one page of a list: the page size and the `?cursor=` when given."""
    params = {"limit": PAGE_SIZE}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    return params
