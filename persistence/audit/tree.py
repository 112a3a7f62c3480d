"""The Merkle tree's storage: signing and reading tree heads, and proofs from stored nodes.

Tree heads are signed in the appending transaction every N events (`CheckpointWriter`), by
`sign_tree_head` on a timer (`TreeHeadTimer`, in the API process) whenever events were
appended since the last head, and by `custodian audit witness`. Proofs read only the
O(log n) perfect-subtree hashes they need, in one query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from domain.audit.merkle import Frontier, Node, consistency_ranges, inclusion_ranges, nodes_for
from domain.audit.merkle import proof_hashes as fold_proof
from domain.audit.tree_heads import (
    TREE_HEAD_TYP,
    ConsistencyProof,
    InclusionProof,
    NoSuchTreeHead,
    TreeHead,
    tree_head_claims,
)
from persistence.audit.tables import HEAD_ROW_ID, AuditHeadRow, AuditTreeHeadRow
from persistence.signatures import Ed25519Signer

_Source = AsyncSession | AsyncConnection
_HEADS: Table = AuditTreeHeadRow.__table__  # type: ignore[assignment]
_COLUMNS = (
    AuditTreeHeadRow.tree_size,
    AuditTreeHeadRow.root_hash,
    AuditTreeHeadRow.signed_at,
    AuditTreeHeadRow.kid,
    AuditTreeHeadRow.signature,
)


def _head(row: Any) -> TreeHead:
    signed: datetime = row.signed_at
    signed = signed if signed.tzinfo else signed.replace(tzinfo=UTC)
    return TreeHead(int(row.tree_size), bytes(row.root_hash), signed, row.kid, row.signature)


async def insert_tree_head(
    source: _Source, signer: Ed25519Signer, tree_size: int, root: bytes, at: datetime
) -> TreeHead:
    """Sign and store the head of a tree of `tree_size` events; the caller commits."""
    signature = signer.sign(tree_head_claims(tree_size, root, at), typ=TREE_HEAD_TYP)
    await source.execute(
        insert(_HEADS).values(
            tree_size=tree_size, root_hash=root, signed_at=at, kid=signer.kid, signature=signature
        )
    )
    return TreeHead(tree_size, root, at, signer.kid, signature)


async def sign_tree_head(
    session: AsyncSession, signer: Ed25519Signer, now: datetime
) -> TreeHead | None:
    """Sign the current tree unless its size is already signed; the caller commits.

    Reads the head with FOR UPDATE (SQLite transactions already hold the write lock), so
    no append moves it meanwhile. Returns the newest head (new or existing), None while
    the log is empty.
    """
    head = (
        await session.execute(
            select(AuditHeadRow.seq, AuditHeadRow.frontier)
            .where(AuditHeadRow.id == HEAD_ROW_ID)
            .with_for_update()
        )
    ).one()
    size = int(head.seq)
    if size == 0:
        return None
    latest = await latest_tree_head(session)
    if latest is not None and latest.tree_size == size:
        return latest
    root = Frontier.decode(size, bytes(head.frontier or b"")).root()
    return await insert_tree_head(session, signer, size, root, now)


async def latest_tree_head(source: _Source) -> TreeHead | None:
    """The newest signed tree head, or None."""
    row = (
        await source.execute(select(*_COLUMNS).order_by(AuditTreeHeadRow.tree_size.desc()).limit(1))
    ).first()
    return None if row is None else _head(row)


async def tree_head_of_size(source: _Source, tree_size: int) -> TreeHead:
    """The signed head of exactly `tree_size` events; NoSuchTreeHead otherwise."""
    row = (
        await source.execute(select(*_COLUMNS).where(AuditTreeHeadRow.tree_size == tree_size))
    ).first()
    if row is None:
        raise NoSuchTreeHead(f"no signed tree head has size {tree_size}")
    return _head(row)


async def list_tree_heads(source: _Source, *, below: int | None, limit: int) -> list[TreeHead]:
    """Signed tree heads, newest first, with tree_size < `below` when given."""
    query = select(*_COLUMNS).order_by(AuditTreeHeadRow.tree_size.desc()).limit(limit)
    if below is not None:
        query = query.where(AuditTreeHeadRow.tree_size < below)
    return [_head(row) for row in (await source.execute(query)).all()]


async def all_tree_heads(source: _Source) -> list[TreeHead]:
    """Every signed tree head, oldest first."""
    query = select(*_COLUMNS).order_by(AuditTreeHeadRow.tree_size)
    return [_head(row) for row in (await source.execute(query)).all()]


async def fetch_nodes(source: _Source, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of `nodes` (missing ones are simply absent), in one query."""
    by_level: dict[int, list[int]] = {}
    for node in set(nodes):
        by_level.setdefault(int(node.level), []).append(int(node.index))
    if not by_level:
        return {}
    # One `level = l AND idx IN (...)` per level, OR-ed: both engines answer each term from
    # the primary key (SQLite scans the whole table for a row-value IN list). Written as
    # SQL text: building this as an expression cost more than running it, and the values
    # are integers formatted here, never text from a request.
    terms = " OR ".join(
        f"(level = {level} AND idx IN ({','.join(str(index) for index in sorted(indexes))}))"
        for level, indexes in sorted(by_level.items())
    )
    query = f"SELECT level, idx, hash FROM audit_tree_nodes WHERE {terms}"  # noqa: S608
    rows = await source.execute(text(query))
    return {Node(int(level), int(index)): bytes(digest) for level, index, digest in rows.all()}


