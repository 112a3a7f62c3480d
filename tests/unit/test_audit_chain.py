"""The hash chain names the first place where a stored audit log differs from what was appended."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.audit.events import (
    GENESIS_HASH,
    Actor,
    ActorType,
    AuditEvent,
    AuditRecord,
    ChainBreak,
    ChainVerifier,
    Outcome,
    chain_hash,
    event_leaf_hash,
    seal,
    seal_with_leaf,
)

START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
SUBJECT = UUID("2b1f3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")


def record(n: int) -> AuditRecord:
    return AuditRecord(
        actor=Actor(ActorType.STAFF, f"staff-{n}", client_id="backoffice", role="support"),
        action="profile.read",
        resource_type="profile",
        subject_id=SUBJECT,
        resource_id=str(SUBJECT),
        fields=("email", "phone"),
        purpose="service_delivery",
        request_id=f"req-{n}",
    )


def build_chain(length: int) -> list[AuditEvent]:
    """What the sink appends: each event sealed onto the previous one."""
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        event = seal(seq, uuid4(), START + timedelta(seconds=seq), record(seq), prev)
        events.append(event)
        prev = event.hash
    return events


def restamp(event: AuditEvent, seq: int) -> AuditEvent:
    """The event moved to another seq by someone editing rows, hash left as it was."""
    return replace(event, seq=seq)


def verify(events: list[AuditEvent], head: tuple[int, bytes] | None = None) -> ChainVerifier:
    verifier = ChainVerifier()
    for event in events:
        verifier.feed(event)
    if head is None:
        verifier.finish()
    else:
        verifier.finish(*head)
    return verifier


def head_of(events: list[AuditEvent]) -> tuple[int, bytes]:
    return events[-1].seq, events[-1].hash


def test_intact_chain_verifies_every_event_and_ends_on_the_last_hash() -> None:
    events = build_chain(6)
    verifier = verify(events, head_of(events))
    assert verifier.failure is None
    assert verifier.checked == 6
    assert verifier.head_hash == events[-1].hash


def test_empty_log_with_an_empty_head_is_intact() -> None:
    verifier = verify([], (0, GENESIS_HASH))
    assert verifier.failure is None
    assert verifier.checked == 0


@pytest.mark.parametrize(
    "change",
    [
        {"action": "profile.update"},
        {"fields": ("email",)},
        {"outcome": Outcome.DENIED},
        {"subject_id": uuid4()},
        {"actor": Actor(ActorType.STAFF, "staff-99", client_id="backoffice", role="support")},
    ],
    ids=["action", "fields", "outcome", "subject", "actor"],
)
def test_an_altered_field_is_named_at_its_event(change: dict[str, object]) -> None:
    events = build_chain(5)
    head = head_of(events)
    events[2] = replace(events[2], record=replace(events[2].record, **change))
    failure = verify(events, head).failure
    altered = "contents do not match the event's hash (altered)"
    assert failure == ChainBreak(3, events[2].id, altered)


def test_an_altered_time_is_named_at_its_event() -> None:
    events = build_chain(4)
    events[1] = replace(events[1], at=events[1].at + timedelta(microseconds=1))
    failure = verify(events, head_of(events)).failure
    assert failure is not None
    assert (failure.seq, failure.event_id) == (2, events[1].id)


def test_a_deleted_middle_event_is_named_as_missing() -> None:
    events = build_chain(5)
    head = head_of(events)
    del events[2]
    failure = verify(events, head).failure
    assert failure == ChainBreak(3, None, "event 3 is missing (deleted)")


def test_several_deleted_events_are_named_as_a_range() -> None:
    events = build_chain(6)
    head = head_of(events)
    del events[1:4]
    failure = verify(events, head).failure
    assert failure == ChainBreak(2, None, "events 2 to 4 are missing (deleted)")


def test_a_deleted_middle_event_with_seqs_renumbered_breaks_at_the_gap() -> None:
    events = build_chain(5)
    head = head_of(events)
    del events[2]
    events = [*events[:2], *(restamp(e, e.seq - 1) for e in events[2:])]
    failure = verify(events, (4, events[-1].hash)).failure
    assert failure is not None
    assert (failure.seq, failure.event_id) == (3, events[2].id)
    assert head[0] == 5  # the genuine head still says five


def test_a_deleted_last_event_is_caught_by_the_recorded_head() -> None:
    events = build_chain(5)
    head = head_of(events)
    events.pop()
    verifier = verify(events, head)
    assert verifier.failure is not None
    assert verifier.failure.seq == 5
    assert "end of the log was deleted" in verifier.failure.reason
    # Without the recorded head the truncated log would look intact: that is why it is kept.
    assert verify(events).failure is None


def test_an_event_added_at_the_end_is_caught_by_the_recorded_head() -> None:
    events = build_chain(4)
    head = head_of(events)
    events.append(seal(5, uuid4(), START, record(5), events[-1].hash))
    failure = verify(events, head).failure
    assert failure is not None
    assert failure.seq == 5
    assert "inserted" in failure.reason


def test_a_changed_last_event_that_was_re_hashed_differs_from_the_recorded_head() -> None:
    events = build_chain(3)
    head = head_of(events)
    events[2] = seal(
        3, events[2].id, events[2].at, replace(events[2].record, action="x"), events[1].hash
    )
    failure = verify(events, head).failure
    assert failure is not None
    assert failure.seq == 3
    assert "recorded head" in failure.reason


def test_a_well_forged_inserted_event_is_named_at_its_own_seq() -> None:
    events = build_chain(5)
    # Someone with database access shifts events 3.. up by one and seals a new event 3
    # onto event 2, exactly as the sink would have.
    forged = seal(3, uuid4(), START, record(99), events[1].hash)
    tampered = [*events[:2], forged, *(restamp(e, e.seq + 1) for e in events[2:])]
    verifier = verify(tampered, (6, tampered[-1].hash))
    assert verifier.failure is not None
    assert (verifier.failure.seq, verifier.failure.event_id) == (3, forged.id)
    assert "inserted" in verifier.failure.reason
    assert (verifier.checked, verifier.head_hash) == (2, events[1].hash)


def test_a_copied_inserted_event_is_named_at_its_own_seq() -> None:
    events = build_chain(5)
    copy = restamp(replace(events[0], id=uuid4()), 3)
    tampered = [*events[:2], copy, *(restamp(e, e.seq + 1) for e in events[2:])]
    failure = verify(tampered, (6, tampered[-1].hash)).failure
    assert failure is not None
    assert (failure.seq, failure.event_id) == (3, copy.id)


def test_two_reordered_events_are_named_at_the_first_moved_one() -> None:
    events = build_chain(5)
    head = head_of(events)
    swapped = [*events[:2], restamp(events[3], 3), restamp(events[2], 4), events[4]]
    failure = verify(swapped, head).failure
    assert failure is not None
    assert (failure.seq, failure.event_id) == (3, events[3].id)


def test_an_event_out_of_seq_order_is_named() -> None:
    events = build_chain(4)
    failure = verify([events[0], events[1], events[1], events[2]]).failure
    assert failure is not None
    assert (failure.seq, failure.event_id) == (2, events[1].id)
    assert "out of order" in failure.reason


def test_the_first_break_wins_over_later_ones() -> None:
    events = build_chain(6)
    head = head_of(events)
    events[1] = replace(events[1], record=replace(events[1].record, action="a"))
    events[4] = replace(events[4], record=replace(events[4].record, action="b"))
    verifier = verify(events, head)
    assert verifier.failure is not None
    assert verifier.failure.seq == 2
    assert verifier.checked == 1


def test_an_unreadable_event_is_named_unless_a_gap_comes_first() -> None:
    events = build_chain(3)
    verifier = ChainVerifier()
    verifier.feed(events[0])
    assert verifier.reject(2, events[1].id, "unreadable") == ChainBreak(
        2, events[1].id, "unreadable"
    )
    gap = ChainVerifier()
    gap.feed(events[0])
    failure = gap.reject(3, events[2].id, "unreadable")
    assert (failure.seq, failure.event_id) == (2, None)


def test_the_hash_covers_every_field_and_the_position() -> None:
    event = build_chain(1)[0]
    base = chain_hash(1, event.id, event.at, event.record, GENESIS_HASH)
    assert base == event.hash
    assert chain_hash(2, event.id, event.at, event.record, GENESIS_HASH) != base
    assert chain_hash(1, uuid4(), event.at, event.record, GENESIS_HASH) != base
    assert chain_hash(1, event.id, event.at, event.record, bytes([1]) * 32) != base
    for change in (
        {"resource_id": None},
        {"purpose": "analytics"},
        {"request_id": "other"},
        {"resource_type": "account"},
        {"subject_id": None},
    ):
        altered = replace(event.record, **change)
        assert chain_hash(1, event.id, event.at, altered, GENESIS_HASH) != base


def test_naive_times_read_back_from_sqlite_hash_as_utc() -> None:
    event = build_chain(1)[0]
    naive = event.at.replace(tzinfo=None)
    assert chain_hash(1, event.id, naive, event.record, GENESIS_HASH) == event.hash


def test_seal_with_leaf_is_seal_and_the_events_leaf() -> None:
    event_id = uuid4()
    event, leaf = seal_with_leaf(7, event_id, START, record(7), b"\x01" * 32)
    assert event == seal(7, event_id, START, record(7), b"\x01" * 32)
    assert leaf == event_leaf_hash(event)
