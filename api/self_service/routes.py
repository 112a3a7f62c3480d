"""What the application factory registers for self-service (one line in api/app.py)."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.self_service.common import TAG
from api.self_service.reads import SelfServiceReads
from api.self_service.writes import SelfServiceWrites

SELF_SERVICE_HANDLERS: list[ControllerRouterHandler] = [SelfServiceReads, SelfServiceWrites]
SELF_SERVICE_TAG = Tag(
    name=TAG,
    description=(
        "The customer's own profile, accounts, transactions, interactions and correction "
        "requests; and the privacy officer's decision on a correction request."
    ),
)
