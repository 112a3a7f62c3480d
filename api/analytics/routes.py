"""What the application factory registers for analytics (one line in api/app.py)."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.analytics.controllers import TAG, AnalyticsController

HANDLERS: list[ControllerRouterHandler] = [AnalyticsController]
TAGS = [
    Tag(
        name=TAG,
        description=(
            "Customer intelligence from a consent-filtered, pseudonymous projection: "
            "aggregates only, cells of fewer than the minimum cohort suppressed (with "
            "complementary suppression), every query audited."
        ),
    )
]
