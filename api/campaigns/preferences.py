"""GET/PUT /v1/me/contact-preferences: the customer's channels, quiet hours and limits, and
their contact status now (consents:read / consents:write; PUT needs If-Match)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, put
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import Body, HeaderParameter

from api.campaigns.dtos import (
    CAMPAIGNS_TAG,
    CLOSED,
    ChannelStatus,
    ContactPreferences,
    ContactPreferencesUpdate,
    ContactStatus,
    OrganisationLimits,
    QuietHours,
    RecentContact,
    RefusalReason,
)
from api.middleware import request_id_of
from api.routes import problems
from domain.campaigns.contact_preferences import (
    ContactStatus as DomainContactStatus,
)
from domain.campaigns.contact_preferences import (
    etag_of,
    read_contact_preferences,
    update_contact_preferences,
)
from domain.campaigns.policy import ContactRules
from domain.campaigns.ports import CampaignUnitOfWork
from domain.campaigns.preferences import validated_preferences
from domain.clock import Clock
from domain.customer.access import Access
from domain.identity import Caller

Units = NamedDependency[Callable[[], CampaignUnitOfWork]]
ETAG = ResponseHeader(
    name="ETag", description="The version of the preferences, for If-Match", documentation_only=True
)


def _guard(scope: str, action: str) -> dict[str, Any]:
    return {
        "opt": {"scopes": (scope,), "audit": (action, "contact_preferences")},
        "security": [{"oauth2": [scope]}],
        "tags": [CAMPAIGNS_TAG],
    }


def _access(caller: Caller, request: Request[Any, Any, Any]) -> Access:
    return Access(caller.as_actor(), caller.customer_id, request_id_of(request.scope))


def _out(status: DomainContactStatus) -> Response[ContactPreferences]:
    preferences = status.preferences
    quiet = preferences.quiet_hours
    first = status.channels[0]
    waits = [d.earliest_allowed_at for d in status.channels if d.earliest_allowed_at]
    contactable_now = any(d.contactable for d in status.channels)
    body = ContactPreferences(
        channels=sorted(preferences.channels),
        quiet_hours=None
        if quiet is None
        else QuietHours(
            quiet.start.strftime("%H:%M"), quiet.end.strftime("%H:%M"), quiet.time_zone
        ),
        weekly_limit=preferences.weekly_limit,
        monthly_limit=preferences.monthly_limit,
        version=preferences.version,
        updated_at=preferences.updated_at,
        organisation_limits=OrganisationLimits(
            status.rules.weekly_limit,
            status.rules.monthly_limit,
            status.rules.complaint_cool_off.days,
        ),
        status=ContactStatus(
            contacts_last_7_days=first.contacts_last_week,
            contacts_last_30_days=first.contacts_last_month,
            weekly_limit=first.weekly_limit,
            monthly_limit=first.monthly_limit,
            # The soonest any channel opens; None when one is open now or none will open by
            # itself (no consent, a restriction...).
            next_allowed_at=None if contactable_now or not waits else min(waits),
            channels=[
                ChannelStatus(
                    channel=d.channel,
                    contactable=d.contactable,
                    reasons=[RefusalReason(r.code.value, r.message) for r in d.reasons],
                    earliest_allowed_at=d.earliest_allowed_at,
                )
                for d in status.channels
            ],
            recent_contacts=[
                RecentContact(c.campaign_id, c.channel, c.sent_at) for c in status.recent_contacts
            ],
        ),
    )
    return Response(body, headers={"ETag": etag_of(preferences)})


class ContactPreferencesController(Controller):
    """The customer's contact preferences and contact status."""

    path = "/v1/me/contact-preferences"

    @get(
        "/",
        operation_id="getMyContactPreferences",
        summary="My contact preferences and how many marketing contacts I had recently",
        responses=problems(400, 404),
        response_headers=[ETAG],
        **_guard("consents:read", "contact_preferences.read"),
    )
    async def read(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        campaign_units: Units,
        clock: NamedDependency[Clock],
        rules: NamedDependency[ContactRules],
    ) -> Response[ContactPreferences]:
        """Preferences (defaults at version 0 when never set) with the ETag, the
        organisation's limits and the contact status per channel now."""
        status = await read_contact_preferences(
            campaign_units, clock, rules, _access(caller, request)
        )
        return _out(status)

    @put(
        "/",
        operation_id="putMyContactPreferences",
        status_code=200,
        summary="Replace my contact preferences (If-Match required)",
        responses=problems(
            400,
            404,
            412,
            422,
            428,
            worded={428: "If-Match is required, and must name an ETag (`*` is refused)"},
        ),
        response_headers=[ETAG],
        **_guard("consents:write", "contact_preferences.update"),
    )
    async def replace(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        campaign_units: Units,
        clock: NamedDependency[Clock],
        rules: NamedDependency[ContactRules],
        data: Annotated[ContactPreferencesUpdate, Body(schema_extra=CLOSED)],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match",
                description=(
                    "The ETag of the preferences the change is based on; `*` is refused (428), "
                    "since it would skip the lost-update check."
                ),
            ),
        ] = None,
    ) -> Response[ContactPreferences]:
        """Replace the preferences if If-Match is current (428 without it or with `*`, 412
        when stale); limits may only be lower than the organisation's (422 otherwise)."""
        quiet = data.quiet_hours
        preferences = validated_preferences(
            channels=[channel.value for channel in data.channels],
            quiet_hours=None if quiet is None else (quiet.start, quiet.end, quiet.time_zone),
            weekly_limit=data.weekly_limit,
            monthly_limit=data.monthly_limit,
            org_weekly=rules.weekly_limit,
            org_monthly=rules.monthly_limit,
        )
        status = await update_contact_preferences(
            campaign_units,
            clock,
            rules,
            _access(caller, request),
            if_match=if_match,
            preferences=preferences,
        )
        return _out(status)
