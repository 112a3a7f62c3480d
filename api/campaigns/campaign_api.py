"""The campaign API, for campaign tools with a client-credentials token (campaigns:write).

POST /v1/campaigns/{campaign_id}/audience-checks: whom may the campaign contact now?
POST /v1/campaigns/{campaign_id}/contacts: record a contact sent (409 when not allowed now).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import Body, Parameter

from api.campaigns.dtos import (
    CAMPAIGNS_TAG,
    CLOSED,
    AudienceCheck,
    AudienceCheckRequest,
    Contact,
    SentContact,
    answer_out,
)
from api.middleware import request_id_of
from api.problems import ProblemException
from api.routes import problems
from domain.campaigns.audience import CAMPAIGN_ID, check_audience
from domain.campaigns.policy import ContactRules
from domain.campaigns.ports import CampaignUnitOfWork
from domain.campaigns.record_contact import ContactToRecord, NotContactable, record_contact
from domain.clock import Clock
from domain.identity import Caller

Units = NamedDependency[Callable[[], CampaignUnitOfWork]]
CampaignId = Annotated[
    str,
    Parameter(
        description="The campaign's own short code; customers see it in their access log",
        pattern=CAMPAIGN_ID.pattern.join("^$"),
        min_length=1,
        max_length=50,
    ),
]
SCOPE = "campaigns:write"
_GUARD: dict[str, Any] = {
    "opt": {"scopes": (SCOPE,), "audit": ("campaign.denied", "campaign")},
    "security": [{"oauth2": [SCOPE]}],
    "tags": [CAMPAIGNS_TAG],
}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class CampaignApi(Controller):
    """What campaign tools ask before and after they contact customers."""

    path = "/v1/campaigns/{campaign_id:str}"

    @post(
        "/audience-checks",
        operation_id="checkCampaignAudience",
        status_code=200,
        summary="May this campaign contact these customers on this channel now? (up to 1,000)",
        responses=problems(400, 422),
        **_GUARD,
    )
    async def audience_check(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        campaign_units: Units,
        clock: NamedDependency[Clock],
        rules: NamedDependency[ContactRules],
        campaign_id: CampaignId,
        data: Annotated[AudienceCheckRequest, Body(schema_extra=CLOSED)],
    ) -> AudienceCheck:
        """One answer per id, in the order asked: contactable or not, the reasons and, when
        only time stands in the way, the earliest allowed time. An unknown id is answered
        like a customer without consent. Each customer's access log records the check."""
        decisions = await check_audience(
            campaign_units,
            clock,
            rules,
            caller.as_actor(),
            campaign_id=campaign_id,
            channel=data.channel.value,
            customer_ids=data.customer_ids,
            request_id=request_id_of(request.scope),
        )
        return AudienceCheck(
            campaign_id=campaign_id,
            channel=data.channel.value,
            checked_at=decisions[0].at,
            items=[answer_out(decision) for decision in decisions],
        )

    @post(
        "/contacts",
        operation_id="recordCampaignContact",
        status_code=201,
        summary="Record a marketing contact sent (idempotent by key; 409 when not allowed now)",
        responses=problems(
            400,
            409,
            422,
            worded={409: "Not contactable now, or the key was used for another contact"},
        ),
        **_GUARD,
    )
    async def record(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        campaign_units: Units,
        clock: NamedDependency[Clock],
        rules: NamedDependency[ContactRules],
        campaign_id: CampaignId,
        data: Annotated[SentContact, Body(schema_extra=CLOSED)],
    ) -> Response[Contact]:
        """201 with the contact; 200 with the same contact when the key was used for it
        before; 409 `not-contactable` (with `reasons` and `earliest_allowed_at`) when the
        policy refuses it at this moment, and 409 when the key named another contact."""
        ask = ContactToRecord(
            campaign_id, data.customer_id, data.channel.value, data.idempotency_key
        )
        try:
            recorded = await record_contact(
                campaign_units,
                clock,
                rules,
                caller.as_actor(),
                ask,
                request_id=request_id_of(request.scope),
            )
        except NotContactable as refused:
            decision = refused.decision
            raise ProblemException(
                409,
                "The customer may not be contacted now; see reasons.",
                title="Not contactable",
                problem_type="urn:custodian:problem:not-contactable",
                extensions={
                    "reasons": [
                        {"code": r.code.value, "message": r.message} for r in decision.reasons
                    ],
                    "earliest_allowed_at": _iso(decision.earliest_allowed_at),
                },
            ) from None
        contact = recorded.contact
        body = Contact(
            id=contact.id,
            campaign_id=contact.campaign_id,
            customer_id=contact.customer_id,
            channel=contact.channel,
            sent_at=contact.sent_at,
            idempotency_key=contact.idempotency_key,
        )
        return Response(body, status_code=200 if recorded.replayed else 201)
