"""GET/POST /oauth/authorize: validate the request, sign the person in, ask for consent.

An unknown client or a redirect URI that is not registered exactly shows an error page and
never redirects. Any other error goes back to the client's redirect URI with `state` and
`iss` (RFC 9207). Each POST must carry the CSRF field matching the browser's cookie.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency

from api.oauth.client_address import client_address, parse_networks
from api.oauth.context import HttpRequest, Prefetched
from api.oauth.effects import apply_effects
from api.oauth.endpoints import read_form
from api.oauth.models import ClientModel
from api.oauth.openapi_spec import AUTHORIZE_PAGE, AUTHORIZE_SUBMIT, documented
from api.oauth.pages import consent_page, error_page, login_page
from api.oauth.services import OAuthServices
from api.oauth.tickets import (
    CSRF_COOKIE,
    TICKET_LIFETIME,
    csrf_field,
    csrf_ok,
    issue_ticket,
    new_csrf_cookie,
    params_digest,
    read_ticket,
    signed_in_at,
)
from api.web.translations import choose_language
from domain.identity import (
    HashingBusy,
    InvalidCredentials,
    LoginThrottled,
    Principal,
    parse_scopes,
)
from domain.oauth.login import SignInAttempt, sign_in

AUTH_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "max_age",
        "prompt",
    }
)
# OpenID Connect `prompt` values: with no sign-in session, `login` always holds.
_PROMPTS = frozenset({"login", "consent", "select_account"})
# The pages' stylesheet, no inline style, no script; `form-action` is added per page.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": f"{PAGE_CSP}; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}
# What a CSP source expression may be made of (CSP3 scheme-source and host-source): a
# registered redirect URI is rebuilt from these parts, never copied into the header.
_CSP_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_CSP_HOST = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")
WRONG_CREDENTIALS = "The email or password is not right."
# Authlib copies these into error descriptions, whose alphabet (RFC 6749 4.1.2.1: no `"`, no
# backslash) it enforces by raising ValueError, a 500; such values are refused first.
_ECHOED_PARAMS = frozenset({"response_type", "redirect_uri"})

Outcome = tuple[Any, HttpRequest, Prefetched] | Response[str]


def redirect_source(redirect_uri: str) -> str | None:
    """The CSP source naming where `redirect_uri` leads: its origin (`https://app.example`,
    `http://127.0.0.1:8765`), or its scheme alone (`com.example.app:`) for a private-use
    scheme or a host CSP cannot name (an IPv6 literal); None when even the scheme is not one.
    Built from the parsed parts, so nothing else of a registered URI reaches the header."""
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not _CSP_SCHEME.fullmatch(scheme):
        return None
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not _CSP_HOST.fullmatch(host):
        return f"{scheme}:"
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"


def html(
    body: str,
    status: int = 200,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    *,
    redirect_uri: str | None = None,
) -> Response[str]:
    """An HTML page with the security headers every sign-in page carries.

    Its forms post only to this origin (`form-action 'self'`). A page whose form may be
    answered with the redirect back to the client (the sign-in and consent pages) names the
    client's `redirect_uri` too: Chrome applies `form-action` to every redirect that follows
    a form's submission, so with `'self'` alone the browser would refuse the way back.
    """
    cookies = (
        [Cookie(key=CSRF_COOKIE, value=cookie, httponly=True, samesite="lax", path="/oauth")]
        if cookie
        else []
    )
    page_headers = dict(PAGE_HEADERS)
    source = redirect_source(redirect_uri) if redirect_uri else None
    if source is not None:
        page_headers["Content-Security-Policy"] = f"{PAGE_CSP}; form-action 'self' {source}"
    return Response(
        body,
        status_code=status,
        media_type="text/html",
        headers={**page_headers, **(headers or {})},
        cookies=cookies,
    )


def _redirect(oauth: OAuthServices, status: int, headers: list[tuple[str, str]]) -> Response[str]:
    location = dict(headers)["Location"]
    if "iss=" not in location:
        location = add_params_to_uri(location, [("iss", oauth.settings.issuer)])
    return Response(
        "",
        status_code=status,
        media_type=MediaType.TEXT,  # an empty body, not an empty JSON document
        headers={"Location": location, "Cache-Control": "no-store"},
    )


def _well_formed(pairs: list[tuple[str, str]]) -> bool:
    """Whether every value is VSCHAR (%x20-7E, RFC 6749 appendix A), as all authorization
    request parameters must be, and the echoed ones are safe in an error description."""
    for key, value in pairs:
        if not all(" " <= char <= "~" for char in value):
            return False
        if key in _ECHOED_PARAMS and ('"' in value or "\\" in value):
            return False
    return True


def _described(error: OAuth2Error) -> str:
    """What the error page says of an authorization request Authlib refused."""
    if error.error == "unsupported_response_type":
        # Authlib's own text repeats itself ("response_type=The response type 'None' is not
        # supported by the server. is not supported").
        return "The request must ask for response_type=code, the only type this server supports."
    return str(error.get_error_description() or error.error)


def page_language(request: Request[Any, Any, State]) -> str:
    """The language the sign-in pages speak: the browser's best supported choice."""
    return choose_language(None, request.headers.get("accept-language"))


