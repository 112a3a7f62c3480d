"""Requests the authorization server must refuse, each with the right error and no token."""

from __future__ import annotations

import pytest
from oauth_harness import APP_REDIRECT, CONSOLE_REDIRECT, PASSWORD, World
from self_service_seed import audit_events, last_seq

from api.oauth.flow_client import Pkce, authorize_params, form_fields
from domain.identity import StaffRole


@pytest.fixture(autouse=True)
async def ada(world: World) -> None:
    """The customer every test here signs in as."""
    await world.add_customer("ada@example.com")


def no_token(response: object) -> None:
    body = response.json()  # type: ignore[attr-defined]
    assert "access_token" not in body
    assert "refresh_token" not in body


async def _code(world: World, pkce: Pkce | None = None) -> tuple[str, Pkce]:
    params, used = await world.authorize(
        "demo-app", "ada@example.com", scope="profile:read", pkce=pkce
    )
    return params["code"], used


def _exchange(
    code: str,
    verifier: str | None,
    *,
    client_id: str = "demo-app",
    redirect_uri: str = APP_REDIRECT,
) -> dict[str, str]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return data


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"code_challenge": None, "code_challenge_method": None}, id="pkce-missing"),
        pytest.param({"code_challenge_method": "plain"}, id="pkce-plain"),
        pytest.param({"code_challenge_method": None}, id="pkce-method-missing"),
    ],
)
async def test_authorization_without_s256_pkce_is_refused(
    world: World, change: dict[str, str | None]
) -> None:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    for key, value in change.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    response = await world.http.get("/oauth/authorize", params=params)
    # The client and redirect URI are valid, so the error goes back to the client.
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(APP_REDIRECT)
    assert "error=invalid_request" in location
    assert "code=" not in location
    assert "iss=" in location


async def test_code_without_verifier_is_refused_and_spent(world: World) -> None:
    code, pkce = await _code(world)
    response = await world.token(_exchange(code, None))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    no_token(response)
    again = await world.token(_exchange(code, pkce.verifier))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    no_token(again)


