"""CORS: a registered client's web origin may call the API from a page; preflights are
answered before the bearer guard; other origins get no CORS permission."""

from __future__ import annotations

from datetime import UTC, datetime

from oauth_harness import World

from api.cors import RegisteredOrigins
from domain.identity import OAuthClient

APP_ORIGIN = "http://127.0.0.1:8765"  # demo-app's redirect URI is on this origin
PREFLIGHT = {
    "Origin": APP_ORIGIN,
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "authorization, if-match, content-type",
}


async def test_preflight_from_a_registered_origin_never_meets_the_bearer_guard(
    world: World,
) -> None:
    response = await world.http.options("/v1/me/profile", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "if-match", "content-type"} <= set(allowed.replace(" ", "").split(","))
    assert "Origin" in response.headers["vary"]
    assert "www-authenticate" not in response.headers
    assert response.headers["x-request-id"]


async def test_preflight_from_an_unknown_origin_is_refused(world: World) -> None:
    response = await world.http.options(
        "/v1/me/profile", headers={**PREFLIGHT, "Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "access-control-allow-origin" not in response.headers
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_actual_request_from_the_app_can_read_the_answer_and_its_headers(
    world: World,
) -> None:
    await world.add_customer("cors@example.com")
    tokens = await world.tokens_for("cors@example.com", scope="profile:read")
    response = await world.http.get(
        "/v1/me/profile",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Origin": APP_ORIGIN},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "ETag" in response.headers["access-control-expose-headers"]
    # Errors are readable by the page too (a 401 without a token).
    refused = await world.http.get("/v1/me/profile", headers={"Origin": APP_ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == APP_ORIGIN


async def test_unknown_origin_gets_no_cors_permission(world: World) -> None:
    response = await world.http.get(
        "/.well-known/openid-configuration", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_sign_in_pages_are_not_shared_cross_origin(world: World) -> None:
    response = await world.http.options(
        "/oauth/authorize", headers={**PREFLIGHT, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_origins_are_cached_and_survive_an_unreachable_database() -> None:
    now = [0.0]
    loads = []
    client = OAuthClient(
        client_id="spa",
        name="SPA",
        public=True,
        redirect_uris=("https://spa.example/cb", "com.example.app:/cb"),
        scopes=frozenset({"profile:read"}),
        created_at=datetime.now(UTC),
    )

    async def load() -> list[OAuthClient]:
        loads.append(now[0])
        if len(loads) > 1:
            raise ConnectionRefusedError("database down")
        return [client]

    origins = RegisteredOrigins(load, ttl=30, monotonic=lambda: now[0])
    assert await origins.allows("https://spa.example")
    assert await origins.allows("HTTPS://SPA.EXAMPLE")
    assert not await origins.allows("com.example.app:")
    assert len(loads) == 1  # cached
    now[0] = 31.0
    assert await origins.allows("https://spa.example")  # kept while the database is down
    assert len(loads) == 2
