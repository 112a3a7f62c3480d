"""The portal and the console in a real browser (the system's Chromium) against a real
`custodian serve`: a customer and an officer do their jobs, every page passes axe-core with
no serious or critical violation, fits a 390 px wide screen, runs its scripts under the
Content-Security-Policy, and is photographed under test-artefacts/browser/."""

from __future__ import annotations

import asyncio
import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page, Route, expect

from api.oauth.flow_client import Pkce, authorize_params, obtain_tokens

pytestmark = pytest.mark.slow

PASSWORD = "custodian-demo-password"  # the published demo credential
OFFICER = "privacy.officer@custodian.example"
ANALYST = "analyst@custodian.example"
SERIOUS = {"serious", "critical"}
_axe = Axe()


class Checks:
    """Runs the checks every page must pass, and keeps what the browser console said."""

    def __init__(self, page: Page, artefacts: Path) -> None:
        self.page = page
        self.artefacts = artefacts
        self.csp_errors: list[str] = []
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_errors.append(message.text)

    def page_ok(self, name: str) -> None:
        """axe-core, the width, the screenshot."""
        self.page.wait_for_load_state("networkidle")
        results = _axe.run(self.page)
        serious = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v.get("impact") in SERIOUS
        ]
        assert serious == [], f"{name}: {serious}"
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{name} is {overflow}px wider than the screen"
        self.page.screenshot(path=str(self.artefacts / f"{name}.png"), full_page=True)


def sign_in(page: Page, checks: Checks, email: str, name: str) -> None:
    """Fill the sign-in page, allow on the consent page."""
    expect(page.get_by_label("Email address")).to_be_visible()
    checks.page_ok(f"{name}-sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    checks.page_ok(f"{name}-consent")
    page.get_by_role("button", name="Allow").click()


def test_a_customer_uses_the_portal(page: Page, server: dict[str, str], artefacts: Path) -> None:
    base = server["base"]
    checks = Checks(page, artefacts)
    page.goto(f"{base}/portal")
    checks.page_ok("portal-welcome")
    page.get_by_role("link", name="Sign in").click()
    sign_in(page, checks, server["email"], "portal")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    checks.page_ok("portal-overview")

    page.goto(f"{base}/portal/profile")
    # The pages follow the profile's language (the demo's may be German): English first.
    page.locator("#language").select_option("en")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Preferred name (optional)").fill("Ace")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Your profile was saved.")
    expect(page.get_by_label("Preferred name (optional)")).to_have_value("Ace")
    checks.page_ok("portal-profile")

    page.goto(f"{base}/portal/consents")
    withdraw = page.get_by_role("button", name="Withdraw").first
    label = withdraw.get_attribute("aria-label") or ""
    purpose = label.removeprefix("Withdraw consent to ")
    withdraw.click()
    expect(page.get_by_role("status")).to_contain_text("withdrawn")
    page.get_by_role("button", name=f"Allow {purpose}").click()
    expect(page.get_by_role("status")).to_contain_text("recorded")
    checks.page_ok("portal-consents")
    with page.expect_download() as receipt:
        page.get_by_role("link", name="Download receipt").first.click()
    assert receipt.value.suggested_filename.startswith("consent-receipt-")

    page.goto(f"{base}/portal/exports")
    checks.page_ok("portal-exports")
    page.get_by_role("button", name="Request an export").click()
    expect(page.get_by_label("Progress")).to_be_attached()
    checks.page_ok("portal-export-progress")
    download_link = page.get_by_role("link", name="Download the archive")
    expect(download_link).to_be_visible(timeout=30_000)  # the page's own polling shows it
    with page.expect_download() as archive:
        download_link.click()
    content = Path(archive.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as opened:
        assert any(name.startswith("profile") for name in opened.namelist())
    checks.page_ok("portal-export-ready")

    page.goto(f"{base}/portal/accounts")
    checks.page_ok("portal-accounts")
    page.locator("main table a").first.click()
    checks.page_ok("portal-account")
    page.goto(f"{base}/portal/access-log")
    expect(page.locator("main table")).to_contain_text("account.read")
    checks.page_ok("portal-access-log")

    for name in ("more", "interactions", "corrections", "restriction", "contact-preferences"):
        page.goto(f"{base}/portal/{name}")
        checks.page_ok(f"portal-{name}")
    page.goto(f"{base}/portal/interactions")
    asking = page.get_by_role("link", name="Ask for a correction")
    if asking.count():
        asking.first.click()
        page.get_by_role("button", name="Send the request").click()
        expect(page.get_by_label("What it should say")).to_be_focused()
        checks.page_ok("portal-correction-error")

    page.goto(f"{base}/portal/erasure")
    checks.page_ok("portal-erasure")
    page.get_by_role("link", name="Sign in again to continue").click()
    sign_in(page, checks, server["email"], "portal-erasure")
    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_label("To confirm, type: erase my data")).to_be_focused()
    checks.page_ok("portal-erasure-error")
    page.get_by_label("To confirm, type: erase my data").fill("erase my data")
    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_role("button", name="Cancel the erasure")).to_be_visible()
    checks.page_ok("portal-erasure-pending")
    page.get_by_role("button", name="Cancel the erasure").click()
    expect(page.get_by_role("status")).to_contain_text("cancelled")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto(f"{base}/portal/profile")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert checks.csp_errors == []


