"""Authlib's authorization server, bound to one request's prefetched records.

A server instance is built per request (registering grants is cheap) so that Authlib's
synchronous callbacks can read that request's `Prefetched` records without any I/O. The
event loop is never blocked: all storage access and all password/secret hashing happen
before (prefetch, in the bounded hashing pool) or after (effects) Authlib runs, and what
Authlib itself does in between is microseconds of parsing and one ES256 signature.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter

from api.oauth.access_tokens import AccessTokenCodec
from api.oauth.context import (
    Audit,
    AuthlibResponse,
    HttpRequest,
    NewGrant,
    NewRefreshToken,
    Prefetched,
    RevokeAccessToken,
    RevokeGrant,
)
from api.oauth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    S256Only,
)
from api.oauth.models import AccessModel, ClientModel, GrantUser, RefreshModel
from api.oauth.openid import OpenIDCodeExtension
from domain.audit.events import Actor, ActorType, AuditRecord, Outcome
from domain.identity import ALL_SCOPES, Caller, SubjectKind, parse_scopes
from domain.oauth.tokens import Grant, RefreshToken, secret_digest

# Authlib's grants log issued tokens at DEBUG ("Issue token %r to %r"): never let them through.
logging.getLogger("authlib").setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class OAuthSettings:
    """The authorization server's fixed facts (from configuration)."""

    issuer: str
    audience: str
    access_token_ttl: int = 600
    refresh_token_lifetime: timedelta = timedelta(days=30)
    code_lifetime: timedelta = timedelta(seconds=60)
    endpoints: dict[str, str] = field(default_factory=dict)
    # Proxies whose X-Forwarded-For names the client (api.oauth.client_address).
    trusted_proxies: tuple[str, ...] = ()


