"""Sign-in for the pages, as a backend for frontend: the authorization-code flow with PKCE
against this server's own /oauth/authorize and /oauth/token, as a confidential client.

The tokens stay on the server, in the session store; the browser holds one random session
token in an HttpOnly, SameSite=Lax cookie (Secure when the issuer is HTTPS) scoped to the
app's path. A completed sign-in gets a new session token (no fixation), signing out revokes
the tokens at /oauth/revoke and forgets the session, and a session idle for longer than
IDLE_TIMEOUT ends.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.datastructures import Cookie

from api.oauth.flow_client import Pkce
from api.web.inprocess import Api, asgi_client
from api.web.redirects import see_other
from api.web.security import csrf_token
from api.web.wiring import IDLE_TIMEOUT, SESSION_LIFETIME, SIGN_IN_LIFETIME, WebWiring, wiring_of
from domain.web.sessions import SessionSecrets, WebSession

REFRESH_MARGIN_SECONDS = 30
"""An access token this close to its end is refreshed before it is used."""
TOUCH_EVERY_SECONDS = 30
"""The last-seen time is written at most this often (a write per page view is not needed)."""


@dataclass(frozen=True, slots=True)
class WebApp:
    """One of the page apps: where it lives and how it signs in."""

    name: str
    prefix: str
    client_id: str
    scopes: str

    @property
    def cookie(self) -> str:
        """The session cookie's name."""
        return f"custodian_{self.name}"

    @property
    def home(self) -> str:
        """The app's first page."""
        return self.prefix

    def redirect_uri(self, issuer: str) -> str:
        """The registered redirect URI: `<issuer><prefix>/callback`."""
        return f"{issuer}{self.prefix}/callback"


class NotSignedIn(Exception):
    """No usable session: the page sends the browser to the app's sign-in page."""

    def __init__(self, app: WebApp) -> None:
        super().__init__(app.name)
        self.app = app


class SignInFailed(Exception):
    """The sign-in came back refused or did not match the one started here."""

    def __init__(self, app: WebApp, reason: str) -> None:
        super().__init__(reason)
        self.app = app
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A signed-in session: the API as its person, and what forms need."""

    session: WebSession
    api: Api
    csrf: str

    @property
    def language(self) -> str | None:
        """The person's profile language, when known."""
        return self.session.secrets.language

    def has_scope(self, scope: str) -> bool:
        """Whether the session's access token was granted `scope`."""
        return scope in (self.session.secrets.scope or "").split()


def digest(token: str) -> str:
    """How the store knows a session token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_cookie(app: WebApp, wiring: WebWiring, value: str, *, clear: bool = False) -> Cookie:
    """The session cookie (or its removal): HttpOnly, SameSite=Lax, the app's path."""
    return Cookie(
        key=app.cookie,
        value="" if clear else value,
        path=app.prefix,
        httponly=True,
        secure=wiring.secure_cookies,
        samesite="lax",
        max_age=0 if clear else None,
    )


# A path of the site as a browser sends it: printable ASCII, anything else percent-encoded.
_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]+")


def _is_own_page(path: str | None, app: WebApp) -> bool:
    """Whether a page asked to come back to after sign-in (`?next=`) is one of `app`'s own,
    and safe to send back as a Location: no other site (`//host`), no way out of the app's
    path (`..`), no character a header cannot carry (a line break would end it)."""
    return bool(
        path
        and _PATH.fullmatch(path)
        and path.startswith(app.prefix + "/")
        and "//" not in path
        and ".." not in path
    )


async def start_sign_in(
    request: Request[Any, Any, Any],
    app: WebApp,
    *,
    extra_scopes: tuple[str, ...] = (),
    fresh: bool = False,
    next_path: str | None = None,
) -> Response[str]:
    """Forget any current session and send the browser to /oauth/authorize.

    `fresh` asks for a new sign-in even if one happened moments ago (`prompt=login`), as
    erasure needs; `extra_scopes` adds scopes never asked for by default.
    """
    wiring = wiring_of(request)
    await sign_out_quietly(request, app)
    # Sessions past their absolute end are swept here, where new ones begin: the table stays
    # as small as the number of people signed in, with no timer of its own.
    await wiring.sessions.delete_ended(wiring.clock.now())
    token = secrets.token_urlsafe(32)
    pkce = Pkce.new()
    state = secrets.token_urlsafe(16)
    now = wiring.clock.now()
    safe_next = next_path if _is_own_page(next_path, app) else None
    await wiring.sessions.save(
        WebSession(
            token_digest=digest(token),
            app=app.name,
            secrets=SessionSecrets(state=state, verifier=pkce.verifier, next_path=safe_next),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SIGN_IN_LIFETIME,
        )
    )
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri(wiring.issuer),
        "scope": " ".join([app.scopes, *extra_scopes]),
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    if fresh:
        params["prompt"] = "login"
    return see_other(
        "/oauth/authorize?" + urlencode(params), cookies=[session_cookie(app, wiring, token)]
    )


async def _token_request(
    request: Request[Any, Any, Any], app: WebApp, data: dict[str, str]
) -> dict[str, Any] | None:
    wiring = wiring_of(request)
    auth = (app.client_id, wiring.client_secrets[app.client_id])
    async with asgi_client(request, wiring.issuer) as http:
        response = await http.post("/oauth/token", data=data, auth=auth)
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body


