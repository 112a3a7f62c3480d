"""Routes that exist only in tests, to reach each error path through real HTTP.

Kept out of a conftest module: Litestar resolves a handler's annotations in the module named
by the handler's `__module__`, and every conftest module is named `conftest`, so the one
imported last would be searched instead.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import (
    CookieParameter,
    HeaderParameter,
    JSONBody,
    PathParameter,
    QueryParameter,
)

from domain.errors import Conflict, IntegrityError, NotFound, ValidationFailed

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
"""A page's own policy, which the request middleware must leave as the route set it."""


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

    @get("/typed/{code:str}", operation_id="testTyped")
    async def typed(
        self,
        code: Annotated[str, PathParameter(max_length=3)],
        count: Annotated[int, QueryParameter()],
        header_count: Annotated[int, HeaderParameter(name="X-Count")],
        cookie_count: Annotated[int, CookieParameter(name="count")],
    ) -> None:
        return None

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
        response_headers={"Content-Security-Policy": PAGE_CSP},
    )
    async def page(self) -> Response[str]:
        return Response("<form></form>", media_type="text/html")

    @get("/cacheable", operation_id="testCacheable")
    async def cacheable(self) -> Response[dict[str, str]]:
        return Response({"ok": "yes"}, headers={"Cache-Control": "public, max-age=60"})
