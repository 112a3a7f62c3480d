"""In-process HTTP fixtures: an app on throw-away settings, plus routes that fail on purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from failing_routes import FailingRoutes
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings

TEST_KEY = bytes(range(32))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Development settings on a SQLite file that is never migrated (no test here needs it)."""
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        data_dir=tmp_path,
        master_key=TEST_KEY,
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    """The real application plus the failing test routes."""
    application = create_app(settings)
    application.register(FailingRoutes)
    return application


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An in-process client; runs the app's lifespan around the test."""
    async with AsyncTestClient(app=app) as test_client:
        yield test_client
