"""Contacts between the customer and the organisation, on any channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    WEB = "web"
    APP = "app"
    BRANCH = "branch"
    MAIL = "mail"


class InteractionDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class InteractionKind(StrEnum):
    SUPPORT = "support"
    COMPLAINT = "complaint"
    SALES = "sales"
    MARKETING = "marketing"
    NOTIFICATION = "notification"
    SURVEY = "survey"


@dataclass(frozen=True, slots=True)
class Interaction:
    """One contact. `satisfaction` is the customer's 1-5 score, when they gave one."""

    id: UUID
    customer_id: UUID
    occurred_at: datetime
    channel: Channel
    direction: InteractionDirection
    kind: InteractionKind
    summary: str
    outcome: str | None = None
    satisfaction: int | None = None
    campaign: str | None = None

    def __post_init__(self) -> None:
        if self.satisfaction is not None and not 1 <= self.satisfaction <= 5:
            raise ValueError("satisfaction must be between 1 and 5")