class Issuer(IssuerParameter):  # type: ignore[misc]
    """RFC 9207: `iss` on every authorization response, success or error."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        """Our issuer identifier."""
        return self.issuer


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009. Public clients may revoke their own tokens, so "none" is accepted."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        """The prefetched token (refresh or access), or None."""
        return self.server.ctx.token

    def revoke_token(self, token: RefreshModel | AccessModel, request: Any) -> None:
        """A refresh token takes its whole family with it; an access token only itself."""
        server: CustodianServer = self.server
        if isinstance(token, RefreshModel):
            server.ctx.record(RevokeGrant(token.grant.id))
            server.ctx.record(Audit(server.audit_record(token.grant, "oauth.token.revoked")))
        else:
            claims = token.claims
            server.ctx.record(
                RevokeAccessToken(
                    claims.jti,
                    claims.grant_id,
                    server.ctx.now + timedelta(seconds=max(0, claims.expires_at - server.unix())),
                )
            )
            server.ctx.record(
                Audit(
                    AuditRecord(
                        actor=claims.caller.as_actor(),
                        action="oauth.token.revoked",
                        resource_type="access_token",
                        resource_id=str(claims.grant_id),
                        subject_id=_customer(claims.caller),
                        request_id=server.ctx.request_id,
                    )
                )
            )


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662, for confidential clients only, about their own tokens only."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        """The prefetched token (refresh or access), or None."""
        return self.server.ctx.token

    def check_permission(
        self, token: RefreshModel | AccessModel, client: ClientModel, request: Any
    ) -> bool:
        """Only a token issued to the asking client: holding someone else's token is no
        right to learn whose it is. There is no resource-server client entitled to read
        other clients' tokens (the API verifies its JWTs itself), so another client's token
        answers `active: false`, exactly like an unknown one (RFC 7662 section 2.2)."""
        return not client.client.public and token.check_client(client)

    def introspect_token(self, token: RefreshModel | AccessModel) -> dict[str, Any]:
        """The RFC 7662 answer for an active token."""
        server: CustodianServer = self.server
        if isinstance(token, AccessModel):
            claims = token.claims.raw
            return {
                "active": True,
                "token_type": "Bearer",
                "scope": claims["scope"],
                "client_id": claims["client_id"],
                "sub": claims["sub"],
                "aud": claims["aud"],
                "iss": claims["iss"],
                "exp": claims["exp"],
                "iat": claims["iat"],
                "jti": claims["jti"],
            }
        refresh = token.token
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": token.get_scope(),
            "client_id": refresh.client_id,
            "sub": str(token.grant.subject_id or refresh.client_id),
            "iss": server.settings.issuer,
            "exp": int(refresh.expires_at.timestamp()),
            "iat": int(refresh.issued_at.timestamp()),
        }


def _customer(caller: Caller) -> uuid.UUID | None:
    return caller.subject_id if caller.kind is SubjectKind.CUSTOMER else None


class CustodianServer(AuthorizationServer):  # type: ignore[misc]
    """One request's authorization server."""

    def __init__(self, ctx: Prefetched, settings: OAuthSettings, codec: AccessTokenCodec) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.ctx = ctx
        self.settings = settings
        self.codec = codec
        self.register_grant(
            AuthorizationCodeGrant, [S256Only(required=True), OpenIDCodeExtension(self)]
        )
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_extension(Issuer(settings.issuer))
        self.register_token_generator("default", self._generate)

    def new_id(self) -> uuid.UUID:
        """A fresh random id."""
        return uuid.uuid4()

    def unix(self) -> int:
        """The request's time as a Unix timestamp."""
        return int(self.ctx.now.timestamp())

    def query_client(self, client_id: str) -> ClientModel | None:
        """The prefetched client, or None."""
        return self.ctx.clients.get(client_id)

    def create_oauth2_request(self, request: HttpRequest) -> HttpRequest:
        """Requests arrive already adapted (see `api.oauth.context.HttpRequest`)."""
        return request

    def create_json_request(self, request: Any) -> Any:
        """JSON endpoints (RFC 7591 registration) are not offered."""
        raise NotImplementedError

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Tokens are recorded while generated (see `_generate`); nothing left to do."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals are not used: effects carry the audit records."""

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> AuthlibResponse:
        """Hand Authlib's answer back to the route."""
        return AuthlibResponse(status, body, list(headers))

    def audit_record(
        self, grant: Grant, action: str, outcome: Outcome = Outcome.ALLOWED
    ) -> AuditRecord:
        """An audit record about `grant`: ids only, never a token."""
        if grant.subject_kind is SubjectKind.SERVICE:
            actor = Actor(ActorType.SERVICE, grant.client_id, grant.client_id)
        elif grant.subject_kind is SubjectKind.STAFF:
            role = grant.role.value if grant.role else None
            actor = Actor(ActorType.STAFF, str(grant.subject_id), grant.client_id, role)
        else:
            actor = Actor(ActorType.CUSTOMER, str(grant.subject_id), grant.client_id)
        subject = grant.subject_id if grant.subject_kind is SubjectKind.CUSTOMER else None
        return AuditRecord(
            actor=actor,
            action=action,
            resource_type="grant",
            resource_id=str(grant.id),
            outcome=outcome,
            subject_id=subject,
            request_id=self.ctx.request_id,
        )

    def _generate(
        self,
        *,
        grant_type: str,
        client: ClientModel,
        user: GrantUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        if user is None:
            # client_credentials: a family of its own, so it can be revoked like any other.
            grant = Grant(
                id=self.new_id(),
                client_id=client.get_client_id(),
                subject_kind=SubjectKind.SERVICE,
                scopes=parse_scopes(scope),
                created_at=self.ctx.now,
            )
            self.ctx.record(NewGrant(grant))
        else:
            grant = user.grant
        scopes = parse_scopes(scope) if scope else grant.scopes
        caller = Caller(
            kind=grant.subject_kind,
            client_id=client.get_client_id(),
            scopes=scopes,
            subject_id=grant.subject_id,
            role=grant.role,
            auth_time=grant.auth_time,
        )
        issued = self.codec.issue(caller=caller, grant_id=grant.id, now=self.unix())
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": issued.token,
            "expires_in": self.codec.ttl,
            "scope": " ".join(sorted(scopes)),
        }
        if include_refresh_token:
            refresh = secrets.token_urlsafe(48)
            token["refresh_token"] = refresh
            self.ctx.record(
                NewRefreshToken(
                    RefreshToken(
                        token_hash=secret_digest(refresh),
                        grant_id=grant.id,
                        client_id=client.get_client_id(),
                        scopes=scopes,
                        issued_at=self.ctx.now,
                        expires_at=self.ctx.now + self.settings.refresh_token_lifetime,
                    )
                )
            )
        action = "oauth.token.refreshed" if grant_type == "refresh_token" else "oauth.token.issued"
        self.ctx.record(Audit(self.audit_record(grant, action)))
        return token
