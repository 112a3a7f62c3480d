"""Read my interactions with the organisation, and one interaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.customer.access import Access, deny_read_not_found, parse_id, record_read
from domain.customer.interactions import Channel, Interaction, InteractionKind
from domain.pagination import Keyset, Page, Position, filtered_list, key_of, read_page
from domain.ports import UnitOfWork

INTERACTION_FIELDS = (
    "occurred_at",
    "channel",
    "direction",
    "kind",
    "summary",
    "outcome",
    "satisfaction",
    "campaign",
)


@dataclass(frozen=True, slots=True)
class InteractionFilter:
    """Optional filters: `occurred_from` inclusive, `occurred_to` exclusive."""

    channel: Channel | None = None
    kind: InteractionKind | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


async def list_interactions(
    uow_factory: Callable[[], UnitOfWork],
    access: Access,
    *,
    limit: int,
    cursor: str | None,
    filters: InteractionFilter,
) -> Page[Interaction]:
    """The customer's interactions, newest first, one page, after a durable
    `interaction.list` event. InvalidCursor for a cursor not issued for this list with these
    filters."""
    async with uow_factory().reading() as uow:
        list_name = filtered_list(f"interactions:{access.subject_id}", filters)
        keyset = Keyset.by_position(uow.cursors, list_name, _key)
        page = await read_page(
            keyset,
            cursor,
            limit,
            lambda after, n: uow.interactions.list_for_customer(
                access.subject_id,
                limit=n,
                before=key_of(after),
                channel=filters.channel,
                kind=filters.kind,
                occurred_from=filters.occurred_from,
                occurred_to=filters.occurred_to,
            ),
        )
    await record_read(uow, access, "interaction.list", "interaction", fields=INTERACTION_FIELDS)
    return page


async def read_interaction(
    uow_factory: Callable[[], UnitOfWork], access: Access, interaction_id: str
) -> Interaction:
    """One of the customer's interactions; NotFound (audited as denied) otherwise."""
    async with uow_factory().reading() as uow:
        wanted = parse_id(interaction_id)
        found = None if wanted is None else await uow.interactions.get(access.subject_id, wanted)
        if found is None:
            raise await deny_read_not_found(uow, access, "interaction.read", "interaction", wanted)
    await record_read(
        uow, access, "interaction.read", "interaction", found.id, fields=INTERACTION_FIELDS
    )
    return found


def _key(interaction: Interaction) -> Position:
    return Position(interaction.occurred_at, interaction.id)
