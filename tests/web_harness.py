"""Driving the portal as a browser would, in-process: start the sign-in, sign in and allow
on the real pages, come back to the callback, then use the pages."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
from oauth_harness import ISSUER, PASSWORD, World
from sqlalchemy.ext.asyncio import AsyncSession

from api.oauth.flow_client import sign_in_and_consent
from domain.identity import CUSTOMER_SCOPES
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.oauth.admin import (
    CONSOLE_CLIENT,
    PORTAL_CLIENT,
    create_client,
    first_party_client_secret,
)
from persistence.oauth.passwords import Argon2PasswordHasher

_HASHER = Argon2PasswordHasher()


async def register_web_clients(world: World) -> None:
    """The portal and the console's web pages, with their derived secrets."""
    master: MasterKey = world.master_key
    async with session_factory(world.engine)() as session:
        await _register(session, master, PORTAL_CLIENT, CUSTOMER_SCOPES, "/portal/callback")
        await _register(
            session,
            master,
            CONSOLE_CLIENT,
            frozenset({"audit:read", "dsr:admin", "analytics:read"}),
            "/console/callback",
        )
        await session.commit()


async def _register(
    session: AsyncSession, master: MasterKey, client_id: str, scopes: frozenset[str], path: str
) -> None:
    await create_client(
        session,
        name=client_id,
        public=False,
        redirect_uris=[ISSUER + path],
        scopes=scopes,
        client_id=client_id,
        hash_password=_HASHER.hash_blocking,
        replace=True,
        secret=first_party_client_secret(master, client_id),
    )


async def sign_in(
    http: httpx.AsyncClient, email: str, start: str = "/portal/login"
) -> httpx.Response:
    """The whole sign-in through the pages; `http` keeps the session cookie afterwards. The
    callback's answer: a 303 to the page the sign-in was for."""
    begun = await http.get(start)
    assert begun.status_code == 303, begun.text
    authorize = urlsplit(begun.headers["location"])
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    redirect = await sign_in_and_consent(http, params, email, PASSWORD)
    assert "code" in redirect.params, redirect.params
    back = urlsplit(redirect.location)
    done = await http.get(f"{back.path}?{back.query}")
    assert done.status_code == 303, done.text
    return done


class _Csrf(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("type") == "hidden" and "name" in values:
            self.fields.setdefault(values["name"], values.get("value", ""))


def hidden_fields(page: str) -> dict[str, str]:
    """The first value of each hidden field on the page (the CSRF token among them)."""
    parser = _Csrf()
    parser.feed(page)
    return parser.fields
