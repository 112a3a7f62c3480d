"""What the application factory registers for issue 5: consents, the access log and the
officer's audit API (one list of handlers, one list of OpenAPI tags)."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.audit.controllers import ACCESS_LOG_TAG, AUDIT_TAG, PRIVACY_AUDIT_HANDLERS
from api.audit.tree_controllers import TREE_HANDLERS
from api.consent.contactability import get_contactability
from api.consent.controllers import CONSENT_TAG, ConsentController
from api.support.controllers import SUPPORT_TAG, SupportController

PRIVACY_HANDLERS: list[ControllerRouterHandler] = [
    ConsentController,
    *PRIVACY_AUDIT_HANDLERS,
    *TREE_HANDLERS,
    SupportController,
    get_contactability,
]

PRIVACY_TAGS = [
    Tag(name=CONSENT_TAG, description="Consent per purpose, with signed receipts."),
    Tag(name=ACCESS_LOG_TAG, description="Who accessed my data, when, what and why."),
    Tag(name=AUDIT_TAG, description="The privacy officer's verifiable audit log."),
    Tag(name=SUPPORT_TAG, description="Support staff's reads, each for a purpose and ticket."),
]
