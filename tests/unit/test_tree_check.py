"""The tree checker on its own: what each kind of evidence says, and where."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import rfc9162_reference as rfc

from domain.audit.merkle import Frontier, leaf_hash
from domain.audit.tree_check import KnownHead, TreeChecker

DATA = [f"event {i}".encode() for i in range(12)]
LEAVES = [leaf_hash(item) for item in DATA]


def feed(checker: TreeChecker, leaves: list[bytes]) -> None:
    for seq, leaf in enumerate(leaves, start=1):
        checker.add(seq, leaf, leaf)


def test_matching_heads_are_counted_and_the_log_is_whole() -> None:
    checker = TreeChecker.of(
        [KnownHead(8, rfc.mth(DATA[:8]), "signed"), KnownHead(4, rfc.mth(DATA[:4]), "seen")]
    )
    feed(checker, LEAVES)
    frontier = Frontier()
    for leaf in LEAVES:
        frontier.append(leaf)
    assert checker.finish(recorded_frontier=frontier.encode(), leaves_recorded=12) is None
    assert (checker.heads_checked, checker.newest_proven) == (2, 8)


def test_a_head_bigger_than_the_log_names_the_first_missing_event() -> None:
    checker = TreeChecker.of([KnownHead(12, rfc.mth(DATA), "witnessed tree head")])
    feed(checker, LEAVES[:9])
    failure = checker.finish()
    assert failure is not None
    assert failure.seq == 10
    assert "events 10 to 12 missing" in failure.reason


def test_a_rewritten_range_is_located_after_the_last_head_that_holds() -> None:
    altered = [*DATA[:6], b"forged", *DATA[7:]]
    checker = TreeChecker.of(
        [KnownHead(4, rfc.mth(DATA[:4]), "signed"), KnownHead(8, rfc.mth(DATA[:8]), "signed")]
    )
    for seq, item in enumerate(altered, start=1):
        checker.add(seq, leaf_hash(item), None)
    assert checker.failure is not None
    assert checker.failure.seq == 5
    assert "events 5 to 8 differ" in checker.failure.reason


def test_a_witnessed_head_unlike_a_signed_one_of_its_size_locates_the_rewrite() -> None:
    # Signed heads deleted, the log rewritten and a head signed over it: only the witness
    # of the same size remembers the original.
    altered = [*DATA[:6], b"forged", *DATA[7:8]]
    checker = TreeChecker.of(
        [
            KnownHead(4, rfc.mth(DATA[:4]), "witnessed tree head"),
            KnownHead(8, rfc.mth(altered), "signed tree head"),
            KnownHead(8, rfc.mth(DATA[:8]), "witnessed tree head"),
        ]
    )
    for seq, item in enumerate(altered, start=1):
        checker.add(seq, leaf_hash(item), None)
    assert checker.failure is not None
    assert checker.failure.seq == 5
    assert "events 5 to 8 differ from the witnessed tree head of 8" in checker.failure.reason


def test_a_leaf_unlike_the_recorded_one_is_named_at_once() -> None:
    checker = TreeChecker.of([])
    checker.add(1, LEAVES[0], LEAVES[0])
    failure = checker.add(2, LEAVES[1], LEAVES[2])
    assert failure is not None
    assert failure.seq == 2


def test_events_left_unsigned_too_long_mean_deleted_heads() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    checker = TreeChecker.of([KnownHead(2, rfc.mth(DATA[:2]), "signed")])
    feed(checker, LEAVES[:5])
    recent = checker.finish(
        oldest_unsigned_at=now - timedelta(seconds=30), now=now, stale_after=timedelta(minutes=3)
    )
    assert recent is None
    checker = TreeChecker.of([KnownHead(2, rfc.mth(DATA[:2]), "signed")])
    feed(checker, LEAVES[:5])
    stale = checker.finish(
        oldest_unsigned_at=now - timedelta(hours=1), now=now, stale_after=timedelta(minutes=3)
    )
    assert stale is not None
    assert stale.seq == 3
