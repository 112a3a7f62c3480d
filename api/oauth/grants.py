"""The grants Custodian allows, as Authlib grant subclasses over prefetched records.

authorization_code (PKCE with S256 for every client), refresh_token (rotated on every use,
reuse revokes the family), client_credentials (service clients only, service scopes only). Authlib's
implicit and password grants are never registered.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    grants,
)
from authlib.oauth2.rfc7636 import CodeChallenge

from api.oauth.context import Audit, ConsumeCode, NewCode, NewGrant, RevokeGrant, RotateRefreshToken
from api.oauth.models import CodeModel, GrantUser, RefreshModel
from domain.audit.events import Actor, ActorType, AuditRecord, Outcome
from domain.identity import SERVICE_SCOPES, Principal, format_scopes, parse_scopes
from domain.oauth.tokens import AuthorizationCode, Grant, secret_digest

if TYPE_CHECKING:
    from api.oauth.server import CustodianServer

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE required for every client, public or confidential, and only with S256.

    Authlib's CodeChallenge accepts `plain` and enforces PKCE only for public clients.
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """At the authorization endpoint: a challenge and method=S256 are mandatory."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE requires code_challenge_method=S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        """At the token endpoint: a verifier is mandatory whatever the client type. A code
        presented without its verifier, or with a wrong one, is spent: whoever holds it
        cannot try again, and the code presented once more (the right verifier included) is
        a second use, which revokes everything issued from it."""
        try:
            if not grant.request.form.get("code_verifier"):
                raise InvalidRequestError("Missing 'code_verifier'")
            super().validate_code_verifier(grant, result)
        except OAuth2Error:
            _spend_refused(_server(grant), grant.request.authorization_code, "verifier_refused")
            raise


def _server(grant: Any) -> CustodianServer:
    server: CustodianServer = grant.server
    return server


def _code_record(server: CustodianServer, grant: Grant, action: str, presenter: str) -> AuditRecord:
    """A refusal about the code of `grant`, presented by client `presenter`. Presented by
    the client it was issued to, it reads like the family's other records; presented by any
    other client, the actor is that client, not the person who signed in elsewhere."""
    record = server.audit_record(grant, action, Outcome.DENIED)
    if presenter == grant.client_id:
        return record
    return replace(record, actor=Actor(ActorType.SYSTEM, "oauth", presenter))


def _spend_refused(
    server: CustodianServer, code: CodeModel, reason: str, presenter: str | None = None
) -> None:
    """Spend a code whose exchange is refused, and audit why as `oauth.code.<reason>`.

    A code is spent by its first exchange, whatever the outcome: whoever presented it cannot
    try again, and the code presented once more (by its rightful client included) is a
    second use, which revokes everything issued from it.
    """
    server.ctx.record(ConsumeCode(code.code.code_hash, code.code.grant_id))
    grant = server.ctx.code_grant
    if grant is not None:
        action = f"oauth.code.{reason}"
        server.ctx.record(Audit(_code_record(server, grant, action, presenter or grant.client_id)))


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        """Record a new family and its one-time code (stored as a digest)."""
        server = _server(self)
        principal: Principal = request.user
        ctx = server.ctx
        scopes = parse_scopes(request.scope)
        grant = Grant(
            id=server.new_id(),
            client_id=request.client.get_client_id(),
            subject_kind=principal.kind,
            scopes=scopes,
            created_at=ctx.now,
            subject_id=principal.id,
            role=principal.role,
            auth_time=ctx.auth_time,
        )
        ctx.record(NewGrant(grant))
        ctx.record(
            NewCode(
                AuthorizationCode(
                    code_hash=secret_digest(code),
                    grant_id=grant.id,
                    client_id=grant.client_id,
                    redirect_uri=request.payload.redirect_uri,
                    scopes=scopes,
                    code_challenge=request.payload.data["code_challenge"],
                    code_challenge_method=request.payload.data["code_challenge_method"],
                    expires_at=ctx.now + server.settings.code_lifetime,
                    nonce=request.payload.data.get("nonce") or None,
                )
            )
        )
        ctx.record(Audit(server.audit_record(grant, "oauth.authorize")))

    def query_authorization_code(self, code: str, client: Any) -> CodeModel | None:
        """The prefetched code if it is this client's, for this redirect URI, unused,
        unexpired and not revoked.

        A second use of a code, whichever client presents it, revokes everything issued from
        it (RFC 6749 4.1.2). A first use that is refused spends the code: presented by
        another client (a stolen or injected code), or with another redirect URI than the
        one it was issued for (checked here rather than by Authlib, which only refuses).
        """
        server = _server(self)
        ctx = server.ctx
        model, grant = ctx.code, ctx.code_grant
        presenter = client.get_client_id()
        if model is None or grant is None:
            return None
        if model.code.used_at is not None:
            ctx.record(RevokeGrant(grant.id))
            ctx.record(Audit(_code_record(server, grant, "oauth.code.reused", presenter)))
            return None
        if model.code.expired(ctx.now) or grant.revoked:
            return None
        if model.code.client_id != presenter:
            _spend_refused(server, model, "client_refused", presenter)
            return None
        if self.request.payload.redirect_uri != model.code.redirect_uri:
            _spend_refused(server, model, "redirect_uri_refused")
            raise InvalidGrantError("Invalid 'redirect_uri' in request.")
        return model

    def delete_authorization_code(self, authorization_code: CodeModel) -> None:
        """Mark the code used (a conditional update that only one request can win)."""
        code = authorization_code.code
        _server(self).ctx.record(ConsumeCode(code.code_hash, code.grant_id))

    def authenticate_user(self, authorization_code: CodeModel) -> GrantUser | None:
        """The family and person the code was issued for."""
        grant = _server(self).ctx.code_grant
        return GrantUser(grant, grant.principal) if grant else None


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshModel | None:
        """The prefetched token if still usable. A rotated one revokes its whole family."""
        ctx = _server(self).ctx
        model = ctx.refresh
        if model is None:
            return None
        if model.token.rotated_at is not None:
            ctx.record(RevokeGrant(model.grant.id))
            ctx.record(
                Audit(
                    _server(self).audit_record(model.grant, "oauth.refresh.reused", Outcome.DENIED)
                )
            )
            return None
        if model.is_expired() or model.grant.revoked:
            return None
        if not ctx.refresh_holder_ok:
            # Erased, disabled, or a staff role that changed: the family ends here.
            ctx.record(RevokeGrant(model.grant.id))
            ctx.record(
                Audit(
                    _server(self).audit_record(
                        model.grant, "oauth.refresh.holder_changed", Outcome.DENIED
                    )
                )
            )
            return None
        return model

    def authenticate_user(self, refresh_token: RefreshModel) -> GrantUser:
        """The family and person the token belongs to."""
        return GrantUser(refresh_token.grant, refresh_token.grant.principal)

    def revoke_old_credential(self, refresh_token: RefreshModel) -> None:
        """Rotate: the old token is marked used, atomically."""
        token = refresh_token.token
        _server(self).ctx.record(RotateRefreshToken(token.token_hash, token.grant_id))


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    # "none" is listed so a public client gets the precise unauthorized_client error.
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_token_request(self) -> None:
        """Service clients only; only service scopes registered for the client (no person
        is behind the token, so neither customer scopes nor staff powers over customers)."""
        super().validate_token_request()
        if self._scope() is None:
            raise InvalidScopeError()

    def _scope(self) -> str | None:
        registered = self.request.client.client.scopes & SERVICE_SCOPES
        requested = parse_scopes(self.request.payload.scope) or registered
        if not requested or not requested <= registered:
            return None
        return format_scopes(requested)

    def create_token_response(self) -> tuple[int, Any, Any]:
        """Issue a service token with the requested (or the client's whole) scope."""
        scope = self._scope()
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