async def _hashes(source: _Source, groups: list[list[tuple[int, int]]]) -> list[list[bytes]]:
    # Every group's ranges folded from stored nodes fetched in one query.
    found = await fetch_nodes(source, nodes_for(r for group in groups for r in group))
    try:
        return [fold_proof(group, found) for group in groups]
    except KeyError:
        raise NoSuchTreeHead("the tree's stored nodes are incomplete") from None


async def inclusion_proof(source: _Source, seq: int, head: TreeHead) -> InclusionProof:
    """Proof that event `seq` is in the tree of `head`; NoSuchTreeHead when it is not
    covered by that head (appended after it was signed). One query."""
    if not 0 < seq <= head.tree_size:
        raise NoSuchTreeHead("no signed tree head covers this event yet")
    ranges = inclusion_ranges(seq - 1, head.tree_size)
    leaf, path = await _hashes(source, [[(seq - 1, seq)], ranges])
    return InclusionProof(seq, leaf[0], path, head)


async def consistency_proof(source: _Source, first: int, second: int) -> ConsistencyProof:
    """Proof that the signed tree of `first` events is a prefix of the signed tree of
    `second`; NoSuchTreeHead when either size has no signed head."""
    older = await tree_head_of_size(source, first)
    newer = await tree_head_of_size(source, second)
    [path] = await _hashes(source, [consistency_ranges(first, second)])
    return ConsistencyProof(older, newer, path)


class TreeHeadTimer:
    """Signs a tree head every `interval` seconds when events were appended since the last.

    One per API process; several processes may race, and the one that loses either finds
    the head already signed or fails on the primary key and tries again next tick.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], signer: Ed25519Signer, interval: float
    ) -> None:
        self._sessions, self._signer, self._interval = sessions, signer, interval

    async def tick(self) -> TreeHead | None:
        """Sign now if there is anything new; the newest head."""
        async with self._sessions() as session:
            head = await sign_tree_head(session, self._signer, datetime.now(UTC))
            await session.commit()
            return head

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop` is set; a failed tick (database away) is retried next time."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as error:  # noqa: BLE001 (a timer must outlive a database hiccup)
                structlog.stdlib.get_logger("custodian.audit").warning(
                    "tree_head_failed", error=type(error).__name__
                )
            try:
                await asyncio.wait_for(stop.wait(), self._interval)
            except TimeoutError:
                continue
