"""The console as a page app: its client, its navigation and how it renders."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from api.web.errors import N_
from api.web.pages import render
from api.web.signin import SignedIn, WebApp

OFFICER_SCOPES = "audit:read dsr:admin"
ANALYST_SCOPE = "analytics:read"

CONSOLE = WebApp(
    name="console",
    prefix="/console",
    client_id="privacy-console",
    scopes=OFFICER_SCOPES,
)

NAV = [
    ("/console", N_("Requests")),
    ("/console/corrections", N_("Corrections")),
    ("/console/audit", N_("Audit log")),
    ("/console/analytics", N_("Analytics")),
]

NOTICES = {
    "decided": N_("The decision was recorded and the customer can read it."),
}


def chrome() -> dict[str, Any]:
    """What every console page shows around its content."""
    return {"nav": NAV, "app_title": N_("Privacy console")}


def page(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    current: SignedIn | None,
    status: int = 200,
) -> Template:
    """A console page."""
    notice = NOTICES.get(request.query_params.get("done") or "")
    values = {**chrome(), "notice": notice, **(context or {})}
    return render(request, CONSOLE, f"console/{template}", values, current=current, status=status)
