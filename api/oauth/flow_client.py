"""A scripted browser and app for the authorization code flow with PKCE (S256).

Drives the real HTML pages over HTTP exactly as a person would (GET the sign-in page,
submit email and password, press Allow) and exchanges the code. Used by
`custodian token --demo` and by the tests.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass(frozen=True, slots=True)
class Pkce:
    """A PKCE verifier and its S256 challenge (RFC 7636)."""

    verifier: str = field(repr=False)
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh random verifier (43 characters) and its challenge."""
        verifier = secrets.token_urlsafe(32)
        return cls(verifier, s256(verifier))


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _Form(HTMLParser):
    """The inputs of the first form on a page (hidden values and named buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.buttons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("type") == "hidden" and "name" in values:
            self.fields[values["name"]] = values.get("value", "")
        if tag == "button" and values.get("name") == "decision":
            self.buttons.append(values.get("value", ""))


def form_fields(page: str) -> dict[str, str]:
    """The hidden fields of the form on `page`."""
    parser = _Form()
    parser.feed(page)
    return parser.fields


@dataclass(frozen=True, slots=True)
class Redirect:
    """Where the authorization server sent the browser back to, and with what."""

    location: str
    params: dict[str, str]


class FlowError(Exception):
    """A step of the flow did not answer as expected; `response` says what it did."""

    def __init__(self, step: str, response: httpx.Response) -> None:
        super().__init__(f"{step}: {_what_it_said(response)}")
        self.step = step
        self.response = response


def _what_it_said(response: httpx.Response) -> str:
    """The status, and the OAuth error a redirect carries (`invalid_scope`, say, when the
    client may not ask for a scope) or the reason a JSON error body gives."""
    said = f"HTTP {response.status_code}"
    location = response.headers.get("location")
    if location is not None:
        query = parse_qs(urlsplit(location).query)
        if "error" in query:
            said += f", error={query['error'][0]}"
            if "error_description" in query:
                said += f": {query['error_description'][0]}"
        return said
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            return said
        if not isinstance(body, dict):
            return said
        reason = body.get("error_description") or body.get("detail") or body.get("error")
        if isinstance(reason, str):
            said += f": {reason}"
    return said


def authorize_params(
    client_id: str, redirect_uri: str, scope: str, pkce: Pkce, state: str | None = None
) -> dict[str, str]:
    """The query of an authorization request."""
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state or secrets.token_urlsafe(16),
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }


async def sign_in_and_consent(
    http: httpx.AsyncClient,
    params: dict[str, str],
    email: str,
    password: str,
    decision: str = "allow",
) -> Redirect:
    """Open the sign-in page, sign in, answer the consent screen; the final redirect."""
    page = await http.get("/oauth/authorize", params=params, follow_redirects=False)
    if page.status_code != 200:
        raise FlowError("sign-in page", page)
    login = {**form_fields(page.text), "email": email, "password": password}
    consent = await http.post("/oauth/authorize", data=login, follow_redirects=False)
    if consent.status_code == 302:  # refused after sign-in (e.g. invalid_scope for the account)
        return parse_redirect(consent)
    if consent.status_code != 200:
        raise FlowError("sign-in", consent)
    answer = {**form_fields(consent.text), "decision": decision}
    final = await http.post("/oauth/authorize", data=answer, follow_redirects=False)
    if final.status_code != 302:
        raise FlowError("consent", final)
    return parse_redirect(final)


def parse_redirect(response: httpx.Response) -> Redirect:
    """The Location of a redirect and its query parameters (first value each)."""
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    return Redirect(location, {k: v[0] for k, v in query.items()})


async def exchange_code(
    http: httpx.AsyncClient,
    *,
    client_id: str,
    code: str,
    redirect_uri: str,
    verifier: str | None,
    client_secret: str | None = None,
) -> httpx.Response:
    """POST the code (and verifier) to the token endpoint; the raw response."""
    data: dict[str, Any] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    auth = (client_id, client_secret) if client_secret else None
    return await http.post("/oauth/token", data=data, auth=auth)  # type: ignore[arg-type]


async def obtain_tokens(
    http: httpx.AsyncClient,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    email: str,
    password: str,
    client_secret: str | None = None,
) -> dict[str, Any]:
    """The whole flow: PKCE, sign-in, consent, code exchange. The token response."""
    pkce = Pkce.new()
    params = authorize_params(client_id, redirect_uri, scope, pkce)
    redirect = await sign_in_and_consent(http, params, email, password)
    if "code" not in redirect.params or redirect.params.get("state") != params["state"]:
        raise ValueError(f"the authorization failed: {redirect.params.get('error')}")
    response = await exchange_code(
        http,
        client_id=client_id,
        code=redirect.params["code"],
        redirect_uri=redirect_uri,
        verifier=pkce.verifier,
        client_secret=client_secret,
    )
    if response.status_code != 200:
        raise FlowError("token", response)
    tokens: dict[str, Any] = response.json()
    return tokens
