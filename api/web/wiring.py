"""What the pages need from the running application, kept in its state under `web`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from litestar import Request

from api.settings import Settings
from domain.clock import Clock
from domain.web.sessions import WebSessionStore

WEB_STATE_KEY = "web"
IDLE_TIMEOUT = timedelta(minutes=15)
"""A session unused this long has ended: the person signs in again."""
SESSION_LIFETIME = timedelta(hours=12)
"""However active, a session ends this long after the sign-in."""
SIGN_IN_LIFETIME = timedelta(minutes=10)
"""How long a sign-in that has started may take to come back to the callback."""


@dataclass(frozen=True, slots=True)
class WebWiring:
    """The session store, the web clients' secrets, the CSRF key, the settings and clock."""

    settings: Settings
    clock: Clock
    sessions: WebSessionStore
    client_secrets: dict[str, str] = field(repr=False)
    csrf_key: bytes = field(repr=False)

    @property
    def issuer(self) -> str:
        """The public origin, without a trailing slash."""
        return self.settings.issuer.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        """Cookies are Secure only over HTTPS: on http://localhost a browser would drop a
        Secure cookie, and nobody could sign in."""
        return self.settings.issuer_is_https


def wiring_of(request: Request[Any, Any, Any]) -> WebWiring:
    """The pages' wiring of the application serving `request`."""
    wiring = request.app.state.get(WEB_STATE_KEY)
    if not isinstance(wiring, WebWiring):
        raise TypeError("the application was built without the web pages' wiring")
    return wiring
