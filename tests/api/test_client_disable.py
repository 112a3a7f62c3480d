"""A disabled client is unknown to the authorization server: its refresh tokens stop
working, it cannot start a sign-in, and its grants are revoked."""

from __future__ import annotations

from oauth_harness import APP_REDIRECT, World

from api.oauth.flow_client import Pkce, authorize_params
from persistence.database import session_factory
from persistence.oauth.operators import disable_client, list_clients


async def test_disabling_a_client_stops_refresh_and_sign_in(world: World) -> None:
    await world.add_customer("gone@example.com")
    tokens = await world.tokens_for("gone@example.com", scope="profile:read")
    async with session_factory(world.engine)() as session:
        assert await disable_client(session, "demo-app") is True
        await session.commit()
    async with session_factory(world.engine)() as session:
        listed = {c.client_id: c.disabled for c in await list_clients(session)}
    assert listed["demo-app"] is True
    assert listed["privacy-console"] is False
    refreshed = await world.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "demo-app",
        }
    )
    assert refreshed.status_code in (400, 401)
    assert refreshed.json()["error"] == "invalid_client"
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    assert page.status_code == 400
    assert "location" not in page.headers


async def test_disabling_an_unknown_client_says_so(world: World) -> None:
    async with session_factory(world.engine)() as session:
        assert await disable_client(session, "nobody") is False
