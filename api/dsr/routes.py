"""The data-subject request routes and their OpenAPI tag, as the application factory
registers them."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.dsr import TAG
from api.dsr.controllers import DataSubjectRequests
from api.dsr.erasure import ErasureRequests
from api.dsr.officer import PrivacyRequests
from api.dsr.restriction import ProcessingRestriction

HANDLERS: list[ControllerRouterHandler] = [
    DataSubjectRequests,
    ErasureRequests,
    ProcessingRestriction,
    PrivacyRequests,
]
TAGS = [
    Tag(
        name=TAG,
        description=(
            "Data-subject requests (GDPR Art. 15, 17 and 20): a signed ZIP export of everything "
            "held about the customer, erasure by crypto-shredding with its report, and the facts "
            "about how their data is processed; the privacy officer's queue of requests."
        ),
    )
]
