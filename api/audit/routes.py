"""The audit routes and their OpenAPI tags, as the application factory registers them."""

from __future__ import annotations

from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from api.audit.controllers import (
    ACCESS_LOG_TAG,
    AUDIT_TAG,
    export_events,
    get_access_log,
    get_verification,
    list_audit_events,
)
from api.audit.tree_controllers import TREE_HANDLERS

HANDLERS: list[ControllerRouterHandler] = [
    get_access_log,
    list_audit_events,
    export_events,
    get_verification,
    *TREE_HANDLERS,
]
TAGS = [
    Tag(name=ACCESS_LOG_TAG, description="Who accessed my data, when, what and why."),
    Tag(name=AUDIT_TAG, description="The privacy officer's verifiable audit log."),
]