async def _validate(
    oauth: OAuthServices,
    pairs: list[tuple[str, str]],
    request_id: str | None,
    language: str = "en",
) -> Outcome:
    """Authlib's verdict on the authorization request: a grant, or the response to send."""
    if not _well_formed(pairs):
        # Not redirected: a value this malformed cannot be trusted to reach the client.
        return html(error_page("The authorization request is malformed.", language), 400)
    ctx = Prefetched(now=oauth.now(), request_id=request_id)
    client_id = next((v for k, v in pairs if k == "client_id"), None)
    if client_id:
        async with oauth.uow_factory() as uow:
            client = await uow.clients.get(client_id)
        if client is not None:
            ctx.clients[client_id] = ClientModel(client)
    oauth_request = HttpRequest("GET", oauth.url("/oauth/authorize"), pairs, {})
    try:
        grant = oauth.server(ctx).get_consent_grant(oauth_request, end_user=None)
    except OAuth2Error as error:
        if error.redirect_uri:
            status, _, headers = error()
            return _redirect(oauth, status, headers)
        return html(error_page(_described(error), language), 400)
    refused = _fresh_sign_in_refusal(dict(pairs))
    if refused is not None:
        return _error_redirect(oauth, grant, *refused)
    return grant, oauth_request, ctx


def _fresh_sign_in_refusal(params: dict[str, str]) -> tuple[str, str] | None:
    """`max_age` and `prompt` (OpenID Connect): every authorization signs the person in
    afresh, so both are met; only malformed values and `prompt=none` are refused."""
    max_age = params.get("max_age")
    if max_age is not None and not (max_age.isdigit() and len(max_age) <= 9):
        return "invalid_request", "max_age must be a number of seconds."
    prompts = set(params.get("prompt", "").split())
    if "none" in prompts:
        return "login_required", "A sign-in is always required."
    if prompts - _PROMPTS:
        return "invalid_request", "Unsupported prompt value."
    return None


def _error_redirect(
    oauth: OAuthServices, grant: Any, error: str, description: str
) -> Response[str]:
    params = [("error", error), ("error_description", description)]
    state = grant.request.payload.state
    if state:
        params.append(("state", state))
    params.append(("iss", oauth.settings.issuer))
    return Response(
        "",
        status_code=302,
        media_type=MediaType.TEXT,
        headers={
            "Location": add_params_to_uri(grant.redirect_uri, params),
            "Cache-Control": "no-store",
        },
    )


