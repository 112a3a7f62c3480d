"""Who did it: the one shape every response uses to name the actor of an event.

Each route fills in only what its reader may see (a customer sees a staff member's role and
id, never a colleague's name; a profile change names only the kind of actor); what the
reader may not see is null, never left out, so every client reads the same four fields.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from domain.audit.events import Actor as DomainActor


class ActorType(StrEnum):
    """The kind of actor: a customer, a staff member, a service client or Custodian itself."""

    CUSTOMER = "customer"
    STAFF = "staff"
    SERVICE = "service"
    SYSTEM = "system"


class Actor(msgspec.Struct):
    """Who did it. `type`: customer, staff, service or system; `id`: the staff member's id
    (or the system component, for officers), null where this reader may not see it; `role`:
    a staff member's role; `client`: the OAuth client (app or service) the action came
    through. Never a name or contact details."""

    type: ActorType
    id: str | None
    role: str | None
    client: str | None


def actor_of(
    kind: str,
    *,
    actor_id: str | None = None,
    role: str | None = None,
    client: str | None = None,
) -> Actor:
    """An actor of the stored `kind` (`customer`, `staff`, `service` or `system`) showing
    only what it is given."""
    return Actor(type=ActorType(kind), id=actor_id, role=role, client=client)


def full_actor(actor: DomainActor) -> Actor:
    """Everything the audit log knows about who acted: for privacy officers."""
    return actor_of(actor.type.value, actor_id=actor.id, role=actor.role, client=actor.client_id)
