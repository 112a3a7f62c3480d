"""What the application factory registers for OAuth: routes, dependencies, the guard and
the OpenAPI security scheme."""

from __future__ import annotations

from typing import Any

from litestar.di import Provide
from litestar.openapi.spec import OAuthFlow, OAuthFlows, SecurityScheme

from api.oauth.authorize import authorize_page, authorize_submit
from api.oauth.endpoints import (
    introspect_endpoint,
    jwks_endpoint,
    metadata_endpoint,
    revoke_endpoint,
    token_endpoint,
)
from api.oauth.guard import BearerGuard, provide_caller
from api.oauth.me import get_me
from api.oauth.openid_routes import OPENID_ROUTE_HANDLERS
from api.oauth.services import OAuthServices
from domain.identity import CUSTOMER_SCOPES, SCOPE_DESCRIPTIONS, SERVICE_SCOPES, STAFF_SCOPES


def oauth_route_handlers() -> list[Any]:
    """Every OAuth endpoint plus GET /v1/me."""
    return [
        authorize_page,
        authorize_submit,
        token_endpoint,
        revoke_endpoint,
        introspect_endpoint,
        metadata_endpoint,
        jwks_endpoint,
        get_me,
        *OPENID_ROUTE_HANDLERS,
    ]


def oauth_dependencies(oauth: OAuthServices) -> dict[str, Provide]:
    """`oauth` (the services) and `caller` (the resolved Caller on /v1 routes)."""
    return {
        "oauth": Provide(lambda: oauth, use_cache=True, sync_to_thread=False),
        "caller": Provide(provide_caller, sync_to_thread=False),
    }


def bearer_guard(oauth: OAuthServices) -> BearerGuard:
    """The /v1 resource guard (an ASGIMiddleware instance), to list after the request-id
    and logging middleware."""
    return BearerGuard(oauth)


def oauth2_security_scheme(issuer: str) -> SecurityScheme:
    """The `oauth2` security scheme for the OpenAPI components."""
    base = issuer.rstrip("/")
    customer = {s: SCOPE_DESCRIPTIONS[s] for s in sorted(CUSTOMER_SCOPES)}
    staff = {s: SCOPE_DESCRIPTIONS[s] for s in sorted(STAFF_SCOPES)}
    # Client credentials carry no person, so never a staff power over customers.
    service = {s: SCOPE_DESCRIPTIONS[s] for s in sorted(SERVICE_SCOPES)}
    return SecurityScheme(
        type="oauth2",
        description="Access tokens are RFC 9068 JWTs (ES256). PKCE with S256 is required.",
        flows=OAuthFlows(
            authorization_code=OAuthFlow(
                authorization_url=f"{base}/oauth/authorize",
                token_url=f"{base}/oauth/token",
                refresh_url=f"{base}/oauth/token",
                scopes={**customer, **staff},
            ),
            client_credentials=OAuthFlow(token_url=f"{base}/oauth/token", scopes=service),
        ),
    )
