"""The support routes and their OpenAPI tag, as the application factory registers them."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.support.controllers import SUPPORT_TAG, SupportController
from api.support.grants import AccessGrants

HANDLERS: list[ControllerRouterHandler] = [SupportController, AccessGrants]
TAGS = [Tag(name=SUPPORT_TAG, description="Support staff's reads, each for a purpose and ticket.")]
