"""OpenID Connect against a real `custodian serve`: Authlib's OAuth 2 client signs in with
PKCE and a nonce, and Authlib's relying-party code, configured from the issuer's discovery
document alone, verifies the ID token (signature from jwks_uri, iss, aud, nonce, at_hash)."""

from __future__ import annotations

import base64
import os
import secrets
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.deprecate import AuthlibDeprecationWarning
from demo_server import DEMO_PASSWORD, demo_server
from joserfc.errors import InvalidClaimError

from api.oauth.flow_client import form_fields

with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.base_client.sync_openid import OpenIDMixin
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = pytest.mark.slow
DEMO_APP_REDIRECT = "http://127.0.0.1:8765/callback"


class RelyingParty(OAuth2Client, OpenIDMixin):  # type: ignore[misc]
    """Authlib's OAuth 2 client with its OpenID Connect ID token checks."""

    def __init__(self, metadata: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server_metadata = metadata

    def load_server_metadata(self) -> dict[str, Any]:
        return self.server_metadata

    def _get_session(self) -> OAuth2Client:
        # A fresh session for jwks_uri (Authlib withholds the token there anyway).
        return OAuth2Client()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with demo_server(tmp_path_factory.mktemp("oidc")) as running:
        yield running


def _sign_in(base: str, url: str, email: str) -> str:
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


def _party(server: dict[str, str]) -> RelyingParty:
    metadata = httpx.get(f"{server['base']}/.well-known/openid-configuration").json()
    return RelyingParty(
        metadata,
        client_id="demo-app",
        redirect_uri=DEMO_APP_REDIRECT,
        scope="openid profile:read",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        base_url=server["base"],
    )


def _code_flow(party: RelyingParty, server: dict[str, str], nonce: str) -> dict[str, Any]:
    metadata = party.server_metadata
    verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
    url, state = party.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    callback = _sign_in(server["base"], url, server["email"])
    token: dict[str, Any] = party.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback,
        code_verifier=verifier,
        state=state,
    )
    return token


def test_authlib_verifies_the_id_token_of_a_real_server(server: dict[str, str]) -> None:
    nonce = secrets.token_urlsafe(16)
    with _party(server) as party:
        token = _code_flow(party, server, nonce)
        claims = party.parse_id_token(token, nonce=nonce)
        assert claims["iss"] == server["base"]
        assert claims["aud"] == ["demo-app"]
        assert claims["auth_time"] <= claims["iat"]
        info = party.get("/v1/userinfo")
        assert info.status_code == 200
        assert info.json() == {"sub": claims["sub"]}
        me = party.get("/v1/me").json()
        assert me["subject_id"] == claims["sub"]


def test_authlib_refuses_the_id_token_for_another_nonce(server: dict[str, str]) -> None:
    with _party(server) as party:
        token = _code_flow(party, server, secrets.token_urlsafe(16))
        with pytest.raises(InvalidClaimError):
            party.parse_id_token(token, nonce="not-the-nonce-sent")
