"""Export archives are unreadable at rest: encrypted under a key the customer's erasure
destroys, deleted by the erasure, written privately; the download is the signed ZIP."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import stat
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest
from oauth_harness import ERASE, World
from self_service_seed import Person, body, officer_token, seed_person
from sqlalchemy.engine import make_url

from domain.retention import RetentionClass
from persistence.database import session_factory
from persistence.dsr.sealed_archive import (
    CHUNK,
    HEADER_SIZE,
    ArchiveUnreadable,
    open_sealed,
    sealed_zip,
)
from persistence.keystore import KeyDestroyed
from persistence.uow import SqlUnitOfWork

CANARY_NAME = "Zqxarchivecanary"


async def _canary_person(world: World) -> tuple[Person, list[bytes]]:
    person = await seed_person(world, "zqarchive@example.org", transactions=3)
    etag = (await world.http.get("/v1/me/profile", headers=person.auth)).headers["ETag"]
    patched = await world.http.patch(
        "/v1/me/profile",
        headers={**person.auth, "If-Match": etag, "Content-Type": "application/merge-patch+json"},
        json={"preferred_name": CANARY_NAME},
    )
    assert patched.status_code == 200, patched.text
    return person, [CANARY_NAME.encode(), b"zqarchive@example.org"]


async def _export(world: World, person: Person) -> tuple[str, bytes, dict[str, str]]:
    created = body(await world.http.post("/v1/me/exports", headers=person.auth))
    await world.run_jobs()
    download = await world.http.get(f"/v1/me/exports/{created['id']}/archive", headers=person.auth)
    assert download.status_code == 200, download.text
    return created["id"], download.content, dict(download.headers)


async def _raw_database(world: World, db_url: str) -> bytes:
    """Every byte the database holds: the SQLite file and its WAL, or a pg_dump."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        await world.engine.dispose()
        return await asyncio.to_thread(_sqlite_bytes, Path(str(url.database)))
    dump = await asyncio.to_thread(
        subprocess.run,
        ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", str(url.database)],
        capture_output=True,
        check=True,
    )  # fmt: skip
    return bytes(dump.stdout)


def _sqlite_bytes(path: Path) -> bytes:
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


async def test_the_archive_is_encrypted_on_disk_and_plain_when_downloaded(world: World) -> None:
    person, canaries = await _canary_person(world)
    export_id, content, headers = await _export(world, person)
    stored = world.settings.data_dir / "exports" / f"{export_id}.zip"
    raw = stored.read_bytes()
    assert not raw.startswith(b"PK")
    assert not [c for c in canaries if c in raw]
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert [p.name for p in stored.parent.iterdir()] == [stored.name]  # no temporary left
    # The download: the ZIP itself, as its headers promise, with a verifiable manifest.
    assert int(headers["content-length"]) == len(content)
    assert headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert CANARY_NAME.encode() in archive.read("profile.json")
    manifest = archive.read("manifest.json")
    signature = json.loads(archive.read("signature.json"))
    assert signature["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    for entry in json.loads(manifest)["files"]:
        assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]


async def test_erasure_deletes_archives_and_shreds_every_copy(world: World, db_url: str) -> None:
    person, canaries = await _canary_person(world)
    export_id, _, _ = await _export(world, person)
    stored = world.settings.data_dir / "exports" / f"{export_id}.zip"
    backup = world.settings.data_dir.parent / f"backup-{uuid.uuid4().hex}.bin"
    backup.write_bytes(stored.read_bytes())  # a backup taken before the erasure
    asked = await world.http.post("/v1/me/erasure", json=ERASE, headers=person.auth)
    assert asked.status_code == 202, asked.text
    await world.run_jobs()
    assert not stored.exists()
    # Scan every file under the data directory, and the database, for the canaries.
    hits = [
        (path.name, canary)
        for path in _files_under(world.settings.data_dir)
        for canary in canaries
        if canary in path.read_bytes()
    ]
    assert hits == []
    raw = await _raw_database(world, db_url)
    assert not [c for c in canaries if c in raw]
    # The backup copy cannot be opened: the key that wrapped its key is gone.
    async with SqlUnitOfWork(session_factory(world.engine), world.master_key) as uow:
        with pytest.raises(KeyDestroyed):
            await uow.keys.key_for(person.id, RetentionClass.CONTACT)


