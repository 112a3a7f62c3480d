"""Token, revocation, introspection, metadata and JWKS endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency

from api.oauth.context import AuthlibResponse, HttpRequest, Prefetched
from api.oauth.effects import apply_effects, forget_revoked
from api.oauth.openapi_spec import INTROSPECT, REVOKE, TOKEN, documented
from api.oauth.prefetch import prefetch_presented_token, prefetch_token
from api.oauth.services import OAuthServices
from domain.identity import ALL_SCOPES, HashingBusy
from domain.oauth.ports import IdentityUnitOfWork

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CLIENT_AUTHENTICATION_FAILED = (
    "The client could not be authenticated: an unknown client id, a wrong secret, or a way "
    "of authenticating this client may not use."
)
Loader = Callable[
    [IdentityUnitOfWork, OAuthServices, Prefetched, dict[str, str], dict[str, str]], Awaitable[None]
]


async def read_form(request: Request[Any, Any, State]) -> list[tuple[str, str]]:
    """The form parameters as (name, value) pairs; empty for any other body."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return []
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def oauth_json(
    status: int, body: Any, headers: list[tuple[str, str]] | dict[str, str]
) -> Response[Any]:
    """A JSON OAuth response; never cached (RFC 6749 5.1)."""
    merged = {**dict(headers), **NO_STORE}
    merged.pop("Content-Type", None)
    return Response(content=body, status_code=status, headers=merged, media_type="application/json")


async def _handle(
    request: Request[Any, Any, State],
    oauth: OAuthServices,
    loader: Loader,
    run: Callable[[Any, HttpRequest], AuthlibResponse],
) -> Response[Any]:
    pairs = await read_form(request)
    repeated = _repeated_parameter(pairs)
    if repeated is not None:
        return oauth_json(
            400,
            {
                "error": "invalid_request",
                "error_description": f"The parameter {repeated} was sent more than once.",
            },
            {},
        )
    headers: Any = request.headers  # case-insensitive, as Authlib reads "Authorization"
    if not _basic_credentials_are_text(headers):
        return oauth_json(
            401,
            {"error": "invalid_client", "error_description": CLIENT_AUTHENTICATION_FAILED},
            {"WWW-Authenticate": 'Basic error="invalid_client"'},
        )
    oauth_request = HttpRequest(request.method, oauth.url(request.url.path), pairs, headers)
    ctx = Prefetched(now=oauth.now(), request_id=request.headers.get("x-request-id"))
    try:
        async with oauth.uow_factory() as uow:
            await loader(uow, oauth, ctx, oauth_request.payload.data, headers)
            answer = run(oauth.server(ctx), oauth_request)
            applied = await apply_effects(uow, ctx)
            forget_revoked(oauth.verified, ctx, replayed=not applied)
            if not applied:
                return oauth_json(
                    400,
                    {"error": "invalid_grant", "error_description": "The grant was already used."},
                    {},
                )
    except HashingBusy:
        return oauth_json(503, {"error": "temporarily_unavailable"}, {"Retry-After": "1"})
    body = answer.body
    if isinstance(body, dict) and body.get("error") == "invalid_client":
        # One description whatever failed: an unknown client and a known one with a wrong
        # secret must read the same, or the answer tells which client ids exist.
        body = {**body, "error_description": CLIENT_AUTHENTICATION_FAILED}
    return oauth_json(answer.status, body, answer.headers)


def _repeated_parameter(pairs: list[tuple[str, str]]) -> str | None:
    """The first form parameter sent more than once (RFC 6749 section 3.1 allows each
    once), or None."""
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            return name
        seen.add(name)
    return None


def _basic_credentials_are_text(headers: Any) -> bool:
    """Whether Basic credentials, when sent, decode as UTF-8: Authlib's parser raises on
    any other bytes (RFC 7617 names UTF-8 as the only charset), which would be a 500."""
    try:
        extract_basic_authorization(headers)
    except UnicodeDecodeError:
        return False
    return True


@post(
    "/oauth/token",
    operation_id="oauthToken",
    status_code=200,
    tags=["oauth"],
    operation_class=documented("OAuthTokenOperation", TOKEN),
    summary="Exchange a code, a refresh token or client credentials for tokens",
)
async def token_endpoint(
    request: Request[Any, Any, State], oauth: NamedDependency[OAuthServices]
) -> Response[Any]:
    """RFC 6749 token endpoint: authorization_code (PKCE S256), refresh_token,
    client_credentials."""
    return await _handle(
        request, oauth, prefetch_token, lambda server, req: server.create_token_response(req)
    )


@post(
    "/oauth/revoke",
    operation_id="oauthRevoke",
    status_code=200,
    tags=["oauth"],
    operation_class=documented("OAuthRevokeOperation", REVOKE),
    summary="Revoke an access or refresh token (RFC 7009)",
)
async def revoke_endpoint(
    request: Request[Any, Any, State], oauth: NamedDependency[OAuthServices]
) -> Response[Any]:
    """Revoking a refresh token revokes its whole family; unknown tokens answer 200."""
    return await _handle(
        request,
        oauth,
        prefetch_presented_token,
        lambda server, req: server.create_endpoint_response("revocation", req),
    )


@post(
    "/oauth/introspect",
    operation_id="oauthIntrospect",
    status_code=200,
    tags=["oauth"],
    operation_class=documented("OAuthIntrospectOperation", INTROSPECT),
    summary="Introspect one of the client's own tokens (RFC 7662; confidential clients)",
)
async def introspect_endpoint(
    request: Request[Any, Any, State], oauth: NamedDependency[OAuthServices]
) -> Response[Any]:
    """A confidential client learns about the tokens issued to itself only: another
    client's token answers `active: false`, exactly like an unknown, expired or revoked one,
    so holding a token never reveals whose it is."""
    return await _handle(
        request,
        oauth,
        prefetch_presented_token,
        lambda server, req: server.create_endpoint_response("introspection", req),
    )


def server_metadata(oauth: OAuthServices) -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    auth_methods = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": oauth.settings.issuer,
        "authorization_endpoint": oauth.url("/oauth/authorize"),
        "token_endpoint": oauth.url("/oauth/token"),
        "revocation_endpoint": oauth.url("/oauth/revoke"),
        "introspection_endpoint": oauth.url("/oauth/introspect"),
        "jwks_uri": oauth.url("/.well-known/jwks.json"),
        "scopes_supported": sorted(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods[:2],
        "authorization_response_iss_parameter_supported": True,
    }


@get(
    "/.well-known/oauth-authorization-server",
    operation_id="oauthServerMetadata",
    tags=["oauth"],
    summary="Authorization server metadata (RFC 8414)",
)
async def metadata_endpoint(oauth: NamedDependency[OAuthServices]) -> dict[str, Any]:
    """Where every endpoint is and what the server supports."""
    return server_metadata(oauth)


@get(
    "/.well-known/jwks.json",
    operation_id="oauthJwks",
    tags=["oauth"],
    summary="Public keys that verify access tokens",
)
async def jwks_endpoint(
    oauth: NamedDependency[OAuthServices], uow_factory: NamedDependency[Callable[[], Any]]
) -> dict[str, Any]:
    """Every usable public key, retired ones included until their tokens have expired,
    plus the Ed25519 keys of consent receipts and audit checkpoints."""
    document = oauth.codec.jwks()
    # Built without opening a transaction: the receipt and checkpoint keys are derived
    # from the master key when the unit of work is constructed.
    signing_jwks = getattr(uow_factory(), "signing_jwks", None)
    if signing_jwks is not None:
        document = {"keys": [*document["keys"], *signing_jwks()]}
    return document
