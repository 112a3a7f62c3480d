"""The consent routes and their OpenAPI tag, as the application factory registers them."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.consent.contactability import get_contactability
from api.consent.controllers import CONSENT_TAG, ConsentController

HANDLERS: list[ControllerRouterHandler] = [ConsentController, get_contactability]
TAGS = [Tag(name=CONSENT_TAG, description="Consent per purpose, with signed receipts.")]
