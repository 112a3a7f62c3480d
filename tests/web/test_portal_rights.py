"""The portal's rights pages over HTTP: consents with receipts, an export from request to
download, erasure with its grace period and cancellation, and another customer's records
out of reach. Every step goes through the API, so the audit log shows it."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from oauth_harness import ISSUER, World, running_world
from sqlalchemy.ext.asyncio import AsyncEngine
from web_harness import hidden_fields, register_web_clients, sign_in

from persistence.crypto import MasterKey

ADA = "ada@example.com"
GRACE = "grace@example.com"


@pytest.fixture
async def portal(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    """The app with a 7-day erasure grace period, the portal's client and two customers."""
    async with running_world(db_url, engine, master_key, tmp_path, erasure_grace_days=7) as world:
        await register_web_clients(world)
        await world.add_customer(ADA)
        await world.add_customer(GRACE)
        yield world


def browser(world: World) -> httpx.AsyncClient:
    """A cookie jar of its own on the in-process app."""
    return httpx.AsyncClient(transport=world.http._transport, base_url=ISSUER)


def _consent_forms(page: str) -> list[tuple[str, str]]:
    return re.findall(
        r'action="/portal/consents/([^"]+)">\s*<input[^>]*>\s*'
        r'<input type="hidden" name="notice_version" value="([^"]+)">',
        page,
    )


async def test_withdraw_and_grant_again_each_with_a_receipt(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        page = await http.get("/portal/consents")
        assert page.status_code == 200
        forms = _consent_forms(page.text)
        assert forms, "a withdrawable purpose has a form"
        purpose, version = forms[0]
        csrf = hidden_fields(page.text)["csrf_token"]
        for granted in ("true", "false", "true"):
            answer = await http.post(
                f"/portal/consents/{purpose}",
                data={"csrf_token": csrf, "notice_version": version, "granted": granted},
            )
            assert answer.status_code == 303, answer.text
        page = await http.get("/portal/consents")
        receipts = re.findall(r'href="/portal/consents/receipts/([^"]+)"', page.text)
        assert len(receipts) >= 3
        download = await http.get(f"/portal/consents/receipts/{receipts[0]}")
        assert download.status_code == 200
        assert "attachment" in download.headers["content-disposition"]
        body = download.json()
        assert body["purpose"] == purpose
        assert body["granted"] is True  # newest first: the last change re-granted
        assert body["signed_receipt"].count(".") == 2  # the compact JWS of the receipt
        missing = await http.get("/portal/consents/receipts/not-a-receipt")
        assert missing.status_code == 404


async def test_a_refused_change_lists_what_the_api_found_wrong(portal: World) -> None:
    # The API's problem says "see errors"; the page once showed that sentence and no errors.
    async with browser(portal) as http:
        await sign_in(http, ADA)
        csrf = hidden_fields((await http.get("/portal/consents")).text)["csrf_token"]
        purpose = _consent_forms((await http.get("/portal/consents")).text)[0][0]
        answer = await http.post(
            f"/portal/consents/{purpose}", data={"csrf_token": csrf, "granted": "true"}
        )
        assert answer.status_code == 400, answer.text
        assert "see errors" in answer.text
        assert "<li>notice_version: " in answer.text


async def test_export_from_request_to_download(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        csrf = hidden_fields((await http.get("/portal/exports")).text)["csrf_token"]
        asked = await http.post("/portal/exports", data={"csrf_token": csrf})
        assert asked.status_code == 303
        export_page = asked.headers["location"].split("?")[0]
        status = await http.get(export_page + "/status")
        assert status.json()["status"] == "queued"
        await portal.run_jobs()
        status = await http.get(export_page + "/status")
        assert status.json() == {"status": "ready", "progress": 100}
        page = await http.get(export_page)
        assert "Download the archive" in page.text
        archive = await http.get(export_page + "/archive")
        assert archive.status_code == 200
        assert archive.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
            assert any(name.startswith("profile") for name in opened.namelist())
    async with browser(portal) as other:
        await sign_in(other, GRACE)
        for path in (export_page, export_page + "/status", export_page + "/archive"):
            refused = await other.get(path)
            assert refused.status_code == 404, path
            assert "Ada" not in refused.text


async def test_erasure_needs_a_fresh_sign_in_then_can_be_cancelled(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        first = await http.get("/portal/erasure")
        assert "Sign in again to continue" in first.text
        assert 'name="confirmation"' not in first.text
        await sign_in(http, ADA, start="/portal/login?erase=1")
        page = await http.get("/portal/erasure")
        csrf = hidden_fields(page.text)["csrf_token"]
        wrong = await http.post("/portal/erasure", data={"csrf_token": csrf, "confirmation": "x"})
        assert wrong.status_code == 422
        assert 'aria-invalid="true"' in wrong.text
        asked = await http.post(
            "/portal/erasure", data={"csrf_token": csrf, "confirmation": "erase my data"}
        )
        assert asked.status_code == 303
        request_page = asked.headers["location"]
        pending = await http.get(request_page)
        assert "Cancel the erasure" in pending.text
        cancelled = await http.post(request_page + "/cancel", data={"csrf_token": csrf})
        assert cancelled.status_code == 303
        after = await http.get(cancelled.headers["location"])
        assert "cancelled" in after.text
        assert "Cancel the erasure" not in after.text
        profile = await http.get("/portal/profile")
        assert profile.status_code == 200


async def test_the_access_log_shows_the_pages_own_reads(portal: World) -> None:
    async with browser(portal) as http:
        await sign_in(http, ADA)
        assert (await http.get("/portal/profile")).status_code == 200
        unknown = await http.get("/portal/accounts/00000000-0000-0000-0000-000000000001")
        assert unknown.status_code == 404
        log = await http.get("/portal/access-log")
        assert log.status_code == 200
        rows = re.findall(r"<tr>(.*?)</tr>", log.text, flags=re.S)
        assert any("profile.read" in row and "portal" in row for row in rows)
