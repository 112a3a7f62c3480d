"""The campaign and contact-preference routes and their OpenAPI tag, as the application
factory registers them."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.campaigns.campaign_api import CampaignApi
from api.campaigns.dtos import CAMPAIGNS_TAG
from api.campaigns.preferences import ContactPreferencesController

HANDLERS: list[ControllerRouterHandler] = [CampaignApi, ContactPreferencesController]
TAGS = [
    Tag(
        name=CAMPAIGNS_TAG,
        description=(
            "One contact policy every campaign asks before contacting anyone: consent, "
            "restriction, objection, pending erasure, the customer's own preferences (channels, "
            "quiet hours, fewer contacts), the organisation's frequency caps across every "
            "campaign and channel, and a cool-off after a complaint. Campaign tools learn yes, "
            "no, why and from when; never a name, email or phone. Customers set their "
            "preferences and see their contact status."
        ),
    )
]
