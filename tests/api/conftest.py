"""In-process HTTP fixtures: an app on throw-away settings, plus routes that fail on purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from litestar import Controller, Litestar, Response, get, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.middleware import FORM_PAGE_CSP
from api.settings import Settings
from domain.errors import Conflict, IntegrityError, NotFound, ValidationFailed

TEST_KEY = bytes(range(32))


class Item(msgspec.Struct):
    """A body for the validation and size-limit tests."""

    name: str
    quantity: int


class FailingRoutes(Controller):
    """Routes that exist only in tests, to reach each error path through real HTTP."""

    path = "/_test"

    @post("/items", operation_id="testCreateItem")
    async def create_item(self, data: JSONBody[Item]) -> Item:
        return data

    @get("/missing", operation_id="testMissing")
    async def missing(self) -> None:
        raise NotFound("account 42 belongs to customer 7")

    @get("/conflict", operation_id="testConflict")
    async def conflict(self) -> None:
        raise Conflict("notice version 3 is stale; the current one is 4")

    @get("/invalid", operation_id="testInvalid")
    async def invalid(self) -> None:
        raise ValidationFailed({"phone": "too short", "postal_code": "unknown format"})

    @get("/integrity", operation_id="testIntegrity")
    async def integrity(self) -> None:
        raise IntegrityError("ciphertext of customers.email row 5 did not authenticate")

    @get("/crash", operation_id="testCrash")
    async def crash(self) -> None:
        raise RuntimeError("internal canary detail: /srv/custodian/db.sqlite password=hunter2")

    @get(
        "/page",
        operation_id="testPage",
        response_headers={"Content-Security-Policy": FORM_PAGE_CSP},
    )
    async def page(self) -> Response[str]:
        return Response("<form></form>", media_type="text/html")

    @get("/cacheable", operation_id="testCacheable")
    async def cacheable(self) -> Response[dict[str, str]]:
        return Response({"ok": "yes"}, headers={"Cache-Control": "public, max-age=60"})


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