@get(
    "/oauth/authorize",
    operation_id="oauthAuthorize",
    tags=["oauth"],
    media_type="text/html",
    operation_class=documented("OAuthAuthorizeOperation", AUTHORIZE_PAGE),
    summary="Start an authorization: shows the sign-in page",
)
async def authorize_page(
    request: Request[Any, Any, State], oauth: NamedDependency[OAuthServices]
) -> Response[str]:
    """The sign-in page for a valid authorization request; an error page or redirect if not."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k in AUTH_PARAMS]
    language = page_language(request)
    outcome = await _validate(oauth, pairs, request.headers.get("x-request-id"), language)
    if isinstance(outcome, Response):
        return outcome
    grant, _, _ = outcome
    cookie = request.cookies.get(CSRF_COOKIE) or new_csrf_cookie()
    return html(
        login_page(
            grant.client.client.name,
            pairs,
            csrf_field(oauth.page_key, cookie),
            language=language,
        ),
        cookie=cookie,
        redirect_uri=grant.redirect_uri,
    )


@dataclass(frozen=True, slots=True)
class _Flow:
    """One validated authorization request being submitted."""

    grant: Any
    request: HttpRequest
    ctx: Prefetched
    pairs: list[tuple[str, str]]
    fields: dict[str, str]
    cookie: str
    language: str


@post(
    "/oauth/authorize",
    operation_id="oauthAuthorizeSubmit",
    tags=["oauth"],
    media_type="text/html",
    status_code=200,
    operation_class=documented("OAuthAuthorizeSubmitOperation", AUTHORIZE_SUBMIT),
    summary="Submit the sign-in form or the consent decision",
)
async def authorize_submit(
    request: Request[Any, Any, State], oauth: NamedDependency[OAuthServices]
) -> Response[str]:
    """Sign-in (email, password) shows the consent screen; a decision redirects to the app."""
    form = await read_form(request)
    fields = dict(form)
    cookie = request.cookies.get(CSRF_COOKIE)
    language = page_language(request)
    if cookie is None or not csrf_ok(oauth.page_key, cookie, fields.get("csrf_token")):
        return html(
            error_page(
                "This form has expired or did not come from this site. Start the sign-in again.",
                language,
            ),
            403,
        )
    pairs = [(k, v) for k, v in form if k in AUTH_PARAMS]
    request_id = request.headers.get("x-request-id")
    outcome = await _validate(oauth, pairs, request_id, language)
    if isinstance(outcome, Response):
        return outcome
    flow = _Flow(outcome[0], outcome[1], outcome[2], pairs, fields, cookie, language)
    if "decision" in fields:
        return await _decide(oauth, flow)
    address = client_address(request, parse_networks(oauth.settings.trusted_proxies))
    return await _sign_in(
        oauth,
        flow,
        SignInAttempt(
            email=fields.get("email", ""),
            password=fields.get("password", ""),
            address=address,
            client_id=flow.grant.client.get_client_id(),
            request_id=request_id,
        ),
    )


async def _sign_in(oauth: OAuthServices, flow: _Flow, attempt: SignInAttempt) -> Response[str]:
    name = flow.grant.client.client.name
    csrf = csrf_field(oauth.page_key, flow.cookie)
    try:
        principal = await sign_in(
            attempt,
            uow_factory=oauth.uow_factory,
            hasher=oauth.hasher,
            clock=oauth.clock,
            policy=oauth.throttle,
        )
    except InvalidCredentials:
        return html(
            login_page(
                name, flow.pairs, csrf, WRONG_CREDENTIALS, attempt.email, language=flow.language
            ),
            401,
            redirect_uri=flow.grant.redirect_uri,
        )
    except LoginThrottled as throttled:
        wait = str(throttled.retry_after)
        message = f"Too many failed sign-ins. Try again in {wait} seconds."
        return html(
            login_page(name, flow.pairs, csrf, message, attempt.email, language=flow.language),
            429,
            headers={"Retry-After": wait},
            redirect_uri=flow.grant.redirect_uri,
        )
    except HashingBusy:
        return html(
            login_page(
                name,
                flow.pairs,
                csrf,
                "We are busy. Try again in a moment.",
                attempt.email,
                language=flow.language,
            ),
            503,
            headers={"Retry-After": "1"},
            redirect_uri=flow.grant.redirect_uri,
        )
    requested = parse_scopes(flow.grant.request.scope)
    if principal.beyond_cap(requested):
        return _error_redirect(
            oauth, flow.grant, "invalid_scope", "The account may not grant the requested scope."
        )
    ticket = issue_ticket(
        oauth.page_key,
        principal,
        params_digest(flow.pairs),
        flow.cookie,
        int(flow.ctx.now.timestamp()),
    )
    return html(
        consent_page(name, sorted(requested), flow.pairs, csrf, ticket, language=flow.language),
        redirect_uri=flow.grant.redirect_uri,
    )


async def _first_use(oauth: OAuthServices, flow: _Flow) -> bool:
    """Record the ticket's use; False when it answered a consent screen before (a replayed
    form must not yield a second code for one sign-in)."""
    ticket = flow.fields.get("consent_ticket") or ""
    now = flow.ctx.now
    async with oauth.uow_factory() as uow:
        first = await uow.tickets.use(
            hashlib.sha256(ticket.encode()).hexdigest(),
            now + timedelta(seconds=TICKET_LIFETIME),
            now,
        )
        await uow.commit()
    return first


async def _decide(oauth: OAuthServices, flow: _Flow) -> Response[str]:
    principal = read_ticket(
        oauth.page_key,
        flow.fields.get("consent_ticket"),
        params_digest(flow.pairs),
        flow.cookie,
        int(flow.ctx.now.timestamp()),
    )
    if principal is None or not await _first_use(oauth, flow):
        return html(
            error_page("Your sign-in has expired. Start again from the app.", flow.language), 400
        )
    moment = signed_in_at(flow.fields.get("consent_ticket") or "")
    flow.ctx.auth_time = datetime.fromtimestamp(moment, UTC) if moment is not None else None
    if principal.beyond_cap(parse_scopes(flow.grant.request.scope)):
        return _error_redirect(
            oauth, flow.grant, "invalid_scope", "The account may not grant the requested scope."
        )
    allowed: Principal | None = principal if flow.fields["decision"] == "allow" else None
    server = flow.grant.server
    answer = server.create_authorization_response(flow.request, allowed, flow.grant)
    if allowed is not None:
        async with oauth.uow_factory() as uow:
            await apply_effects(uow, flow.ctx)
    return _redirect(oauth, answer.status, answer.headers)
