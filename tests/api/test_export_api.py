"""The customer's export (Art. 15 and 20): queue, status, the signed archive, and its content
compared with what the API answers; nothing of any other customer."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oauth_harness import ISSUER, World
from self_service_seed import Person, audit_events, body, last_seq, seed_person
from sqlalchemy import update

from api.app import create_app
from domain.dsr.build_export import expire_exports
from persistence.database import session_factory
from persistence.dsr.archive import FileArchiveStore, export_signer
from persistence.dsr.tables import DsrRequestRow
from persistence.signatures import BadSignature, verify_jws

CATEGORIES = (
    "profile",
    "profile_history",
    "accounts",
    "transactions",
    "interactions",
    "consents",
    "contact_preferences",
    "corrections",
    "access_log",
    "processing",
)


async def exported(world: World, person: Person) -> tuple[dict[str, Any], bytes]:
    created = await world.http.post("/v1/me/exports", headers=person.auth)
    assert created.status_code == 202, created.text
    await world.run_jobs()
    status = body(
        await world.http.get(f"/v1/me/exports/{created.json()['id']}", headers=person.auth)
    )
    archive = await world.http.get(f"/v1/me/exports/{status['id']}/archive", headers=person.auth)
    assert archive.status_code == 200, archive.text
    return status, archive.content


async def test_a_second_request_while_one_is_in_progress_returns_it(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    first = await world.http.post("/v1/me/exports", headers=ada.auth)
    assert first.status_code == 202
    assert first.json()["status"] == "queued"
    again = await world.http.post("/v1/me/exports", headers=ada.auth)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    # Not ready yet: the download is a 409 problem.
    early = await world.http.get(f"/v1/me/exports/{first.json()['id']}/archive", headers=ada.auth)
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")


async def test_the_archive_is_complete_signed_and_only_mine(world: World) -> None:
    ada = await seed_person(world, "ada@example.org", transactions=12)
    bob = await seed_person(world, "bob@example.org", transactions=3)
    await world.http.put(
        "/v1/me/consents/marketing_email",
        headers=ada.auth,
        json={"granted": True, "notice_version": "1"},
    )
    quiet = {"start": "22:00", "end": "07:30", "time_zone": "Europe/London"}
    preferences = await world.http.put(
        "/v1/me/contact-preferences",
        headers={**ada.auth, "If-Match": '"0"'},
        json={"channels": ["email"], "quiet_hours": quiet, "weekly_limit": 1},
    )
    assert preferences.status_code == 200, preferences.text
    status, content = await exported(world, ada)
    assert (status["status"], status["progress"]) == ("ready", 100)
    assert status["size"] == len(content)
    assert status["sha256"] == hashlib.sha256(content).hexdigest()

    zf = zipfile.ZipFile(io.BytesIO(content))
    manifest = json.loads(zf.read("manifest.json"))
    names = {entry["name"] for entry in manifest["files"]}
    assert names >= {f"{c}.{ext}" for c in CATEGORIES for ext in ("json", "csv")} | {"README.txt"}
    for entry in manifest["files"]:
        assert hashlib.sha256(zf.read(entry["name"])).hexdigest() == entry["sha256"]
    signature = json.loads(zf.read("signature.json"))
    jwks = body(await world.http.get("/.well-known/jwks.json"))
    [key] = [k for k in jwks["keys"] if k["kid"] == signature["kid"]]
    assert verify_jws(signature["jws"], key) == manifest
    assert str(ada.id) not in json.dumps(manifest)  # a pseudonym, not the customer id

    # Each category equals what the API answers.
    profile = body(await world.http.get("/v1/me/profile", headers=ada.auth))
    assert json.loads(zf.read("profile.json")) == profile
    accounts = body(await world.http.get("/v1/me/accounts", headers=ada.auth))["items"]
    assert json.loads(zf.read("accounts.json")) == accounts
    api_moves = body(
        await world.http.get(
            f"/v1/me/accounts/{ada.account_id}/transactions",
            params={"limit": 200},
            headers=ada.auth,
        )
    )["items"]
    moves = json.loads(zf.read("transactions.json"))
    assert sorted(moves, key=lambda t: t["id"]) == sorted(api_moves, key=lambda t: t["id"])
    contacts = body(await world.http.get("/v1/me/interactions", headers=ada.auth))["items"]
    assert sorted(json.loads(zf.read("interactions.json")), key=lambda i: i["id"]) == sorted(
        contacts, key=lambda i: i["id"]
    )
    history = body(await world.http.get("/v1/me/consents/history", headers=ada.auth))
    consents = json.loads(zf.read("consents.json"))
    assert [c["purpose"] for c in consents] == ["marketing_email"]
    assert consents[0]["receipt"] in json.dumps(history)
    shown = body(await world.http.get("/v1/me/contact-preferences", headers=ada.auth))
    for member in ("status", "organisation_limits"):
        shown.pop(member)
    assert json.loads(zf.read("contact_preferences.json")) == shown
    [preference_row] = csv.DictReader(
        io.StringIO(zf.read("contact_preferences.csv").decode("utf-8"))
    )
    assert preference_row["quiet_hours.time_zone"] == "Europe/London"
    assert preference_row["weekly_limit"] == "1"
    processing = body(await world.http.get("/v1/me/processing", headers=ada.auth))
    assert json.loads(zf.read("processing.json")) == processing["purposes"]

    # The CSV files open with the csv module and hold the same records.
    rows = list(csv.DictReader(io.StringIO(zf.read("transactions.csv").decode("utf-8"))))
    assert sorted(r["id"] for r in rows) == sorted(str(i) for i in ada.transaction_ids)
    assert rows[0]["amount"] == "12.50"

    # Nothing of Bob's anywhere in Ada's archive.
    everything = b"".join(zf.read(name) for name in zf.namelist())
    for foreign in [bob.id, bob.account_id, *bob.transaction_ids, *bob.interaction_ids]:
        assert str(foreign).encode() not in everything
    assert b"bob@example.org" not in everything


async def test_a_changed_file_no_longer_matches_the_signed_manifest(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    _, content = await exported(world, ada)
    zf = zipfile.ZipFile(io.BytesIO(content))
    manifest = json.loads(zf.read("manifest.json"))
    signature = json.loads(zf.read("signature.json"))
    jwks = body(await world.http.get("/.well-known/jwks.json"))
    [key] = [k for k in jwks["keys"] if k["kid"] == signature["kid"]]
    tampered = zf.read("transactions.csv").replace(b"12.50", b"99.50")
    [entry] = [e for e in manifest["files"] if e["name"] == "transactions.csv"]
    assert hashlib.sha256(tampered).hexdigest() != entry["sha256"]
    # ...and rewriting the manifest to match breaks the signature.
    entry["sha256"] = hashlib.sha256(tampered).hexdigest()
    claims = verify_jws(signature["jws"], key)
    assert claims != manifest
    forged = signature["jws"].split(".")
    forged[1] = forged[1][:-2] + ("AA" if forged[1][-2:] != "AA" else "BB")
    with pytest.raises(BadSignature):
        verify_jws(".".join(forged), key)


async def test_csv_cells_cannot_run_as_formulas(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    etag = (await world.http.get("/v1/me/profile", headers=ada.auth)).headers["ETag"]
    patched = await world.http.patch(
        "/v1/me/profile",
        headers={**ada.auth, "If-Match": etag, "Content-Type": "application/merge-patch+json"},
        json={"preferred_name": '=HYPERLINK("http://evil","x")'},
    )
    assert patched.status_code == 200, patched.text
    _, content = await exported(world, ada)
    zf = zipfile.ZipFile(io.BytesIO(content))
    [row] = list(csv.DictReader(io.StringIO(zf.read("profile.csv").decode("utf-8"))))
    assert row["preferred_name"] == '\'=HYPERLINK("http://evil","x")'
    assert json.loads(zf.read("profile.json"))["preferred_name"].startswith("=HYPERLINK")


async def test_download_headers_expiry_and_audit(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    bob = await seed_person(world, "bob@example.org")
    status, content = await exported(world, ada)
    before = await last_seq(world)
    archive = await world.http.get(f"/v1/me/exports/{status['id']}/archive", headers=ada.auth)
    assert archive.headers["content-length"] == str(len(content))
    assert archive.headers["etag"] == f'"{status["sha256"]}"'
    assert "attachment" in archive.headers["content-disposition"]
    [event] = await audit_events(world, before)
    assert (event.action, event.subject_id) == ("export.download", ada.id)
    # Someone else's export is a 404, exactly like a missing one.
    assert (
        await world.http.get(f"/v1/me/exports/{status['id']}", headers=bob.auth)
    ).status_code == 404
    assert (
        await world.http.get(f"/v1/me/exports/{status['id']}/archive", headers=bob.auth)
    ).status_code == 404
    # After expiry: 410, and the sweep deletes the file.
    async with session_factory(world.engine)() as session:
        await session.execute(
            update(DsrRequestRow).values(expires_at=world.clock.now() - timedelta(days=1))
        )
        await session.commit()
    gone = await world.http.get(f"/v1/me/exports/{status['id']}/archive", headers=ada.auth)
    assert gone.status_code == 410
    shown = body(await world.http.get(f"/v1/me/exports/{status['id']}", headers=ada.auth))
    assert shown["status"] == "expired"
    archives = FileArchiveStore(world.settings.data_dir, export_signer(world.master_key))
    assert await expire_exports(world.services.units.export, archives, world.clock) == 1
    assert list((world.settings.data_dir / "exports").glob("*.zip")) == []


async def test_the_app_runs_an_in_process_worker_for_its_lifetime(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    # Its own engine and services: the test client runs the app on an event loop of its own.
    app = create_app(world.settings, worker=True)
    async with AsyncTestClient(app=app, base_url=ISSUER) as client:  # runs the lifespan
        created = await client.post("/v1/me/exports", headers=ada.auth)
        assert created.status_code == 202, created.text
        url = f"/v1/me/exports/{created.json()['id']}"
        for _ in range(600):
            if (await client.get(url, headers=ada.auth)).json()["status"] == "ready":
                break
            await asyncio.sleep(0.05)
        archive = await client.get(f"{url}/archive", headers=ada.auth)
        assert archive.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(archive.content)).testzip() is None
