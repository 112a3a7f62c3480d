"""The JSON shapes of the data-subject request routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from api.actor import Actor, actor_of
from api.consent.dtos import Purpose, purpose_out
from api.self_service.dtos import NON_BLANK
from domain.dsr.processing import ProcessingFacts as DomainProcessingFacts
from domain.dsr.queue import RequestDetail, is_overdue
from domain.dsr.requests import DataSubjectRequest as DomainDataSubjectRequest
from domain.dsr.requests import RequestStatus, RequestType


class Export(msgspec.Struct):
    """An export request: `status` is queued, running, ready, failed or expired; `progress`
    goes from 0 to 100; `size` and `sha256` describe the archive once it is ready."""

    id: str
    status: str
    progress: int
    received_at: datetime
    due_at: datetime
    completed_at: datetime | None
    expires_at: datetime | None
    size: int | None
    sha256: str | None


class ExportPage(msgspec.Struct):
    """A page of my export requests, newest first."""

    items: list[Export]
    next_cursor: str | None


class AnalyticsMembership(msgspec.Struct):
    """Whether the customer is in the pseudonymous analytics population, and since when
    (the consent that admitted them); `since` is null when they are not."""

    member: bool
    since: datetime | None


class ProcessingFacts(msgspec.Struct):
    """Art. 15 facts: the purposes of processing, where the data comes from, and whether
    the customer is in the analytics population."""

    purposes: list[Purpose]
    sources: list[str]
    analytics: AnalyticsMembership


def export_out(request: DomainDataSubjectRequest, now: datetime) -> Export:
    """An export request as sent (an expired archive reads as expired)."""
    return Export(
        id=str(request.id),
        status=request.shown_status(now).value,
        progress=request.progress,
        received_at=request.received_at,
        due_at=request.due_at,
        completed_at=request.completed_at,
        expires_at=request.expires_at,
        size=request.archive_size,
        sha256=request.archive_sha256,
    )


def processing_out(facts: DomainProcessingFacts) -> ProcessingFacts:
    """The Art. 15 facts as sent."""
    return ProcessingFacts(
        purposes=[purpose_out(n) for n in facts.purposes],
        sources=list(facts.sources),
        analytics=AnalyticsMembership(
            member=facts.analytics.member,
            since=None if facts.analytics.since is None else facts.analytics.since.astimezone(UTC),
        ),
    )


class DestroyedData(msgspec.Struct):
    """A class of data whose key was destroyed: unreadable everywhere, backups included."""

    retention_class: str
    covers: str


class KeptData(msgspec.Struct):
    """A class of data kept after erasure, why, and until when (`until` null: not yet
    known, see `until_rule`)."""

    retention_class: str
    covers: str
    legal_basis: str
    until: str | None
    until_rule: str


class ErasureReport(msgspec.Struct, tag_field="type", tag="erasure"):
    """What the erasure destroyed and what is kept (`type`: always `erasure`)."""

    erased_at: datetime
    destroyed: list[DestroyedData]
    kept: list[KeptData]


class Erasure(msgspec.Struct):
    """An erasure request: `status` queued, running, completed, failed or cancelled.
    `report` is set when the erasure has run, which also ends the customer's access: the
    customer sees it null, the privacy officer reads the report in the request's detail."""

    id: str
    status: str
    progress: int
    received_at: datetime
    due_at: datetime
    completed_at: datetime | None
    report: ErasureReport | None
    # The end of the grace period: until then `DELETE` cancels (status `queued`).
    erase_after: datetime | None = None


class ErasureConfirmation(msgspec.Struct, forbid_unknown_fields=True):
    """The customer's confirmation: the phrase `erase my data`, typed by the person."""

    confirmation: Annotated[str, msgspec.Meta(max_length=100)] | None = None


def erasure_out(request: DomainDataSubjectRequest) -> Erasure:
    """An erasure request as sent."""
    report = None if request.report is None else msgspec.convert(request.report, ErasureReport)
    return Erasure(
        id=str(request.id),
        status=request.status.value,
        progress=request.progress,
        received_at=request.received_at,
        due_at=request.due_at,
        completed_at=request.completed_at,
        report=report,
        erase_after=request.erase_after,
    )


class RestrictionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Restrict (or lift the restriction of) processing; optionally object to direct
    marketing, which withdraws every marketing purpose at once. `reason`: the Art. 18(1)
    ground for a restriction."""

    restricted: bool
    reason: (
        Literal["accuracy_contested", "unlawful_processing", "legal_claims", "objection_pending"]
        | None
    ) = None
    object_to_direct_marketing: bool = False


class Restriction(msgspec.Struct):
    """The customer's processing status after the change and the purposes withdrawn."""

    restricted: bool
    status: str
    withdrawn_purposes: list[str]


