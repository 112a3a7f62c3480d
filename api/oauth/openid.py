"""OpenID Connect on top of the authorization code flow (Authlib's `OpenIDCode`).

When the granted scope includes `openid`, the token response of the code exchange also
carries an ID token: an ES256 JWT signed with the access tokens' current key (so the one
JWKS verifies both), with `iss`, `aud` (the client), `azp`, `sub` (the person's id, nothing
else about them), `iat`/`exp` from the server's clock, `auth_time` (when the person signed
in, as the grant records it), `nonce` (from the authorization request), `acr` and `amr`.
Refreshing does not issue a new ID token (OpenID Connect Core 12.2 leaves it optional).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jwk

from api.oauth.models import ACR_PASSWORD, ClientModel, GrantUser
from domain.oauth.tokens import Grant

if TYPE_CHECKING:
    from api.oauth.server import CustodianServer

ID_TOKEN_ALGORITHM = "ES256"  # noqa: S105 - an algorithm name, not a secret
SUPPORTED_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp")


def sign_in_time(grant: Grant) -> int:
    """When the person behind `grant` signed in, as a Unix time.

    The grant is created when the person allows the app, within the consent ticket's few
    minutes of signing in, and a refresh keeps the grant, so its creation time stands for the
    sign-in everywhere (ID tokens now, `max_age` checks later).
    """
    return int(grant.created_at.timestamp())


class OpenIDCodeExtension(OpenIDCode):  # type: ignore[misc]
    """Authlib's OpenID extension of the code grant, bound to one request's server."""

    def __init__(self, server: CustodianServer) -> None:
        # A nonce is the client's protection against replay; it is optional (Core 3.1.2.1).
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """Never refuses a nonce: the client checks the ID token's nonce against the one it
        sent, and a code (hence an ID token) is issued once per authorization."""
        return False

    def resolve_client_private_key(self, client: ClientModel) -> jwk.ECKey:
        """The issuer's current signing key."""
        return self.server.codec.signing_key()[1]

    def get_client_algorithm(self, client: ClientModel) -> str:
        """ES256 for every client, like access tokens."""
        return ID_TOKEN_ALGORITHM

    def get_encode_header(self, client: ClientModel) -> dict[str, str]:
        """`kid` names the JWKS key that verifies the token."""
        return {"alg": ID_TOKEN_ALGORITHM, "typ": "JWT", "kid": self.server.codec.signing_key()[0]}

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        """The registered claims, timed by the server's clock rather than the wall clock."""
        now = self.server.unix()
        client_id = request.client.get_client_id()
        claims: dict[str, Any] = {
            "iss": self.server.settings.issuer,
            "aud": [client_id],
            "azp": client_id,
            "iat": now,
            "exp": now + self.server.codec.ttl,
        }
        user: GrantUser | None = request.user
        if user is not None:
            claims["auth_time"] = sign_in_time(user.grant)
        return claims

    def generate_user_info(self, user: GrantUser, scope: str) -> UserInfo:
        """Only `sub`: personal data is read (and audited) through the API, not copied into
        tokens that any holder can decode."""
        return UserInfo(sub=str(user.grant.subject_id))


def openid_configuration(base: dict[str, Any], userinfo_endpoint: str) -> dict[str, Any]:
    """OpenID Provider metadata (Discovery 1.0, section 3): the RFC 8414 metadata `base`
    plus what an OpenID relying party needs."""
    return {
        **base,
        "userinfo_endpoint": userinfo_endpoint,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ID_TOKEN_ALGORITHM],
        "acr_values_supported": [ACR_PASSWORD],
        "claims_supported": list(SUPPORTED_CLAIMS),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
