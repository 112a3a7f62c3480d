"""Reading a posted form: refused unless it carries the session's CSRF token."""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.web.security import CSRF_FIELD, csrf_ok
from api.web.signin import SignedIn, WebApp
from api.web.wiring import wiring_of


class CsrfRefused(Exception):
    """A form without this session's CSRF token: it did not come from our page."""

    def __init__(self, app: WebApp) -> None:
        super().__init__(app.name)
        self.app = app


async def posted_form(
    request: Request[Any, Any, Any], app: WebApp, current: SignedIn
) -> dict[str, str]:
    """The form's fields (first value of each), once its CSRF token is checked."""
    form = await request.form()
    fields = {key: str(value) for key, value in form.items()}
    key = wiring_of(request).csrf_key
    if not csrf_ok(key, current.session.token_digest, fields.get(CSRF_FIELD)):
        raise CsrfRefused(app)
    return fields
