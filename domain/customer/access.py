"""Who is accessing whose data, and the audit event every access appends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from domain.audit.events import Actor, AuditRecord, Outcome
from domain.errors import NotFound
from domain.ports import UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Access:
    """One request's access: the actor, the customer whose data it is, the request id."""

    actor: Actor
    subject_id: UUID
    request_id: str | None = None


def access_record(
    access: Access,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    *,
    fields: Sequence[str] = (),
    outcome: Outcome = Outcome.ALLOWED,
) -> AuditRecord:
    """The audit record of this access."""
    return AuditRecord(
        actor=access.actor,
        action=action,
        resource_type=resource_type,
        outcome=outcome,
        subject_id=access.subject_id,
        resource_id=None if resource_id is None else str(resource_id),
        fields=tuple(fields),
        request_id=access.request_id,
    )


async def record_access(
    uow: UnitOfWork,
    access: Access,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    *,
    fields: Sequence[str] = (),
    outcome: Outcome = Outcome.ALLOWED,
) -> None:
    """Append the audit event for this access to the unit of work (committed by the caller):
    for accesses that change data, so the event commits with the change."""
    await uow.audit.append(
        access_record(access, action, resource_type, resource_id, fields=fields, outcome=outcome)
    )


async def record_read(
    uow: UnitOfWork,
    access: Access,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    *,
    fields: Sequence[str] = (),
    outcome: Outcome = Outcome.ALLOWED,
) -> None:
    """Append the audit event for an access that changes nothing, in a transaction of its
    own (`uow.audit_trail`, shared with concurrent requests); returns once it is durable, so
    the caller answers only after that. Works before, inside and after the unit's block."""
    await uow.audit_trail.record(
        access_record(access, action, resource_type, resource_id, fields=fields, outcome=outcome)
    )


async def deny_not_found(
    uow: UnitOfWork, access: Access, action: str, resource_type: str, resource_id: UUID | None
) -> NotFound:
    """Record (and commit) a `denied` event for an id that is missing or someone else's,
    and return the NotFound to raise. The two cases are one answer, so nobody learns which
    ids exist; the audit log still shows the attempt."""
    await record_access(uow, access, action, resource_type, resource_id, outcome=Outcome.DENIED)
    await uow.commit()
    return NotFound(f"no such {resource_type}")


async def deny_read_not_found(
    uow: UnitOfWork, access: Access, action: str, resource_type: str, resource_id: UUID | None
) -> NotFound:
    """`deny_not_found` for read-only units (see `UnitOfWork.reading`): the `denied` event
    is made durable through `uow.audit_trail` before this returns."""
    await record_read(uow, access, action, resource_type, resource_id, outcome=Outcome.DENIED)
    return NotFound(f"no such {resource_type}")


async def record_denied(
    uow_factory: Callable[[], UnitOfWork], access: Access, action: str, resource_type: str
) -> None:
    """Append a `denied` event for a refused request (e.g. a missing scope); returns once it
    is durable. It changes no data, so it goes through the shared `audit_trail`."""
    await record_read(uow_factory(), access, action, resource_type, outcome=Outcome.DENIED)


def parse_id(text: str) -> UUID | None:
    """The UUID in `text`, or None when it is not one (which the caller answers with 404)."""
    try:
        return UUID(text)
    except ValueError:
        return None
