"""Response bodies of the access log and the officer's audit routes."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import msgspec

from api.actor import Actor, actor_of, full_actor
from domain.audit.checkpoints import AuditReport
from domain.audit.checkpoints import Checkpoint as DomainCheckpoint
from domain.audit.events import AuditEvent as DomainAuditEvent
from domain.support.access import split_purpose


class OutcomeFilter(StrEnum):
    """Whether the access was allowed."""

    ALLOWED = "allowed"
    DENIED = "denied"


class AccessLogEntry(msgspec.Struct):
    """One access to the customer's data."""

    at: datetime
    actor: Actor
    """Who accessed: the kind of actor, a staff member's role and id, the app or service
    client. Never a colleague's name or contact details."""
    action: str
    resource_type: str
    resource_id: str | None
    fields: list[str]
    purpose: str | None
    ticket: str | None
    outcome: str
    id: str
    """The entry's event id: GET /v1/me/access-log/{id}/proof proves it is in the log."""


class AccessLog(msgspec.Struct):
    """A page of the access log, newest first."""

    items: list[AccessLogEntry]
    next_cursor: str | None


class AuditEvent(msgspec.Struct):
    """An audit event as stored, with its place in the hash chain."""

    seq: int
    id: str
    at: datetime
    actor: Actor
    subject_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    fields: list[str]
    purpose: str | None
    outcome: str
    request_id: str | None
    prev_hash: str
    hash: str


class AuditEventPage(msgspec.Struct):
    """A page of audit events, newest first."""

    items: list[AuditEvent]
    next_cursor: str | None


class ChainFailure(msgspec.Struct):
    """The first place where the chain or a checkpoint does not hold."""

    seq: int
    reason: str
    event_id: str | None = None


class Checkpoint(msgspec.Struct):
    """A signed checkpoint: verify `signature` (EdDSA JWS) with the JWKS key `kid`."""

    seq: int
    event_count: int
    head_hash: str
    kid: str
    signature: str
    created_at: datetime


class Verification(msgspec.Struct):
    """The outcome of walking the whole chain and checking every checkpoint."""

    intact: bool
    events_checked: int
    head_seq: int
    head_hash: str
    first_failure: ChainFailure | None
    checkpoints_checked: int
    checkpoint_failure: ChainFailure | None
    latest_checkpoint: Checkpoint | None
    tree_heads_checked: int = 0
    tree_failure: ChainFailure | None = None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def access_log_entry(event: DomainAuditEvent) -> AccessLogEntry:
    """What the customer sees of an event: staff by role and id, apps by client id."""
    record = event.record
    actor = record.actor
    staff = actor.type.value == "staff"
    # Only a staff member's id: a service's or the system's name is the officers' to read.
    who = actor_of(
        actor.type.value,
        actor_id=actor.id if staff else None,
        role=actor.role,
        client=actor.client_id,
    )
    purpose, ticket = split_purpose(record.purpose)
    return AccessLogEntry(
        at=_utc(event.at),
        actor=who,
        action=record.action,
        resource_type=record.resource_type,
        resource_id=record.resource_id,
        fields=list(record.fields),
        purpose=purpose,
        ticket=ticket,
        outcome=record.outcome.value,
        id=str(event.id),
    )


def audit_event_out(event: DomainAuditEvent) -> AuditEvent:
    """The full stored event, for officers."""
    record = event.record
    return AuditEvent(
        seq=event.seq,
        id=str(event.id),
        at=_utc(event.at),
        actor=full_actor(record.actor),
        subject_id=str(record.subject_id) if record.subject_id else None,
        action=record.action,
        resource_type=record.resource_type,
        resource_id=record.resource_id,
        fields=list(record.fields),
        purpose=record.purpose,
        outcome=record.outcome.value,
        request_id=record.request_id,
        prev_hash=event.prev_hash.hex(),
        hash=event.hash.hex(),
    )


def checkpoint_out(checkpoint: DomainCheckpoint) -> Checkpoint:
    """A checkpoint as the API (and `audit checkpoint --export`) shows it."""
    return Checkpoint(
        seq=checkpoint.seq,
        event_count=checkpoint.seq,
        head_hash=checkpoint.head_hash.hex(),
        kid=checkpoint.kid,
        signature=checkpoint.signature,
        created_at=_utc(checkpoint.created_at),
    )


def verification(report: AuditReport) -> Verification:
    """The verification report as the API shows it."""
    first = (
        ChainFailure(
            report.chain_failure_seq or 0,
            report.chain_failure_reason,
            report.chain_failure_event_id,
        )
        if report.chain_failure_reason is not None
        else None
    )
    checkpoint_failure = (
        ChainFailure(report.checkpoint_failure.seq, report.checkpoint_failure.reason)
        if report.checkpoint_failure is not None
        else None
    )
    latest = report.latest_checkpoint
    return Verification(
        intact=report.intact,
        events_checked=report.events_checked,
        head_seq=report.head_seq,
        head_hash=report.head_hash.hex(),
        first_failure=first,
        checkpoints_checked=report.checkpoints_checked,
        checkpoint_failure=checkpoint_failure,
        latest_checkpoint=checkpoint_out(latest) if latest else None,
        tree_heads_checked=report.tree_heads_checked,
        tree_failure=(
            ChainFailure(report.tree_failure.seq, report.tree_failure.reason)
            if report.tree_failure is not None
            else None
        ),
    )
