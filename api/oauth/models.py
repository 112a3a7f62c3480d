"""Domain records dressed in the mixins Authlib's grants expect.

Authlib's server core is synchronous, so nothing here touches storage: every record was
loaded before Authlib runs (see `api.oauth.server`) and every decision Authlib makes is
recorded as an effect, applied afterwards in one transaction.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from api.oauth.access_tokens import AccessClaims
from domain.identity import OAuthClient, Principal, format_scopes, parse_scopes
from domain.oauth.tokens import AuthorizationCode, Grant, RefreshToken

CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
ACR_PASSWORD = "urn:custodian:acr:password"  # noqa: S105 - an acr value, not a secret
"""The `acr` of a sign-in with email and password (the only way to sign in)."""


class ClientModel(ClientMixin):  # type: ignore[misc]
    """A registered client. `verified_secret` is the secret already checked off the loop."""

    def __init__(self, client: OAuthClient, verified_secret: str | None = None) -> None:
        self.client = client
        self.verified_secret = verified_secret

    @property
    def client_id(self) -> str:
        """The client's id."""
        return self.client.client_id

    def get_client_id(self) -> str:
        """The client's id."""
        return self.client.client_id

    def get_default_redirect_uri(self) -> None:
        """None: a request must name its redirect URI, and it must match exactly."""
        return

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scope if the client may ask for all of it; its whole scope if none.

        None makes Authlib answer invalid_scope.
        """
        if not scope:
            return format_scopes(self.client.scopes)
        requested = parse_scopes(scope)
        return format_scopes(requested) if requested <= self.client.scopes else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string comparison with a registered URI."""
        return self.client.allows_redirect_uri(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        """Whether `client_secret` is the one already verified against the argon2 hash."""
        if self.verified_secret is None:
            return False
        return hmac.compare_digest(client_secret.encode(), self.verified_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Public clients authenticate with nothing; confidential ones with their secret."""
        if self.client.public:
            return method == "none"
        return method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        """Only the code flow exists."""
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        """Whether the client may use `grant_type`."""
        return grant_type in self.client.grant_types


@dataclass(frozen=True, slots=True)
class GrantUser:
    """The "user" Authlib passes around: the grant and the person behind it (if any)."""

    grant: Grant
    principal: Principal | None


class CodeModel(AuthorizationCodeMixin):  # type: ignore[misc]
    """A stored authorization code."""

    def __init__(self, code: AuthorizationCode) -> None:
        self.code = code
        self.code_challenge = code.code_challenge
        self.code_challenge_method = code.code_challenge_method

    def get_redirect_uri(self) -> str:
        """The redirect URI the code was issued for."""
        return self.code.redirect_uri

    def get_scope(self) -> str:
        """The scope the person granted."""
        return format_scopes(self.code.scopes)

    # OpenID Connect (read by Authlib's OpenIDCode while it builds the ID token).
    def get_nonce(self) -> str | None:
        """The nonce of the authorization request, if it sent one."""
        return self.code.nonce

    def get_auth_time(self) -> None:
        """None: `auth_time` comes from the grant (see `api.oauth.openid`)."""
        return

    def get_acr(self) -> str:
        """The authentication context: a password sign-in."""
        return ACR_PASSWORD

    def get_amr(self) -> list[str]:
        """The authentication methods (RFC 8176): a password."""
        return ["pwd"]


class RefreshModel(TokenMixin):  # type: ignore[misc]
    """A stored refresh token and its family."""

    def __init__(self, token: RefreshToken, grant: Grant, now: datetime) -> None:
        self.token = token
        self.grant = grant
        self._now = now

    def check_client(self, client: ClientModel) -> bool:
        """Whether the token was issued to `client`."""
        return self.token.client_id == client.get_client_id()

    def get_scope(self) -> str:
        """The token's scope."""
        return format_scopes(self.token.scopes)

    def get_expires_in(self) -> int:
        """Seconds the token had to live when issued."""
        return int((self.token.expires_at - self.token.issued_at).total_seconds())

    def is_expired(self) -> bool:
        """Whether the token outlived its lifetime."""
        return self.token.expired(self._now)

    def is_revoked(self) -> bool:
        """Whether the token was used already or its family revoked."""
        return self.token.rotated_at is not None or self.grant.revoked


class AccessModel(TokenMixin):  # type: ignore[misc]
    """A verified access token (possibly expired) and whether it was revoked."""

    def __init__(self, claims: AccessClaims, revoked: bool, now: int) -> None:
        self.claims = claims
        self.revoked = revoked
        self._now = now

    def check_client(self, client: ClientModel) -> bool:
        """Whether the token was issued to `client`."""
        return self.claims.caller.client_id == client.get_client_id()

    def get_scope(self) -> str:
        """The token's scope."""
        return format_scopes(self.claims.caller.scopes)

    def get_expires_in(self) -> int:
        """Seconds the token had to live when issued."""
        return self.claims.expires_at - self.claims.issued_at

    def is_expired(self) -> bool:
        """Whether `exp` has passed."""
        return self._now >= self.claims.expires_at

    def is_revoked(self) -> bool:
        """Whether the token or its family was revoked."""
        return self.revoked
