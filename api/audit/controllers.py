"""The customer's access log and the privacy officer's audit API.

GET /v1/me/access-log (access-log:read): who accessed my data, newest first.
GET /v1/privacy/audit-events (audit:read): search every event, newest first.
GET /v1/privacy/audit-events/export (audit:read): JSON Lines, streamed in chain order.
GET /v1/privacy/audit/verification (audit:read): chain walk, Merkle tree against every signed
tree head, checkpoint signatures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from api.actor import ActorType
from api.audit.dtos import (
    AccessLog,
    AuditEventPage,
    OutcomeFilter,
    Verification,
    access_log_entry,
    audit_event_out,
    verification,
)
from api.middleware import request_id_of
from api.routes import Cursor, From, Limit, To, parse_time_range, problems
from domain.audit.access_log import (
    AuditQuery,
    AuditReadUnitOfWork,
    export_audit_events,
    read_access_log,
    search_audit_events,
)
from domain.audit.checkpoints import VerifyUnitOfWork, verify_audit
from domain.identity import Caller

AUDIT_TAG = "privacy-audit"
ACCESS_LOG_TAG = "access-log"
JSON_LINES = "application/jsonl"

Text = Annotated[str | None, QueryParameter(max_length=128)]
Subject = Annotated[UUID | None, QueryParameter(description="The customer the events are about")]
ActorTypeQuery = Annotated[ActorType | None, QueryParameter()]
Outcome = Annotated[OutcomeFilter | None, QueryParameter()]


@get(
    "/v1/me/access-log",
    operation_id="getMyAccessLog",
    tags=[ACCESS_LOG_TAG],
    opt={"scopes": ("access-log:read",)},
    security=[{"oauth2": ["access-log:read"]}],
    responses=problems(400, 422),
    summary="Who accessed my data, when, what, why",
)
async def get_access_log(
    *,
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    audit_units: NamedDependency[Callable[[], AuditReadUnitOfWork]],
    from_: From = None,
    to: To = None,
    actor_type: ActorTypeQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AccessLog:
    """Accesses to the caller's data, newest first (their own access-log reads omitted)."""
    start, end = parse_time_range(from_, to)
    query = AuditQuery(from_=start, to=end, actor_type=actor_type.value if actor_type else None)
    page = await read_access_log(
        audit_units(),
        caller.customer_id,
        caller.as_actor(),
        query=query,
        cursor=cursor,
        limit=limit,
        request_id=request_id_of(request.scope),
    )
    return AccessLog(
        items=[access_log_entry(event) for event in page.items], next_cursor=page.next_cursor
    )


def _query(
    *,
    subject: UUID | None,
    actor: str | None,
    action: str | None,
    resource_type: str | None,
    outcome: OutcomeFilter | None,
    from_: str | None,
    to: str | None,
) -> AuditQuery:
    start, end = parse_time_range(from_, to)
    return AuditQuery(
        subject_id=subject,
        actor_id=actor,
        action=action,
        resource_type=resource_type,
        outcome=outcome.value if outcome else None,
        from_=start,
        to=end,
    )


@get(
    "/v1/privacy/audit-events",
    operation_id="listAuditEvents",
    tags=[AUDIT_TAG],
    opt={"scopes": ("audit:read",)},
    security=[{"oauth2": ["audit:read"]}],
    responses=problems(400, 422),
    summary="Search the audit log, newest first",
)
async def list_audit_events(
    *,
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    audit_units: NamedDependency[Callable[[], AuditReadUnitOfWork]],
    subject: Subject = None,
    actor: Text = None,
    action: Text = None,
    resource_type: Text = None,
    outcome: Outcome = None,
    from_: From = None,
    to: To = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AuditEventPage:
    """Matching events with their chain hashes; the search itself is audited."""
    page = await search_audit_events(
        audit_units(),
        caller.as_actor(),
        query=_query(
            subject=subject,
            actor=actor,
            action=action,
            resource_type=resource_type,
            outcome=outcome,
            from_=from_,
            to=to,
        ),
        cursor=cursor,
        limit=limit,
        request_id=request_id_of(request.scope),
    )
    return AuditEventPage(
        items=[audit_event_out(event) for event in page.items], next_cursor=page.next_cursor
    )


@get(
    "/v1/privacy/audit-events/export",
    operation_id="exportAuditEvents",
    tags=[AUDIT_TAG],
    opt={"scopes": ("audit:read",)},
    security=[{"oauth2": ["audit:read"]}],
    responses=problems(400, 422),
    media_type=JSON_LINES,
    summary="Export matching audit events as JSON Lines, in chain order (streamed)",
)
async def export_events(
    *,
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    audit_units: NamedDependency[Callable[[], AuditReadUnitOfWork]],
    subject: Subject = None,
    actor: Text = None,
    action: Text = None,
    resource_type: Text = None,
    outcome: Outcome = None,
    from_: From = None,
    to: To = None,
) -> Stream:
    """One JSON object per line, oldest first, read in batches: constant memory."""
    events = export_audit_events(
        audit_units,
        caller.as_actor(),
        _query(
            subject=subject,
            actor=actor,
            action=action,
            resource_type=resource_type,
            outcome=outcome,
            from_=from_,
            to=to,
        ),
        request_id_of(request.scope),
    )
    # Audit the export (and fail with a proper problem) before the status line is sent.
    first = await anext(events, None)

    async def lines() -> AsyncIterator[bytes]:
        if first is None:
            return
        yield msgspec.json.encode(audit_event_out(first)) + b"\n"
        async for event in events:
            yield msgspec.json.encode(audit_event_out(event)) + b"\n"

    return Stream(
        lines(),
        media_type=JSON_LINES,
        headers={"Content-Disposition": 'attachment; filename="audit-events.jsonl"'},
    )


@get(
    "/v1/privacy/audit/verification",
    operation_id="verifyAuditLog",
    tags=[AUDIT_TAG],
    opt={"scopes": ("audit:read",)},
    security=[{"oauth2": ["audit:read"]}],
    responses=problems(400),
    summary="Verify the whole audit log, every signed tree head and checkpoint",
)
async def get_verification(
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    verify_units: NamedDependency[Callable[[], VerifyUnitOfWork]],
) -> Verification:
    """Events checked, head hash, first failure (if any) and the latest checkpoint."""
    report = await verify_audit(verify_units(), caller.as_actor(), request_id_of(request.scope))
    return verification(report)
