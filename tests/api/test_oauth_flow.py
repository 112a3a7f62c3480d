"""The authorization code flow with PKCE through HTTP against the application, and what a
client does with the tokens: call the API, refresh, revoke, introspect."""

from __future__ import annotations

from pathlib import Path

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from oauth_harness import APP_REDIRECT, ISSUER, World, running_world
from sqlalchemy.ext.asyncio import AsyncEngine

from api.oauth.flow_client import Pkce, authorize_params, form_fields
from persistence.crypto import MasterKey


async def test_sign_in_page_is_a_labelled_form_with_csrf(world: World) -> None:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<label for="email">' in page.text
    assert 'id="email"' in page.text
    assert '<label for="password">' in page.text
    assert 'type="password"' in page.text
    assert form_fields(page.text)["csrf_token"]
    assert "<script" not in page.text


async def test_sign_in_and_consent_forms_post_here_and_return_only_to_the_app(
    world: World,
) -> None:
    await world.add_customer("ida@example.com")
    policy = "form-action 'self' http://127.0.0.1:8765"  # APP_REDIRECT's origin
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    assert page.headers["content-security-policy"].endswith(f"; {policy}")
    credentials = {"email": "ida@example.com", "password": "correct horse battery staple"}
    wrong = await world.http.post(
        "/oauth/authorize",
        data={**form_fields(page.text), **credentials, "password": "wrong"},
    )
    assert wrong.status_code == 401
    assert wrong.headers["content-security-policy"].endswith(f"; {policy}")
    consent = await world.http.post(
        "/oauth/authorize", data={**form_fields(page.text), **credentials}
    )
    assert 'name="decision"' in consent.text
    assert consent.headers["content-security-policy"].endswith(f"; {policy}")
    # A page whose form cannot lead back to the app posts to this origin only.
    forged = await world.http.post("/oauth/authorize", data={**params, "csrf_token": "x"})
    assert forged.status_code == 403
    assert forged.headers["content-security-policy"].endswith("; form-action 'self'")


async def test_customer_gets_tokens_and_calls_the_api(world: World) -> None:
    customer = await world.add_customer("ada@example.com")
    params, pkce = await world.authorize(
        "demo-app", "ada@example.com", scope="profile:read accounts:read"
    )
    assert params["iss"] == ISSUER
    assert set(params) == {"code", "state", "iss"}
    response = await world.token(
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": APP_REDIRECT,
            "client_id": "demo-app",
            "code_verifier": pkce.verifier,
        }
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 600
    assert tokens["scope"] == "accounts:read profile:read"
    me = await world.me(tokens["access_token"])
    assert me.status_code == 200, me.text
    assert me.json() == {
        "kind": "customer",
        "client_id": "demo-app",
        "scopes": ["accounts:read", "profile:read"],
        "subject_id": str(customer),
        "role": None,
    }


async def test_consent_screen_lists_scopes_in_plain_words_and_deny_redirects(world: World) -> None:
    await world.add_customer("bob@example.com")
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read dsr:write", Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    consent = await world.http.post(
        "/oauth/authorize",
        data={
            **form_fields(page.text),
            "email": "bob@example.com",
            "password": "correct horse battery staple",
        },
    )
    assert consent.status_code == 200
    assert "See your name, contact details" in consent.text
    assert "Ask for a copy of your data" in consent.text
    assert 'name="decision" value="allow"' in consent.text
    assert 'name="decision" value="deny"' in consent.text
    denied = await world.http.post(
        "/oauth/authorize",
        follow_redirects=False,
        data={**form_fields(consent.text), "decision": "deny"},
    )
    assert denied.status_code == 302
    assert denied.headers["content-type"].startswith("text/plain")  # an empty body, not JSON
    location = denied.headers["location"]
    assert location.startswith(APP_REDIRECT + "?")
    assert "error=access_denied" in location
    assert f"state={params['state']}" in location
    assert "iss=" in location
    assert "code=" not in location