async def finish_sign_in(request: Request[Any, Any, Any], app: WebApp) -> Response[str]:
    """The callback: check `state` against the session that started the sign-in, exchange
    the code (with the PKCE verifier and the client's secret), keep the tokens under a new
    session token. SignInFailed when anything does not match."""
    wiring = wiring_of(request)
    token = request.cookies.get(app.cookie)
    pending = await wiring.sessions.find(digest(token)) if token else None
    now = wiring.clock.now()
    if pending is None or pending.app != app.name or pending.signed_in or now >= pending.expires_at:
        raise SignInFailed(app, "expired")
    await wiring.sessions.delete(pending.token_digest)
    state = request.query_params.get("state") or ""
    if not hmac.compare_digest(state, pending.secrets.state or ""):
        raise SignInFailed(app, "mismatch")
    code = request.query_params.get("code")
    if not code:
        raise SignInFailed(app, request.query_params.get("error") or "refused")
    tokens = await _token_request(
        request,
        app,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri(wiring.issuer),
            "code_verifier": pending.secrets.verifier or "",
        },
    )
    if tokens is None:
        raise SignInFailed(app, "token")
    fresh_token = secrets.token_urlsafe(32)
    session = WebSession(
        token_digest=digest(fresh_token),
        app=app.name,
        secrets=SessionSecrets(
            access_token=str(tokens["access_token"]),
            refresh_token=tokens.get("refresh_token"),
            access_expires_at=int(now.timestamp()) + int(tokens.get("expires_in", 0)),
            scope=tokens.get("scope"),
        ),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    await wiring.sessions.save(session)
    return see_other(
        pending.secrets.next_path or app.home, cookies=[session_cookie(app, wiring, fresh_token)]
    )


async def _refreshed(
    request: Request[Any, Any, Any], app: WebApp, session: WebSession
) -> WebSession | None:
    refresh = session.secrets.refresh_token
    if refresh is None:
        return None
    tokens = await _token_request(
        request, app, {"grant_type": "refresh_token", "refresh_token": refresh}
    )
    if tokens is None:
        return None
    now = int(wiring_of(request).clock.now().timestamp())
    secrets_now = replace(
        session.secrets,
        access_token=str(tokens["access_token"]),
        refresh_token=tokens.get("refresh_token") or refresh,
        access_expires_at=now + int(tokens.get("expires_in", 0)),
    )
    return replace(session, secrets=secrets_now)


async def signed_in(request: Request[Any, Any, Any], app: WebApp) -> SignedIn:
    """The request's signed-in session, refreshed and touched; NotSignedIn when there is
    none, it belongs to the other app, it has been idle too long or cannot be refreshed."""
    wiring = wiring_of(request)
    token = request.cookies.get(app.cookie)
    if not token:
        raise NotSignedIn(app)
    session = await wiring.sessions.find(digest(token))
    now = wiring.clock.now()
    if session is None or session.app != app.name or not session.signed_in:
        raise NotSignedIn(app)
    if session.idle_since(now, IDLE_TIMEOUT):
        await _forget(request, app, session)
        raise NotSignedIn(app)
    changed = False
    expires = session.secrets.access_expires_at or 0
    if expires - now.timestamp() < REFRESH_MARGIN_SECONDS:
        refreshed = await _refreshed(request, app, session)
        if refreshed is None:
            await wiring.sessions.delete(session.token_digest)
            raise NotSignedIn(app)
        session, changed = refreshed, True
    if changed or (now - session.last_seen_at).total_seconds() >= TOUCH_EVERY_SECONDS:
        session = session.touched(now)
        await wiring.sessions.save(session)
    access_token = session.secrets.access_token or ""
    api = Api(request, wiring.issuer, access_token)
    return SignedIn(session, api, csrf_token(wiring.csrf_key, session.token_digest))


async def remember_language(
    request: Request[Any, Any, Any], current: SignedIn, language: str | None
) -> None:
    """Keep the person's profile language in the session, so every page speaks it."""
    if language == current.session.secrets.language:
        return
    session = replace(current.session, secrets=replace(current.session.secrets, language=language))
    await wiring_of(request).sessions.save(session)


async def _revoke(request: Request[Any, Any, Any], app: WebApp, session: WebSession) -> None:
    wiring = wiring_of(request)
    auth = (app.client_id, wiring.client_secrets[app.client_id])
    async with asgi_client(request, wiring.issuer) as http:
        for token, hint in (
            (session.secrets.refresh_token, "refresh_token"),
            (session.secrets.access_token, "access_token"),
        ):
            if token:
                await http.post(
                    "/oauth/revoke", data={"token": token, "token_type_hint": hint}, auth=auth
                )


async def _forget(request: Request[Any, Any, Any], app: WebApp, session: WebSession) -> None:
    if session.signed_in:
        await _revoke(request, app, session)
    await wiring_of(request).sessions.delete(session.token_digest)


async def sign_out_quietly(request: Request[Any, Any, Any], app: WebApp) -> None:
    """Revoke the current session's tokens and forget it, if there is one."""
    wiring = wiring_of(request)
    token = request.cookies.get(app.cookie)
    if not token:
        return
    session = await wiring.sessions.find(digest(token))
    if session is not None and session.app == app.name:
        await _forget(request, app, session)


async def sign_out(request: Request[Any, Any, Any], app: WebApp) -> Response[str]:
    """Revoke the tokens, forget the session, clear the cookie, back to the app's home."""
    await sign_out_quietly(request, app)
    wiring = wiring_of(request)
    return see_other(app.home, cookies=[session_cookie(app, wiring, "", clear=True)])