def test_an_app_on_another_origin_gets_its_code_back(
    page: Page, server: dict[str, str], artefacts: Path
) -> None:
    """The sign-in pages' `form-action` names the app's origin too: Chromium applies it to
    the redirect that answers the consent form, which leaves for the app's redirect URI."""
    back = "http://127.0.0.1:8765/callback"  # demo-app's: another origin than the server
    arrived: list[str] = []

    def app(route: Route) -> None:
        # Nothing has to listen there: the browser's request is answered here.
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="back in the app")

    page.route(lambda url: url.startswith(back), app)
    checks = Checks(page, artefacts)
    params = authorize_params("demo-app", back, "profile:read", Pkce.new())
    page.goto(f"{server['base']}/oauth/authorize?{urlencode(params)}")
    sign_in(page, checks, server["email"], "demo-app")
    expect(page.locator("body")).to_have_text("back in the app")
    assert len(arrived) == 1
    assert arrived[0].startswith(f"{back}?code=")
    assert f"state={params['state']}" in arrived[0]
    assert checks.csp_errors == []


async def _correction_for(base: str, email: str) -> str:
    """A correction request (and an export, for the queue) of the demo customer, made
    through the API as an app would."""
    async with httpx.AsyncClient(base_url=base) as http:
        tokens = await obtain_tokens(
            http,
            client_id="demo-app",
            redirect_uri="http://127.0.0.1:8765/callback",
            scope="accounts:read corrections:write dsr:write",
            email=email,
            password=PASSWORD,
        )
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        accounts = (await http.get("/v1/me/accounts", headers=auth)).json()["items"]
        asked = await http.post(
            "/v1/me/corrections",
            headers=auth,
            json={
                "target": {"type": "account", "id": accounts[0]["id"], "field": "name"},
                "requested_value": "Household account",
                "reason": "We renamed it together",
            },
        )
        assert asked.status_code == 201, asked.text
        exported = await http.post("/v1/me/exports", headers=auth)  # one for the queue
        assert exported.status_code in (200, 202)
        body: dict[str, Any] = asked.json()
        return str(body["id"])


def test_an_officer_and_an_analyst_use_the_console(
    page: Page, server: dict[str, str], artefacts: Path
) -> None:
    base = server["base"]
    # Playwright's sync API runs an event loop here; the set-up gets a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        correction = pool.submit(asyncio.run, _correction_for(base, server["email"])).result()
    checks = Checks(page, artefacts)
    page.goto(f"{base}/console")
    checks.page_ok("console-welcome")
    page.get_by_role("link", name="Sign in as a privacy officer").click()
    sign_in(page, checks, OFFICER, "console")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data-subject requests")
    checks.page_ok("console-queue")
    page.get_by_role("link", name="Timeline").first.click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    checks.page_ok("console-request")

    page.goto(f"{base}/console/corrections")
    form = page.locator(f'form[action="/console/corrections/{correction}"]')
    # The officer sees what the customer asked before deciding.
    card = page.locator("section.card", has=form)
    expect(card).to_contain_text("account")
    expect(card.locator(".asked-value")).to_have_text("Household account")
    expect(card.locator(".asked-reason")).to_have_text("We renamed it together")
    expect(card.locator(".asked-current")).not_to_be_empty()
    form.get_by_label("Reason for the customer").fill("Matches the signed mandate")
    checks.page_ok("console-corrections")
    form.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#correction-status")).to_have_text("applied")
    checks.page_ok("console-decision")

    page.goto(f"{base}/console/audit?action=correction.decide")
    expect(page.locator("#verification")).to_contain_text("Verified")
    expect(page.locator("main table")).to_contain_text("correction.decide")
    checks.page_ok("console-audit")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in for analytics").click()
    sign_in(page, checks, ANALYST, "console-analyst")
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    assert page.locator("svg.chart").count() >= 2
    checks.page_ok("console-analytics")
    assert checks.csp_errors == []
