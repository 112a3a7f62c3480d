"""Against a real `custodian serve` process: Authlib's own OAuth 2 client obtains tokens
with PKCE (signing in through the HTML pages), calls the API, refreshes and revokes."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # Authlib 1.9 announces a move to an "httpx2" module on import; the client is the same.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

from api.oauth.flow_client import form_fields
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.oauth.admin import (
    DEMO_APP_REDIRECT,
    DEMO_PASSWORD,
    DemoCredentials,
    ensure_demo_identities,
)

pytestmark = pytest.mark.slow
CUSTODIAN = str(Path(sys.executable).parent / "custodian")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _seed(db_url: str, master_key: MasterKey) -> tuple[DemoCredentials, str]:
    from oauth_harness import add_customer  # noqa: PLC0415

    engine = make_engine(db_url)
    try:
        customer = await add_customer(engine, master_key, "e2e@example.com")
        async with session_factory(engine)() as session:
            credentials = await ensure_demo_identities(session, master_key, [customer])
            await session.commit()
        return credentials, "e2e@example.com"
    finally:
        await engine.dispose()


@pytest.fixture
def server(db_url: str, master_key: MasterKey, tmp_path: Path) -> Iterator[dict[str, Any]]:
    credentials, email = asyncio.run(_seed(db_url, master_key))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CUSTODIAN_DATABASE_URL": db_url,
        "CUSTODIAN_DATA_DIR": str(tmp_path),
        "CUSTODIAN_MASTER_KEY": master_key.to_base64(),
        "CUSTODIAN_ISSUER": base,
        "CUSTODIAN_ENV": "development",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CUSTODIAN, "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text())
            time.sleep(0.2)
        yield {"base": base, "email": email, "credentials": credentials, "env": env}
    finally:
        process.terminate()
        process.wait(timeout=10)


def _sign_in(base: str, url: str, email: str) -> str:
    """Play the person in a browser: sign in and allow. The final redirect URL."""
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        consent = browser.post(
            "/oauth/authorize",
            data={**form_fields(page.text), "email": email, "password": DEMO_PASSWORD},
        )
        assert consent.status_code == 200, consent.text
        final = browser.post(
            "/oauth/authorize", data={**form_fields(consent.text), "decision": "allow"}
        )
    assert final.status_code == 302
    location: str = final.headers["location"]
    return location


def test_authlib_client_obtains_refreshes_and_revokes(server: dict[str, Any]) -> None:
    base = server["base"]
    verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
    with OAuth2Client(
        client_id="demo-app",
        redirect_uri=DEMO_APP_REDIRECT,
        scope="profile:read accounts:read",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        base_url=base,
    ) as client:
        url, state = client.create_authorization_url(
            f"{base}/oauth/authorize", code_verifier=verifier
        )
        callback = _sign_in(base, url, server["email"])
        assert f"iss={base.replace(':', '%3A').replace('/', '%2F')}" in callback
        token = client.fetch_token(
            f"{base}/oauth/token",
            authorization_response=callback,
            code_verifier=verifier,
            state=state,
        )
        assert token["token_type"].lower() == "bearer"
        me = client.get("/v1/me")
        assert me.status_code == 200
        assert me.json()["kind"] == "customer"

        old_refresh = token["refresh_token"]
        new = client.refresh_token(f"{base}/oauth/token", refresh_token=old_refresh)
        assert new["refresh_token"] != old_refresh
        assert client.get("/v1/me").status_code == 200

        revoked = client.revoke_token(
            f"{base}/oauth/revoke", token=new["refresh_token"], token_type_hint="refresh_token"
        )
        assert revoked.status_code == 200
        assert client.get("/v1/me").status_code == 401


def test_service_client_credentials(server: dict[str, Any]) -> None:
    base = server["base"]
    secret = server["credentials"].client_secrets["analytics-service"]
    with OAuth2Client(
        client_id="analytics-service",
        client_secret=secret,
        token_endpoint_auth_method="client_secret_basic",
    ) as client:
        token = client.fetch_token(f"{base}/oauth/token", grant_type="client_credentials")
        assert token["scope"] == "analytics:read"
        jwks = httpx.get(f"{base}/.well-known/jwks.json").json()
        assert jwks["keys"]


def _token_command(server: dict[str, Any], scope: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CUSTODIAN, "token", "--demo", "--quiet", "--scope", scope],
        env=server["env"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_token_demo_command_runs_the_real_flow(server: dict[str, Any]) -> None:
    result = _token_command(server, "profile:read")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    me = httpx.get(f"{server['base']}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["scopes"] == ["profile:read"]


def test_token_demo_command_names_the_refusal(server: dict[str, Any]) -> None:
    # The demo app may not ask for a staff scope: the command says so, not just "HTTP 302".
    result = _token_command(server, "profile:read audit:read")
    assert result.returncode != 0
    assert "error=invalid_scope" in result.stderr, result.stderr
    assert result.stdout == ""
