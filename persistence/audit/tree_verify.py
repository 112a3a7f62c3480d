"""Verifying the stored audit log as a transparency log: the hash chain, every signed tree
head, any tree heads witnessed outside the database, and what the tree recorded.

`verify_tree` walks the events once (`verify_log` with a `TreeChecker`), so the chain, the
leaves recorded at append time and the roots of every head are checked in the same pass,
and names the first bad event. Truncation is caught by a head bigger than the log (a
signed one, or a witnessed one when signed heads were deleted too), by leaves recorded
beyond the log, or, given `stale_after`, by events left uncovered by any signed head for
longer than the signing timer allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.tree_check import KnownHead, TreeBreak, TreeChecker
from domain.audit.tree_heads import TreeHead, tree_head_mismatch
from persistence.audit.tables import AuditEventRow, AuditHeadRow, AuditTreeNodeRow
from persistence.audit.tree import all_tree_heads
from persistence.audit.verify import VerificationReport, verify_log
from persistence.signatures import BadSignature, verify_jws

SIGNED = "signed tree head"
WITNESSED = "witnessed tree head"


@dataclass(frozen=True, slots=True)
class TreeReport:
    """The chain walk, how many heads held, and the first place the log went wrong."""

    chain: VerificationReport
    tree_heads_checked: int
    witnessed_checked: int
    tree_failure: TreeBreak | None
    newest_head: TreeHead | None

    @property
    def intact(self) -> bool:
        """True when the chain and every head (signed and witnessed) hold."""
        return self.chain.intact and self.tree_failure is None

    @property
    def first_bad_seq(self) -> int | None:
        """The first event found bad, by whichever check found it first."""
        seqs = [
            failure.seq
            for failure in (self.chain.failure, self.tree_failure)
            if failure is not None
        ]
        return min(seqs) if seqs else None


def signed_head_failure(head: TreeHead, jwk: dict[str, str]) -> str | None:
    """Why a signed tree head cannot be trusted, or None when its signature holds."""
    try:
        claims = verify_jws(head.signature, jwk)
    except BadSignature:
        return "its signature does not verify"
    return tree_head_mismatch(head, claims)


async def verify_tree(
    engine: AsyncEngine,
    jwk: dict[str, str],
    *,
    witnessed: Sequence[TreeHead] = (),
    stale_after: timedelta | None = None,
    now: datetime | None = None,
) -> TreeReport:
    """Check the whole log against itself, every signed head and every `witnessed` head
    (already signature-checked by the caller). Never writes."""
    async with engine.connect() as connection:
        signed = await all_tree_heads(connection)
        await connection.rollback()
    for head in signed:
        problem = signed_head_failure(head, jwk)
        if problem is not None:
            chain = await verify_log(engine)
            forged = TreeBreak(
                head.tree_size, f"the {SIGNED} of {head.tree_size} events: {problem}"
            )
            return TreeReport(chain, 0, 0, forged, None)
    known = [KnownHead(h.tree_size, h.root_hash, SIGNED) for h in signed]
    known += [KnownHead(h.tree_size, h.root_hash, WITNESSED) for h in witnessed]
    checker = TreeChecker.of(known)
    chain = await verify_log(engine, tree=checker)
    failure = checker.failure
    if failure is None and chain.failure is None:
        failure = await _finish(engine, checker, signed, stale_after, now)
    proven = checker.newest_proven
    witnessed_sizes = {h.tree_size for h in witnessed}
    return TreeReport(
        chain,
        len([head for head in signed if head.tree_size <= proven]),
        len([size for size in witnessed_sizes if size <= proven]),
        failure,
        signed[-1] if signed else None,
    )


async def _finish(
    engine: AsyncEngine,
    checker: TreeChecker,
    signed: list[TreeHead],
    stale_after: timedelta | None,
    now: datetime | None,
) -> TreeBreak | None:
    newest = signed[-1].tree_size if signed else 0
    async with engine.connect() as connection:
        frontier = (await connection.execute(select(AuditHeadRow.frontier))).scalar()
        leaves = (
            await connection.execute(
                select(func.max(AuditTreeNodeRow.index)).where(AuditTreeNodeRow.level == 0)
            )
        ).scalar()
        unsigned_at = (
            await connection.execute(
                select(AuditEventRow.at).where(AuditEventRow.seq == newest + 1)
            )
        ).scalar()
        await connection.rollback()
    if unsigned_at is not None and unsigned_at.tzinfo is None:
        unsigned_at = unsigned_at.replace(tzinfo=UTC)
    return checker.finish(
        recorded_frontier=None if frontier is None else bytes(frontier),
        leaves_recorded=None if leaves is None else int(leaves) + 1,
        oldest_unsigned_at=unsigned_at,
        now=now or datetime.now(UTC),
        stale_after=stale_after,
    )