async def test_refresh_rotates_and_reuse_revokes_the_family(world: World) -> None:
    await world.add_customer("cy@example.com")
    first = await world.tokens_for("cy@example.com")
    refreshed = await world.token(
        {
            "grant_type": "refresh_token",
            "client_id": "demo-app",
            "refresh_token": first["refresh_token"],
        }
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await world.me(second["access_token"])).status_code == 200

    replay = await world.token(
        {
            "grant_type": "refresh_token",
            "client_id": "demo-app",
            "refresh_token": first["refresh_token"],
        }
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The whole family is gone: the newest refresh token and the access tokens too.
    newest = await world.token(
        {
            "grant_type": "refresh_token",
            "client_id": "demo-app",
            "refresh_token": second["refresh_token"],
        }
    )
    assert newest.status_code == 400
    assert newest.json()["error"] == "invalid_grant"
    assert (await world.me(second["access_token"])).status_code == 401
    assert (await world.me(first["access_token"])).status_code == 401


async def test_refresh_may_narrow_but_not_widen_the_scope(world: World) -> None:
    await world.add_customer("di@example.com")
    tokens = await world.tokens_for("di@example.com", scope="profile:read accounts:read")
    wider = await world.token(
        {
            "grant_type": "refresh_token",
            "client_id": "demo-app",
            "refresh_token": tokens["refresh_token"],
            "scope": "profile:read dsr:write",
        }
    )
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    narrower = await world.token(
        {
            "grant_type": "refresh_token",
            "client_id": "demo-app",
            "refresh_token": tokens["refresh_token"],
            "scope": "accounts:read",
        }
    )
    assert narrower.status_code == 200
    assert narrower.json()["scope"] == "accounts:read"


async def test_revoking_a_refresh_token_ends_the_family(world: World) -> None:
    await world.add_customer("ed@example.com")
    tokens = await world.tokens_for("ed@example.com")
    revoked = await world.http.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "demo-app"}
    )
    assert revoked.status_code == 200
    assert (await world.me(tokens["access_token"])).status_code == 401
    again = await world.token(
        {
            "grant_type": "refresh_token",
            "client_id": "demo-app",
            "refresh_token": tokens["refresh_token"],
        }
    )
    assert again.status_code == 400


async def test_revoking_an_access_token_takes_effect(world: World) -> None:
    await world.add_customer("fay@example.com")
    tokens = await world.tokens_for("fay@example.com")
    assert (await world.me(tokens["access_token"])).status_code == 200
    revoked = await world.http.post(
        "/oauth/revoke", data={"token": tokens["access_token"], "client_id": "demo-app"}
    )
    assert revoked.status_code == 200
    assert (await world.me(tokens["access_token"])).status_code == 401
    # An unknown token is not an error (RFC 7009 2.2).
    unknown = await world.http.post(
        "/oauth/revoke", data={"token": "nonsense", "client_id": "demo-app"}
    )
    assert unknown.status_code == 200


async def test_client_credentials_and_introspection(world: World) -> None:
    secret = world.secrets["analytics-service"]
    issued = await world.token({"grant_type": "client_credentials"}, "analytics-service")
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["scope"] == "analytics:read"
    assert "refresh_token" not in body
    auth = ("analytics-service", secret)
    active = await world.http.post(
        "/oauth/introspect", data={"token": body["access_token"]}, auth=auth
    )
    assert active.status_code == 200
    facts = active.json()
    assert facts["active"] is True
    assert facts["client_id"] == "analytics-service"
    assert facts["scope"] == "analytics:read"
    assert facts["iss"] == ISSUER
    assert facts["sub"] == "analytics-service"

    await world.http.post("/oauth/revoke", data={"token": body["access_token"]}, auth=auth)
    after = await world.http.post(
        "/oauth/introspect", data={"token": body["access_token"]}, auth=auth
    )
    assert after.json() == {"active": False}

    fresh = (await world.token({"grant_type": "client_credentials"}, "analytics-service")).json()
    world.clock.advance(601)
    expired = await world.http.post(
        "/oauth/introspect", data={"token": fresh["access_token"]}, auth=auth
    )
    assert expired.json() == {"active": False}


