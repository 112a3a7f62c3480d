"""The export archive lets a customer check their access log offline: the stand-alone verifier
in the archive proves each entry against the signed tree head, and notices a changed entry."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import zipfile
from pathlib import Path

from oauth_harness import World
from self_service_seed import body, seed_person

from persistence.audit.tree import sign_tree_head
from persistence.database import session_factory
from persistence.signatures import checkpoint_signer


async def _verify(folder: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(folder / "verify_access_log.py"),
        str(folder),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_the_customer_verifies_their_access_log_offline(world: World, tmp_path: Path) -> None:
    ada = await seed_person(world, "ada@example.org", transactions=2)
    for _ in range(3):
        await world.http.get("/v1/me/profile", headers=ada.auth)
    async with session_factory(world.engine)() as session:
        await sign_tree_head(session, checkpoint_signer(world.master_key), world.clock.now())
        await session.commit()
    created = await world.http.post("/v1/me/exports", headers=ada.auth)
    assert created.status_code == 202, created.text
    await world.run_jobs()
    status = body(await world.http.get(f"/v1/me/exports/{created.json()['id']}", headers=ada.auth))
    archive = await world.http.get(f"/v1/me/exports/{status['id']}/archive", headers=ada.auth)
    assert archive.status_code == 200, archive.text
    folder = tmp_path / "unzipped"
    zipfile.ZipFile(io.BytesIO(archive.content)).extractall(folder)
    manifest = {
        entry["name"] for entry in json.loads((folder / "manifest.json").read_text())["files"]
    }
    assert {"tree_head.json", "access_log_proofs.jsonl", "verify_access_log.py"} <= manifest

    proofs = (folder / "access_log_proofs.jsonl").read_text().splitlines()
    assert len(proofs) >= 3  # at least the three profile reads
    status_code, output = await _verify(folder)
    assert status_code == 0, output
    assert f"{len(proofs)} of {len(proofs)} access-log entries proven" in output

    # A changed entry (who read the data) no longer proves.
    first = json.loads(proofs[0])
    first["leaf_data"] = first["leaf_data"].replace('"action":"', '"action":"x', 1)
    (folder / "access_log_proofs.jsonl").write_text(
        "\n".join([json.dumps(first), *proofs[1:]]) + "\n"
    )
    status_code, output = await _verify(folder)
    assert status_code == 1
    assert f"NOT PROVEN: {first['event_id']}" in output
