"""The self-service routes and their OpenAPI tag, as the application factory registers them."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.self_service import TAG
from api.self_service.accounts import MyAccounts
from api.self_service.corrections import CorrectionDecisions, MyCorrections
from api.self_service.interactions import MyInteractions
from api.self_service.profile import MyProfile

HANDLERS: list[ControllerRouterHandler] = [
    MyProfile,
    MyAccounts,
    MyInteractions,
    MyCorrections,
    CorrectionDecisions,
]
TAGS = [
    Tag(
        name=TAG,
        description=(
            "The customer's own profile, accounts, transactions, interactions and correction "
            "requests; and the privacy officer's reading of correction requests and decision "
            "on each."
        ),
    )
]
