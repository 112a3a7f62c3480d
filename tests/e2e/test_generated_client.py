"""A Python client generated from the committed document with openapi-python-client (0
warnings, every operation generated) drives a real `custodian serve`: sign in, read and PATCH
the profile with If-Match, page transactions, request and download an export."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from demo_server import BIN, DEMO_PASSWORD, KEY, demo_server

from api.oauth.flow_client import obtain_tokens

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "openapi.json"
CONFIG = ROOT / "openapi" / "client-generator.yaml"
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    place = tmp_path_factory.mktemp("client")
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(DOCUMENT),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(place / "custodian_client"),
        ],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return {"place": place, "result": result}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with demo_server(tmp_path_factory.mktemp("server")) as running:
        yield running


def test_token_demo_signs_in_as_the_first_customer_demo_printed(server: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        {
            "CUSTODIAN_DATA_DIR": str(Path(server["home"]) / "var"),
            "CUSTODIAN_MASTER_KEY": KEY,
            "PORT": server["port"],  # the issuer follows PORT, as with `make run PORT=...`
        }
    )
    result = subprocess.run(
        [str(BIN / "custodian"), "token", "--demo", "--scope", "openid profile:read"],
        env=env,
        cwd=server["home"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"signing in as {server['email']} " in result.stderr
    assert f"at {server['base']}" in result.stderr
    assert result.stdout.startswith("access_token: ")


def test_the_generator_builds_every_operation_without_a_warning(
    generated: dict[str, Any],
) -> None:
    result = generated["result"]
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "WARNING" not in output, output
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    operations = [
        op for item in document["paths"].values() for m, op in item.items() if m in METHODS
    ]
    modules = [
        p
        for p in (generated["place"] / "custodian_client" / "api").rglob("*.py")
        if p.name != "__init__.py"
    ]
    assert len(modules) == len(operations)
    names = {p.stem for p in modules}
    assert {"list_my_interactions", "list_my_exports", "download_my_export"} <= names


def test_the_generated_client_drives_a_real_server(
    generated: dict[str, Any], server: dict[str, str]
) -> None:
    assert generated["result"].returncode == 0
    sys.path.insert(0, str(generated["place"]))
    try:
        client_module = importlib.import_module("custodian_client")
        self_service = importlib.import_module("custodian_client.api.self_service")
        dsr = importlib.import_module("custodian_client.api.data_subject_requests")
        models = importlib.import_module("custodian_client.models")
        for name in (
            "get_my_profile",
            "update_my_profile",
            "list_my_accounts",
            "list_my_account_transactions",
        ):
            importlib.import_module(f"{self_service.__name__}.{name}")
        for name in ("request_my_export", "get_my_export", "download_my_export", "list_my_exports"):
            importlib.import_module(f"{dsr.__name__}.{name}")
    finally:
        sys.path.remove(str(generated["place"]))

    async def sign_in() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=server["base"], timeout=30) as http:
            return await obtain_tokens(
                http,
                client_id="demo-app",
                redirect_uri="http://127.0.0.1:8765/callback",
                scope="profile:read profile:write accounts:read transactions:read dsr:write",
                email=server["email"],
                password=DEMO_PASSWORD,
            )

    token = asyncio.run(sign_in())["access_token"]
    with client_module.AuthenticatedClient(base_url=server["base"], token=token) as client:
        _drive(client, self_service, dsr, models, server["email"])


def _drive(client: Any, self_service: Any, dsr: Any, models: Any, email: str) -> None:
    # Read the profile and its ETag, then PATCH with If-Match.
    read = self_service.get_my_profile.sync_detailed(client=client)
    assert read.status_code == 200
    etag = read.headers["etag"]
    assert read.parsed.email == email
    patch = models.UpdateMyProfileProfilePatch(preferred_name="Generated")
    updated = self_service.update_my_profile.sync_detailed(client=client, body=patch, if_match=etag)
    assert updated.status_code == 200, updated.content
    assert updated.parsed.preferred_name == "Generated"
    stale = self_service.update_my_profile.sync_detailed(client=client, body=patch, if_match=etag)
    assert stale.status_code == 412
    assert stale.parsed.status == 412

    # Page through one account's transactions with the cursor.
    accounts = self_service.list_my_accounts.sync(client=client)
    account_id = accounts.items[0].id
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        page = self_service.list_my_account_transactions.sync(
            account_id, client=client, limit=5, cursor=cursor
        )
        seen.extend(item.id for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) > 5

    # Request an export, follow it until ready, download the archive.
    created = dsr.request_my_export.sync_detailed(client=client)
    assert created.status_code == 202
    assert created.headers["location"] == f"/v1/me/exports/{created.parsed.id}"
    deadline = time.monotonic() + 120
    status = created.parsed
    while status.status != "ready":
        assert status.status in ("queued", "running"), status.status
        assert time.monotonic() < deadline, "the export did not finish in time"
        time.sleep(0.5)
        status = dsr.get_my_export.sync(created.parsed.id, client=client)
    listed = dsr.list_my_exports.sync(client=client)
    assert [item.id for item in listed.items] == [created.parsed.id]
    download = dsr.download_my_export.sync_detailed(created.parsed.id, client=client)
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert "manifest.json" in archive.namelist()
    assert download.headers["etag"] == f'"{status.sha256}"'
