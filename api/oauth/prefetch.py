"""Load, before Authlib runs, every record a token, revocation or introspection request
can touch; verify a presented client secret in the bounded hashing pool."""

from __future__ import annotations

from authlib.oauth2.rfc6749.util import extract_basic_authorization

from api.oauth.access_tokens import TokenRejected
from api.oauth.context import Prefetched
from api.oauth.models import AccessModel, ClientModel, CodeModel, RefreshModel
from api.oauth.services import OAuthServices
from domain.oauth.ports import IdentityUnitOfWork
from domain.oauth.tokens import holder_may_refresh, secret_digest


async def load_client(
    uow: IdentityUnitOfWork,
    oauth: OAuthServices,
    ctx: Prefetched,
    data: dict[str, str],
    headers: dict[str, str],
) -> None:
    """Load the client the request names (Basic header or form) and check its secret."""
    basic_id, basic_secret = extract_basic_authorization(headers)
    client_id = basic_id or data.get("client_id")
    secret = basic_secret or data.get("client_secret")
    if not client_id:
        return
    client = await uow.clients.get(client_id)
    verified: str | None = None
    if secret:
        # An unknown client still costs one verification, so timing does not tell.
        stored = client.secret_hash if client and client.secret_hash else None
        matches = await oauth.hasher.verify(stored or oauth.hasher.dummy_hash, secret)
        verified = secret if matches and stored else None
    if client is not None:
        ctx.clients[client_id] = ClientModel(client, verified)


async def prefetch_token(
    uow: IdentityUnitOfWork,
    oauth: OAuthServices,
    ctx: Prefetched,
    data: dict[str, str],
    headers: dict[str, str],
) -> None:
    """Client, plus the code or refresh token (and its family) the request presents."""
    await load_client(uow, oauth, ctx, data, headers)
    grant_type = data.get("grant_type")
    if grant_type == "authorization_code" and data.get("code"):
        code = await uow.tokens.get_code(secret_digest(data["code"]))
        if code is not None:
            ctx.code = CodeModel(code)
            ctx.code_grant = await uow.tokens.get_grant(code.grant_id)
    elif grant_type == "refresh_token" and data.get("refresh_token"):
        ctx.refresh = await _refresh(uow, ctx, data["refresh_token"])
        if ctx.refresh is not None:
            grant = ctx.refresh.grant
            holder = await uow.holders.current(grant.principal) if grant.principal else None
            ctx.refresh_holder_ok = holder_may_refresh(grant, holder)


async def prefetch_presented_token(
    uow: IdentityUnitOfWork,
    oauth: OAuthServices,
    ctx: Prefetched,
    data: dict[str, str],
    headers: dict[str, str],
) -> None:
    """Client, plus the token to revoke or introspect: an access JWT or a refresh token."""
    await load_client(uow, oauth, ctx, data, headers)
    token = data.get("token")
    if not token:
        return
    if token.count(".") == 2:
        try:
            claims = oauth.codec.verify(token, now=int(ctx.now.timestamp()), allow_expired=True)
        except TokenRejected:
            return
        revoked = await uow.tokens.is_revoked(claims.grant_id, claims.jti)
        ctx.token = AccessModel(claims, revoked, int(ctx.now.timestamp()))
    else:
        ctx.token = await _refresh(uow, ctx, token)


async def _refresh(uow: IdentityUnitOfWork, ctx: Prefetched, value: str) -> RefreshModel | None:
    token = await uow.tokens.get_refresh_token(secret_digest(value))
    if token is None:
        return None
    grant = await uow.tokens.get_grant(token.grant_id)
    return RefreshModel(token, grant, ctx.now) if grant else None
