"""OpenID Connect routes: provider discovery and the UserInfo endpoint."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, post
from litestar.di import NamedDependency

from api.oauth.endpoints import server_metadata
from api.oauth.openid import openid_configuration
from api.oauth.services import OAuthServices
from api.routes import problems
from domain.identity import Caller

USERINFO_PATH = "/v1/userinfo"
_USERINFO: dict[str, Any] = {
    "tags": ["openid"],
    "opt": {"scopes": ("openid",)},
    "security": [{"oauth2": ["openid"]}],
    "responses": problems(),
}


class UserInfo(msgspec.Struct):
    """The signed-in person's claims (OpenID Connect Core 5.3)."""

    sub: str


@get(
    "/.well-known/openid-configuration",
    operation_id="openidConfiguration",
    tags=["openid"],
    summary="OpenID Provider metadata (OpenID Connect Discovery 1.0)",
)
async def openid_configuration_endpoint(oauth: NamedDependency[OAuthServices]) -> dict[str, Any]:
    """The authorization server metadata plus the UserInfo endpoint, ID token algorithms and
    supported claims, so OpenID Connect SDKs configure themselves from the issuer alone."""
    return openid_configuration(server_metadata(oauth), oauth.url(USERINFO_PATH))


def _user_info(caller: Caller) -> UserInfo:
    # Only the subject: names and contact details are read (and audited) through the API.
    return UserInfo(sub=str(caller.subject_id) if caller.subject_id else caller.client_id)


@get(
    USERINFO_PATH,
    operation_id="getUserInfo",
    summary="The signed-in person's OpenID Connect claims",
    **_USERINFO,
)
async def userinfo_get(caller: NamedDependency[Caller]) -> UserInfo:
    """`sub`, the same as in the ID token; needs an access token with the `openid` scope."""
    return _user_info(caller)


@post(
    USERINFO_PATH,
    operation_id="postUserInfo",
    status_code=200,
    summary="The signed-in person's OpenID Connect claims (POST form)",
    **_USERINFO,
)
async def userinfo_post(caller: NamedDependency[Caller]) -> UserInfo:
    """The same as GET: OpenID Connect requires both methods."""
    return _user_info(caller)


OPENID_ROUTE_HANDLERS = [openid_configuration_endpoint, userinfo_get, userinfo_post]
