"""Apply what Authlib decided, in one transaction, before the response is sent."""

from __future__ import annotations

from collections.abc import Sequence

from api.oauth.context import (
    Audit,
    ConsumeCode,
    Effect,
    NewCode,
    NewGrant,
    NewRefreshToken,
    Prefetched,
    RevokeAccessToken,
    RevokeGrant,
    RotateRefreshToken,
)
from api.oauth.verified_tokens import VerifiedTokens
from domain.audit.events import Actor, ActorType, AuditRecord, Outcome
from domain.oauth.ports import IdentityUnitOfWork


async def apply_effects(uow: IdentityUnitOfWork, ctx: Prefetched) -> bool:
    """Apply `ctx.effects`; False when a one-time credential lost a race.

    Consuming a code and rotating a refresh token are conditional updates that run first:
    if another request already used the credential, nothing else is written except the
    family's revocation (a replay is exactly what reuse detection is for) and its audit
    record, and the caller must answer invalid_grant instead of the prepared tokens.
    """
    effects = ctx.effects
    for effect in effects:
        if isinstance(effect, ConsumeCode):
            won = await uow.tokens.consume_code(effect.code_hash, ctx.now)
        elif isinstance(effect, RotateRefreshToken):
            won = await uow.tokens.rotate_refresh_token(effect.token_hash, ctx.now)
        else:
            continue
        if not won:
            await uow.tokens.revoke_grant(effect.grant_id, ctx.now)
            await uow.audit.append(
                AuditRecord(
                    actor=Actor(ActorType.SYSTEM, "oauth"),
                    action="oauth.replay.detected",
                    resource_type="grant",
                    resource_id=str(effect.grant_id),
                    outcome=Outcome.DENIED,
                    request_id=ctx.request_id,
                )
            )
            await uow.commit()
            return False
    await _apply(uow, ctx, effects)
    await uow.commit()
    return True


async def _apply(uow: IdentityUnitOfWork, ctx: Prefetched, effects: Sequence[Effect]) -> None:
    for effect in effects:
        match effect:
            case NewGrant(grant):
                await uow.tokens.add_grant(grant)
            case NewCode(code):
                await uow.tokens.add_code(code)
            case NewRefreshToken(token):
                await uow.tokens.add_refresh_token(token)
            case RevokeGrant(grant_id):
                await uow.tokens.revoke_grant(grant_id, ctx.now)
            case RevokeAccessToken(jti, grant_id, expires_at):
                await uow.tokens.revoke_access_token(jti, grant_id, expires_at)
            case Audit(record):
                await uow.audit.append(record)
            case _:
                pass


def forget_revoked(verified: VerifiedTokens, ctx: Prefetched, *, replayed: bool) -> None:
    """Make this process's resource guard refuse at once what `apply_effects` revoked: the
    families and tokens revoked, or on a replay the family of the reused credential."""
    for effect in ctx.effects:
        match effect:
            case RevokeGrant(grant_id):
                verified.forget(grant_id=grant_id)
            case RevokeAccessToken(jti, _, _):
                verified.forget(jti=jti)
            case ConsumeCode() | RotateRefreshToken() if replayed:
                verified.forget(grant_id=effect.grant_id)
            case _:
                pass
