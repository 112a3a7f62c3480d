"""A real `custodian serve` on a fresh SQLite demo (migrate, demo, projection rebuild) for
the browser tests, and Chromium from the system: Playwright's own download is not used.

Playwright runs for one test at a time (`page` here, function-scoped): its synchronous API
keeps an event loop running while it is open, and pytest-playwright's session-long browser
would leave that loop running in the xdist worker, where the next asyncio test could no
longer start its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_server import demo_server
from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "browser"
DEMO_CUSTOMERS = 12


@pytest.fixture
def page() -> Iterator[Page]:
    """A page in the system's Chromium: a phone-sized window (390 px wide), in English,
    downloads allowed; everything closed after the test."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="en-GB", accept_downloads=True
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Where screenshots go (ignored by git)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Migrate, load the demo, build the analytics projection, serve; the base URL and the
    first demo customer's email."""
    home = tmp_path_factory.mktemp("browser-demo")
    with demo_server(home, DEMO_CUSTOMERS, then=(("projection", "rebuild"),)) as running:
        yield running