@pytest.mark.parametrize("damage", ["flip", "truncate", "drop-last-chunk", "other-key"])
async def test_a_damaged_or_foreign_archive_is_refused(tmp_path: Path, damage: str) -> None:
    key, request_id = bytes(range(32)), uuid.uuid4()
    path = tmp_path / "archive.bin"
    with sealed_zip(path, key, request_id) as (zf, _):
        zf.writestr("big.bin", bytes(200_000))  # stored deflated: force several chunks
        zf.writestr("noise.bin", uuid.uuid4().bytes * 10_000)
    good = path.read_bytes()
    assert b"".join([c async for c in open_sealed(path, key, request_id)]).startswith(b"PK")
    if damage == "flip":
        path.write_bytes(good[:200] + bytes([good[200] ^ 1]) + good[201:])
    elif damage == "truncate":
        path.write_bytes(good[:-5])
    elif damage == "drop-last-chunk":
        sealed_chunk = CHUNK + 16
        whole = (len(good) - HEADER_SIZE - 1) // sealed_chunk
        path.write_bytes(good[: HEADER_SIZE + whole * sealed_chunk])
    opener = bytes(32) if damage == "other-key" else key
    with pytest.raises(ArchiveUnreadable):
        _ = [c async for c in open_sealed(path, opener, request_id)]


async def test_an_officer_exports_a_held_customer_only_for_a_legal_claim(world: World) -> None:
    active = await seed_person(world, "active@example.org", transactions=1)
    held = await seed_person(world, "held@example.org", transactions=1)
    restricted = await world.http.put(
        "/v1/me/restriction", json={"restricted": True}, headers=held.auth
    )
    assert restricted.status_code == 200, restricted.text
    officer = {"Authorization": f"Bearer {await officer_token(world)}"}
    plain = await world.http.post(f"/v1/privacy/customers/{active.id}/exports", headers=officer)
    assert plain.status_code == 202, plain.text
    for headers in ({}, {"X-Access-Purpose": "legal_claim"}, {"X-Ticket": "LEGAL-7"}):
        refused = await world.http.post(
            f"/v1/privacy/customers/{held.id}/exports", headers={**officer, **headers}
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "urn:custodian:problem:processing-restricted"
    allowed = await world.http.post(
        f"/v1/privacy/customers/{held.id}/exports",
        headers={**officer, "X-Access-Purpose": "legal_claim", "X-Ticket": "LEGAL-7"},
    )
    assert allowed.status_code == 202, allowed.text
    # The customer sees it in their access log, with the ticket.
    log = body(await world.http.get("/v1/me/access-log", headers=held.auth))
    exports = [e for e in log["items"] if e["action"] == "export.request"]
    assert [e["outcome"] for e in exports].count("denied") == 3
    assert any("LEGAL-7" in json.dumps(e) for e in exports if e["outcome"] == "allowed")
    # It holds only what is kept for the claim: financial records and the evidence.
    await world.run_jobs()
    stored = world.settings.data_dir / "exports" / f"{allowed.json()['id']}.zip"
    async with world.services.units.customer() as uow:
        key = await uow.keys.key_for(held.id, RetentionClass.CONTACT)
    plain = b"".join([c async for c in open_sealed(stored, key, uuid.UUID(stored.stem))])
    names = set(zipfile.ZipFile(io.BytesIO(plain)).namelist())
    assert {"accounts.json", "transactions.json", "consents.json", "access_log.json"} <= names
    assert not names & {"profile.json", "profile_history.json", "interactions.json"}
