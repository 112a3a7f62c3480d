"""The customer reads and changes their contact preferences, and sees their contact status.

The status is the policy's own answer for each channel right now (so the customer sees what
every campaign would be told), with the contacts counted in the 7- and 30-day windows.
Changing preferences is conditional on the version read (If-Match), like the profile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.campaigns.policy import MONTH, ContactDecision, ContactRules, decide, purpose_of
from domain.campaigns.ports import CampaignUnitOfWork, RecordedContact
from domain.campaigns.preferences import MARKETING_CHANNELS, ContactPreferences
from domain.clock import Clock
from domain.customer.access import Access, record_access, record_read
from domain.errors import NotFound
from domain.self_service.errors import PreconditionFailed, matches, require_a_version

RESOURCE = "contact_preferences"


@dataclass(frozen=True, slots=True)
class ContactStatus:
    """The preferences, the policy's answer per channel now, and the recent contacts."""

    preferences: ContactPreferences
    channels: tuple[ContactDecision, ...]
    recent_contacts: tuple[RecordedContact, ...]
    rules: ContactRules


def etag_of(preferences: ContactPreferences) -> str:
    """The strong entity tag of the preferences: their version, quoted ("0": never set)."""
    return f'"{preferences.version}"'


async def _status(
    uow: CampaignUnitOfWork, access: Access, clock: Clock, rules: ContactRules
) -> ContactStatus:
    now = clock.now()
    customer = access.subject_id
    decisions = []
    preferences = await uow.campaigns.preferences(customer)
    for channel in sorted(MARKETING_CHANNELS):
        facts = await uow.campaigns.facts(
            [customer], purpose_of(channel), now, rules.complaint_cool_off
        )
        if customer not in facts:
            raise NotFound("no such customer")
        decisions.append(decide(facts[customer], channel, rules, now))
    recent = await uow.campaigns.contacts_since(customer, now - MONTH)
    return ContactStatus(preferences, tuple(decisions), tuple(recent), rules)


async def read_contact_preferences(
    uow_factory: Callable[[], CampaignUnitOfWork],
    clock: Clock,
    rules: ContactRules,
    access: Access,
) -> ContactStatus:
    """The customer's preferences and current contact status; the read is audited (durable
    before this returns)."""
    uow = uow_factory().reading()
    async with uow:
        status = await _status(uow, access, clock, rules)
    await record_read(uow, access, "contact_preferences.read", RESOURCE, access.subject_id)
    return status


async def update_contact_preferences(
    uow_factory: Callable[[], CampaignUnitOfWork],
    clock: Clock,
    rules: ContactRules,
    access: Access,
    *,
    if_match: str | None,
    preferences: ContactPreferences,
) -> ContactStatus:
    """Replace the preferences if `if_match` names the current version; audited with the
    change. PreconditionRequired without `if_match` or with `*` (like the profile: `*`
    would skip the lost-update check), PreconditionFailed when stale."""
    version = require_a_version(if_match, "preferences")
    async with uow_factory() as uow:
        # The customer row is locked for contacts too: a change and a contact decision for
        # the same customer never interleave.
        await uow.campaigns.lock_customer(access.subject_id)
        current = await uow.campaigns.preferences(access.subject_id)
        if not matches(version, etag_of(current)):
            raise PreconditionFailed(
                f"the preferences are at version {current.version}; read them again"
            )
        if await uow.customers.get(access.subject_id) is None:
            raise NotFound("no such customer")
        await uow.campaigns.save_preferences(access.subject_id, preferences, clock.now())
        await record_access(
            uow,
            access,
            "contact_preferences.update",
            RESOURCE,
            access.subject_id,
            fields=("channels", "quiet_hours", "weekly_limit", "monthly_limit"),
        )
        status = await _status(uow, access, clock, rules)
        await uow.commit()
    return status
