"""Every console page, under /console."""

from __future__ import annotations

from litestar import Router

from api.console import analytics, audit, corrections, requests
from api.console.site import CONSOLE, chrome
from api.web.errors import exception_handlers


def console_router() -> Router:
    """The /console router."""
    return Router(
        path=CONSOLE.prefix,
        route_handlers=[
            requests.queue,
            requests.show_request,
            requests.login,
            requests.callback,
            requests.logout,
            corrections.list_corrections,
            corrections.decide,
            audit.search,
            analytics.dashboard,
        ],
        exception_handlers=exception_handlers(CONSOLE, chrome),  # type: ignore[arg-type]
        include_in_schema=False,
    )