class DataSubjectRequest(msgspec.Struct):
    """A data-subject request in the officer's queue. `overdue`: still in progress after
    `due_at` (received + 1 month, or the extended date)."""

    id: str
    customer_id: str
    type: str
    status: str
    progress: int
    requested_by: Actor
    """Who asked: the customer, or the staff member or service who took it (by id, as the
    timeline names them)."""
    received_at: datetime
    due_at: datetime
    overdue: bool
    extended: bool
    completed_at: datetime | None
    # An erasure in its grace period: the customer can still cancel until `erase_after`;
    # processing is restricted meanwhile. `due_at` (the legal month) still applies.
    pending_erasure: bool = False
    erase_after: datetime | None = None


class DataSubjectRequestPage(msgspec.Struct):
    """A page of the queue, newest received first."""

    items: list[DataSubjectRequest]
    next_cursor: str | None


class TimelineEntry(msgspec.Struct):
    """One event of a request (from the audit log): when, what, who (kind and id)."""

    at: datetime
    action: str
    actor: Actor
    outcome: str


class RestrictionReport(msgspec.Struct, tag_field="type", tag="restriction"):
    """What a restriction request did: processing restricted (true) or the restriction
    lifted (false), and the Art. 18(1) ground given (null: none given, or lifted)."""

    restricted: bool
    ground: str | None


class ObjectionReport(msgspec.Struct, tag_field="type", tag="objection"):
    """What an objection to direct marketing did: the purposes it withdrew."""

    purposes_withdrawn: list[str]


RequestReport = ErasureReport | RestrictionReport | ObjectionReport
"""What a completed request did, told apart by `type` (the request's type): an erasure's
report (destroyed and kept), a restriction's or an objection's; exports have none (their
archive is the result)."""


class DataSubjectRequestDetail(DataSubjectRequest, kw_only=True):
    """A request with its extension, its report (value-free) and its timeline."""

    extension_reason: str | None
    report: RequestReport | None
    timeline: list[TimelineEntry]


class DeadlineExtension(msgspec.Struct, forbid_unknown_fields=True):
    """Extend the due date once (Art. 12(3)): by `days` (1 to 61) and why. The new due date
    is at most three months after receipt (one month and two further calendar months)."""

    days: Annotated[int, msgspec.Meta(ge=1, le=61)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=NON_BLANK)]


def request_out(request: DomainDataSubjectRequest, now: datetime) -> DataSubjectRequest:
    """A queue entry as sent."""
    return DataSubjectRequest(
        id=str(request.id),
        customer_id=str(request.customer_id),
        type=request.type.value,
        status=request.shown_status(now).value,
        progress=request.progress,
        requested_by=actor_of(request.requested_by, actor_id=request.requested_by_id),
        received_at=request.received_at,
        due_at=request.due_at,
        overdue=is_overdue(request, now),
        extended=request.extended_at is not None,
        completed_at=request.completed_at,
        pending_erasure=(
            request.type is RequestType.ERASURE
            and request.status is RequestStatus.QUEUED
            and request.erase_after is not None
            and request.erase_after > now
        ),
        erase_after=request.erase_after,
    )


def report_out(request: DomainDataSubjectRequest) -> RequestReport | None:
    """The stored report of `request` in the typed shape of its kind."""
    stored = request.report
    if stored is None:
        return None
    if request.type is RequestType.ERASURE:
        return msgspec.convert(stored, ErasureReport)
    if request.type is RequestType.RESTRICTION:
        ground = stored.get("ground")
        return RestrictionReport(
            restricted=bool(stored.get("restricted")),
            ground=None if ground is None else str(ground),
        )
    if request.type is RequestType.OBJECTION:
        return ObjectionReport(
            purposes_withdrawn=[str(p) for p in stored.get("purposes_withdrawn", [])]
        )
    return None


def detail_out(detail: RequestDetail, now: datetime) -> DataSubjectRequestDetail:
    """A request with its timeline, as sent: the queue entry's fields at the top level."""
    entry = request_out(detail.request, now)
    fields = {name: getattr(entry, name) for name in DataSubjectRequest.__struct_fields__}
    return DataSubjectRequestDetail(
        **fields,
        extension_reason=detail.request.extension_reason,
        report=report_out(detail.request),
        timeline=[
            TimelineEntry(
                at=e.at,
                action=e.action,
                actor=actor_of(e.actor_type, actor_id=e.actor_id),
                outcome=e.outcome,
            )
            for e in detail.timeline
        ],
    )