async def test_code_with_wrong_verifier_is_refused_and_spent(world: World) -> None:
    code, pkce = await _code(world)
    before = await last_seq(world)
    response = await world.token(_exchange(code, Pkce.new().verifier))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    no_token(response)
    assert [e.action for e in await audit_events(world, before)] == ["oauth.code.verifier_refused"]
    # The right verifier comes too late: a second use of the code, refused.
    again = await world.token(_exchange(code, pkce.verifier))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    no_token(again)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:8765/callback/",
        "http://127.0.0.1:8766/callback",
        "https://127.0.0.1:8765/callback",
        "http://localhost:8765/callback",
        "http://127.0.0.1:8765/callback?x=1",
        "http://evil.example/callback",
    ],
)
async def test_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(
    world: World, redirect_uri: str
) -> None:
    params = authorize_params("demo-app", redirect_uri, "profile:read", Pkce.new())
    response = await world.http.get("/oauth/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


async def test_unknown_client_shows_an_error_page(world: World) -> None:
    params = authorize_params("nobody", APP_REDIRECT, "profile:read", Pkce.new())
    response = await world.http.get("/oauth/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize("query", ["", "?client_id=demo-app"])
async def test_a_request_without_response_type_shows_what_it_must_ask_for(
    world: World, query: str
) -> None:
    response = await world.http.get(f"/oauth/authorize{query}")
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "must ask for response_type=code, the only type this server" in response.text
    assert "is not supported by the server. is not supported" not in response.text


async def test_code_exchanged_with_another_redirect_uri_is_refused_and_spent(
    world: World,
) -> None:
    code, pkce = await _code(world)
    before = await last_seq(world)
    response = await world.token(
        _exchange(code, pkce.verifier, redirect_uri="http://127.0.0.1:8765/callback/")
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    no_token(response)
    refused = await audit_events(world, before)
    assert [e.action for e in refused] == ["oauth.code.redirect_uri_refused"]
    assert refused[0].client_id == "demo-app"
    assert refused[0].outcome == "denied"
    # The right redirect URI comes too late: a second use of the code, refused.
    again = await world.token(_exchange(code, pkce.verifier))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    no_token(again)


async def test_reused_code_is_refused_and_revokes_its_tokens(world: World) -> None:
    code, pkce = await _code(world)
    first = await world.token(_exchange(code, pkce.verifier))
    assert first.status_code == 200
    tokens = first.json()
    second = await world.token(_exchange(code, pkce.verifier))
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    no_token(second)
    assert (await world.me(tokens["access_token"])).status_code == 401
    refresh = await world.token(
        {
            "grant_type": "refresh_token",
            "client_id": "demo-app",
            "refresh_token": tokens["refresh_token"],
        }
    )
    assert refresh.status_code == 400


@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
async def test_code_of_another_client_is_refused_and_spent(world: World, public: bool) -> None:
    await world.add_client(
        "other-app", public=public, scopes="profile:read", redirect_uris=(APP_REDIRECT,)
    )
    code, pkce = await _code(world)
    before = await last_seq(world)
    response = await world.token(_exchange(code, pkce.verifier, client_id="other-app"), "other-app")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    no_token(response)
    refused = await audit_events(world, before)
    assert [e.action for e in refused] == ["oauth.code.client_refused"]
    # The client that presented it is named, not the customer who signed in elsewhere.
    assert (refused[0].actor_type, refused[0].client_id) == ("system", "other-app")
    assert refused[0].subject_id == world.customers["ada@example.com"]
    # The client the code was issued for comes too late: a second use, which ends the family.
    before = await last_seq(world)
    again = await world.token(_exchange(code, pkce.verifier))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    no_token(again)
    assert [e.action for e in await audit_events(world, before)] == ["oauth.code.reused"]


async def test_used_code_presented_by_another_client_revokes_its_tokens(world: World) -> None:
    await world.add_client(
        "other-app", public=True, scopes="profile:read", redirect_uris=(APP_REDIRECT,)
    )
    code, pkce = await _code(world)
    first = await world.token(_exchange(code, pkce.verifier))
    assert first.status_code == 200
    tokens = first.json()
    before = await last_seq(world)
    stolen = await world.token(_exchange(code, pkce.verifier, client_id="other-app"))
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    reused = await audit_events(world, before)
    assert [(e.action, e.client_id) for e in reused] == [("oauth.code.reused", "other-app")]
    assert (await world.me(tokens["access_token"])).status_code == 401


async def test_expired_code_is_refused(world: World) -> None:
    code, pkce = await _code(world)
    world.clock.advance(61)
    response = await world.token(_exchange(code, pkce.verifier))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    no_token(response)


async def test_client_credentials_with_a_wrong_secret_is_refused(world: World) -> None:
    response = await world.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("analytics-service", "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    no_token(response)


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
@pytest.mark.parametrize("credentials", ["//46/w==", "eDr/", "/zp4"])  # not UTF-8 text
async def test_basic_credentials_that_are_not_text_are_an_invalid_client(
    world: World, path: str, credentials: str
) -> None:
    response = await world.http.post(
        path,
        data={"grant_type": "client_credentials", "token": "x"},
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"] == 'Basic error="invalid_client"'
    no_token(response)


async def test_an_unknown_client_and_a_wrong_secret_read_the_same(world: World) -> None:
    answers = [
        await world.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "wrong")
        )
        for client_id in ("analytics-service", "no-such-client")
    ]
    assert [answer.status_code for answer in answers] == [401, 401]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["error"] == "invalid_client"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
async def test_a_parameter_sent_twice_is_an_invalid_request(world: World, path: str) -> None:
    response = await world.http.post(
        path,
        content="grant_type=client_credentials&token=x&grant_type=password",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("analytics-service", "wrong"),
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The parameter grant_type was sent more than once.",
    }
    no_token(response)


async def test_public_client_may_not_use_client_credentials(world: World) -> None:
    response = await world.http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "demo-app"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    no_token(response)


async def test_client_credentials_beyond_the_clients_scopes_is_refused(world: World) -> None:
    response = await world.token(
        {"grant_type": "client_credentials", "scope": "audit:read"}, "analytics-service"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize("grant_type", ["password", "implicit", "urn:x:unknown"])
async def test_other_grant_types_are_not_supported(world: World, grant_type: str) -> None:
    response = await world.token(
        {"grant_type": grant_type, "username": "ada@example.com", "password": PASSWORD},
        "privacy-console",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_token_response_type_is_not_supported(world: World) -> None:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    params["response_type"] = "token"
    response = await world.http.get("/oauth/authorize", params=params)
    assert response.status_code == 302
    assert "error=unsupported_response_type" in response.headers["location"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # Authlib echoes these two into an error description and raised (a 500) on `"`, `\` or
        # anything outside ASCII; found by the schemathesis contract suite.
        pytest.param("response_type", 'co"de', id="quote-in-response-type"),
        pytest.param("response_type", "cöde", id="non-ascii-response-type"),
        pytest.param("redirect_uri", APP_REDIRECT + "\\x", id="backslash-in-redirect-uri"),
        pytest.param("state", "abc\x10", id="control-character-in-state"),
    ],
)
async def test_malformed_authorization_request_shows_an_error_page(
    world: World, name: str, value: str
) -> None:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    params[name] = value
    response = await world.http.get("/oauth/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


async def test_staff_role_may_not_ask_beyond_its_cap(world: World) -> None:
    await world.add_client(
        "support-desk",
        public=True,
        scopes="support:read audit:read",
        redirect_uris=(CONSOLE_REDIRECT,),
    )
    await world.add_staff("agent@custodian.example", StaffRole.SUPPORT_AGENT)
    params, _ = await world.authorize(
        "support-desk",
        "agent@custodian.example",
        scope="support:read audit:read",
        redirect_uri=CONSOLE_REDIRECT,
    )
    assert params["error"] == "invalid_scope"
    assert "code" not in params
    allowed, _ = await world.authorize(
        "support-desk",
        "agent@custodian.example",
        scope="support:read",
        redirect_uri=CONSOLE_REDIRECT,
    )
    assert "code" in allowed


async def test_customer_may_not_ask_for_staff_scopes(world: World) -> None:
    params, _ = await world.authorize(
        "privacy-console", "ada@example.com", scope="audit:read", redirect_uri=CONSOLE_REDIRECT
    )
    assert params["error"] == "invalid_scope"
    assert "code" not in params


async def test_client_may_not_ask_beyond_its_registered_scopes(world: World) -> None:
    params = authorize_params("privacy-console", CONSOLE_REDIRECT, "profile:read", Pkce.new())
    response = await world.http.get("/oauth/authorize", params=params)
    assert response.status_code == 302
    assert "error=invalid_scope" in response.headers["location"]


async def test_sign_in_without_the_csrf_token_is_refused(world: World) -> None:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    fields = form_fields(page.text)
    for forged in ("", "0" * 64):
        response = await world.http.post(
            "/oauth/authorize",
            data={**fields, "csrf_token": forged, "email": "ada@example.com", "password": PASSWORD},
        )
        assert response.status_code == 403
        assert "Allow" not in response.text


async def test_consent_without_the_csrf_token_or_ticket_is_refused(world: World) -> None:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    consent = await world.http.post(
        "/oauth/authorize",
        data={**form_fields(page.text), "email": "ada@example.com", "password": PASSWORD},
    )
    fields = form_fields(consent.text)
    no_csrf = await world.http.post(
        "/oauth/authorize",
        follow_redirects=False,
        data={**fields, "csrf_token": "x", "decision": "allow"},
    )
    assert no_csrf.status_code == 403
    assert "location" not in no_csrf.headers
    no_ticket = await world.http.post(
        "/oauth/authorize",
        follow_redirects=False,
        data={
            **fields,
            "consent_ticket": fields["consent_ticket"][:-2] + "00",
            "decision": "allow",
        },
    )
    assert no_ticket.status_code == 400
    assert "location" not in no_ticket.headers
    # A ticket for other authorization parameters (a wider scope) does not carry over.
    wider = {**fields, "scope": "profile:read dsr:write", "decision": "allow"}
    assert (
        await world.http.post("/oauth/authorize", data=wider, follow_redirects=False)
    ).status_code == 400
