"""Liveness and readiness, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

from pathlib import Path

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.composition import build_services
from api.settings import Settings

Client = AsyncTestClient[Litestar]
KEY = bytes(range(32))


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path, master_key=KEY)


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["content-type"].startswith("application/json")


async def test_the_index_links_to_what_this_server_serves(client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    index = response.json()
    assert index["openapi"] == "/schema/openapi.json"
    links = {name: value for name, value in index.items() if name != "service"}
    assert len(links) == 6
    for name, path in links.items():
        followed = await client.get(path, follow_redirects=False)
        # Every link is a route here (the readiness probe may say 503 on the test database).
        allowed = {200, 503} if name == "readiness" else {200}
        assert followed.status_code in allowed, (name, followed.status_code)


async def test_ready_on_a_migrated_database(db_url: str, tmp_path: Path) -> None:
    async with AsyncTestClient(app=create_app(settings_for(db_url, tmp_path))) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "head"}


async def _ready_status(app: Litestar) -> int:
    """GET /readyz inside the app's lifespan, on the test's own event loop.

    (AsyncTestClient runs the app on a loop of its own; an engine the test owns must not
    open connections there.)
    """
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        return (await client.get("/readyz")).status_code


async def test_engine_disposal_follows_ownership(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    settings = settings_for(db_url, tmp_path)
    # Services passed in belong to the caller: the pooled connection survives shutdown.
    services = build_services(settings, engine=engine)
    assert await _ready_status(create_app(settings, services=services)) == 200
    assert engine.pool.checkedin() >= 1
    # Services the app built itself are disposed at shutdown: the pool is emptied.
    app = create_app(settings)
    own_engine = app.state.services.engine
    assert await _ready_status(app) == 200
    assert own_engine.pool.checkedin() == 0
    assert own_engine is not engine


async def test_not_ready_on_an_unmigrated_database(blank_db_url: str, tmp_path: Path) -> None:
    async with AsyncTestClient(app=create_app(settings_for(blank_db_url, tmp_path))) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["database"] == "ok"
    assert body["migrations"] == "behind"
    assert "custodian migrate" in body["detail"]
    assert response.headers["retry-after"]


async def test_not_ready_on_an_empty_sqlite_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    settings = settings_for(f"sqlite+aiosqlite:///{empty}", tmp_path)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["migrations"] == "behind"


async def test_not_ready_when_the_database_is_unreachable(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    settings = settings_for("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["database"] == "unreachable"
    assert "127.0.0.1" not in response.text  # no connection details leak
