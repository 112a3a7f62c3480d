"""What the application factory registers for the pages: their routers, the static files,
the template engine and the wiring kept in the app's state."""

from __future__ import annotations

from typing import Any

from litestar.static_files import create_static_files_router

from api.web.pages import STATIC, STATIC_PATH


def static_router() -> Any:
    """The pages' stylesheet under /static/web (no CDN)."""
    return create_static_files_router(
        path=STATIC_PATH, directories=[STATIC], include_in_schema=False, name="web-static"
    )