async def test_introspection_is_for_confidential_clients_only(world: World) -> None:
    await world.add_customer("gil@example.com")
    tokens = await world.tokens_for("gil@example.com")
    public = await world.http.post(
        "/oauth/introspect", data={"token": tokens["access_token"], "client_id": "demo-app"}
    )
    assert public.status_code in (400, 401)
    assert public.json()["error"] == "invalid_client"


async def test_a_client_introspects_only_its_own_tokens(world: World) -> None:
    await world.add_customer("hal@example.com")
    portal_secret = await world.add_client(
        "portal-app", public=False, scopes="profile:read", redirect_uris=(APP_REDIRECT,)
    )
    portal = await world.tokens_for("hal@example.com", "portal-app", scope="profile:read")
    customer = await world.tokens_for("hal@example.com", scope="profile:read")
    service = ("analytics-service", world.secrets["analytics-service"])
    # Holding another client's token says nothing about it: not whose it is, not its scopes.
    for token in (customer["access_token"], customer["refresh_token"], portal["access_token"]):
        other = await world.http.post("/oauth/introspect", data={"token": token}, auth=service)
        assert other.status_code == 200, other.text
        assert other.json() == {"active": False}
    assert portal_secret is not None
    app = ("portal-app", portal_secret)
    for token in (customer["access_token"], customer["refresh_token"]):
        other = await world.http.post("/oauth/introspect", data={"token": token}, auth=app)
        assert other.json() == {"active": False}
    own = await world.http.post(
        "/oauth/introspect", data={"token": portal["access_token"]}, auth=app
    )
    facts = own.json()
    assert facts["active"] is True
    assert facts["client_id"] == "portal-app"
    assert facts["sub"] == str(world.customers["hal@example.com"])
    own_refresh = await world.http.post(
        "/oauth/introspect", data={"token": portal["refresh_token"]}, auth=app
    )
    assert own_refresh.json()["active"] is True


async def test_metadata_and_jwks(world: World) -> None:
    metadata = (await world.http.get("/.well-known/oauth-authorization-server")).json()
    AuthorizationServerMetadata(metadata).validate()
    assert metadata["issuer"] == ISSUER
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "implicit" not in metadata["grant_types_supported"]
    assert "password" not in metadata["grant_types_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    jwks = (await world.http.get("/.well-known/jwks.json")).json()
    assert jwks["keys"]
    # ES256 access-token keys, and the Ed25519 (OKP) receipt and checkpoint keys; never
    # private parts.
    assert all(k["kty"] in {"EC", "OKP"} and "d" not in k for k in jwks["keys"])


async def test_openapi_documents_the_protected_route(world: World) -> None:
    document = (await world.http.get("/schema/openapi.json")).json()
    operation = document["paths"]["/v1/me"]["get"]
    assert operation["security"] == [{"oauth2": ["profile:read"]}]
    assert {"401", "403"} <= set(operation["responses"])
    scheme = document["components"]["securitySchemes"]["oauth2"]
    assert scheme["type"] == "oauth2"
    assert "profile:read" in scheme["flows"]["authorizationCode"]["scopes"]


async def test_a_development_issuer_on_a_lan_name_signs_in(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> None:
    # Development allows plain http on any host (`make run HOST=<lan address>`); the
    # authorization endpoints must serve it rather than fail on the transport.
    issuer = "http://custodian.test:8000"
    async with running_world(db_url, engine, master_key, tmp_path, issuer=issuer) as lan:
        await lan.add_customer("lan@example.com")
        tokens = await lan.tokens_for("lan@example.com")
        me = await lan.me(tokens["access_token"])
        assert me.status_code == 200, me.text
        assert me.json()["kind"] == "customer"
