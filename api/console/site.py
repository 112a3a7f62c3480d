"""The console as a page app: its client, its navigation, its notices."""

from __future__ import annotations

from api.web.errors import N_
from api.web.pages import Site
from api.web.signin import WebApp

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


SITE = Site(CONSOLE, NAV, N_("Privacy console"), NOTICES)
chrome = SITE.chrome
page = SITE.page
