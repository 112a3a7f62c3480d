"""Who may sign in, what they may ask for, and who is calling.

Customers sign in with the email on their profile; staff users are a separate population
with a role that caps the scopes their tokens may carry; service clients act for
themselves through client credentials. Every request to the data API is made by exactly
one `Caller`, resolved once from the access token and handed to use cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.audit.events import Actor, ActorType
from domain.errors import DomainError
from domain.values import Email

CUSTOMER_SCOPES: frozenset[str] = frozenset(
    {
        "profile:read",
        "profile:write",
        "accounts:read",
        "transactions:read",
        "interactions:read",
        "consents:read",
        "consents:write",
        "corrections:write",
        "access-log:read",
        "dsr:write",
        "openid",
        "dsr:erase",
    }
)
"""Scopes a customer may grant to an app, about their own data only (`openid`: OpenID
Connect sign-in, an ID token naming the customer by id only)."""

ERASE_SCOPE = "dsr:erase"
"""Erasing the customer's data: irreversible, so asked for separately, never by default."""

DEFAULT_CUSTOMER_SCOPES: frozenset[str] = CUSTOMER_SCOPES - {ERASE_SCOPE}
"""What an app asks a customer for when it asks for "everything"."""

STAFF_SCOPES: frozenset[str] = frozenset(
    {"audit:read", "dsr:admin", "support:read", "analytics:read"}
)
"""Scopes for staff users (each role caps which)."""

PERSONAL_STAFF_SCOPES: frozenset[str] = frozenset({"audit:read", "dsr:admin", "support:read"})
"""Staff powers over individual customers: only ever issued to a signed-in member of staff
(authorization code), so every use of them names the person who used it."""

SERVICE_SCOPES: frozenset[str] = frozenset({"analytics:read", "campaigns:write"})
"""The only scopes a service client (client credentials, no person behind it) may hold."""

ALL_SCOPES: frozenset[str] = CUSTOMER_SCOPES | STAFF_SCOPES | SERVICE_SCOPES

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "profile:read": "See your name, contact details and the history of changes to them",
    "profile:write": "Change your name and contact details",
    "accounts:read": "See your accounts and their balances",
    "transactions:read": "See the transactions on your accounts",
    "interactions:read": "See your calls, messages and other contacts with us",
    "consents:read": "See which uses of your data you have agreed to",
    "consents:write": "Give or withdraw your agreement to uses of your data",
    "corrections:write": "Ask us to correct data you cannot change yourself",
    "access-log:read": "See who accessed your data and why",
    "dsr:write": "Ask for a copy of your data or a restriction of its use",
    "openid": "Confirm to the app that it is you who signed in",
    "dsr:erase": (
        "Erase your data for good: your profile, contacts and history are destroyed "
        "and cannot be recovered"
    ),
    "audit:read": "Read the audit log of every access to customer data",
    "dsr:admin": "Handle customers' data requests and correction requests",
    "support:read": "Look up a customer's data for a support ticket",
    "analytics:read": "Read consent-filtered, pseudonymous analytics",
    "campaigns:write": "Ask whether customers may be contacted for a campaign; record contacts",
}
"""Each scope in plain words, as the consent screen shows it."""


class StaffRole(StrEnum):
    """What a staff member does; the role caps the scopes their tokens may carry."""

    PRIVACY_OFFICER = "privacy_officer"
    SUPPORT_AGENT = "support_agent"
    ANALYST = "analyst"
    ADMIN = "admin"


ROLE_SCOPE_CAPS: dict[StaffRole, frozenset[str]] = {
    StaffRole.PRIVACY_OFFICER: frozenset({"audit:read", "dsr:admin"}),
    StaffRole.SUPPORT_AGENT: frozenset({"support:read"}),
    StaffRole.ANALYST: frozenset({"analytics:read"}),
    StaffRole.ADMIN: STAFF_SCOPES,
}
"""The most a token of each staff role may carry."""


class SubjectKind(StrEnum):
    """On whose behalf a grant acts."""

    CUSTOMER = "customer"
    STAFF = "staff"
    SERVICE = "service"


def parse_scopes(text: str | None) -> frozenset[str]:
    """The set of scopes in a space-separated scope string (empty for None)."""
    return frozenset(text.split()) if text else frozenset()


def format_scopes(scopes: frozenset[str] | set[str]) -> str:
    """A canonical space-separated scope string: sorted, so equal sets print equally."""
    return " ".join(sorted(scopes))


@dataclass(frozen=True, slots=True)
class Principal:
    """A person who has proved who they are: a customer or a staff user."""

    kind: SubjectKind
    id: UUID
    role: StaffRole | None = None

    def __post_init__(self) -> None:
        if self.kind is SubjectKind.SERVICE:
            raise ValueError("a principal is a person; services are callers, not principals")
        if (self.kind is SubjectKind.STAFF) != (self.role is not None):
            raise ValueError("staff principals have a role; customers have none")

    @property
    def scope_cap(self) -> frozenset[str]:
        """Every scope this person may grant to an app."""
        if self.role is not None:
            return ROLE_SCOPE_CAPS[self.role]
        return CUSTOMER_SCOPES

    def beyond_cap(self, requested: frozenset[str]) -> frozenset[str]:
        """The requested scopes this person may not grant (empty when all are allowed)."""
        return requested - self.scope_cap


@dataclass(frozen=True, slots=True)
class Caller:
    """Whoever is calling the data API, resolved from a valid access token.

    `subject_id` is the customer's or staff user's id; for a service it is None and the
    client id is the identity. Use cases receive this, never a raw token.
    """

    kind: SubjectKind
    client_id: str
    scopes: frozenset[str]
    subject_id: UUID | None = None
    role: StaffRole | None = None
    grant_id: UUID | None = field(default=None, compare=False)
    # When the person behind the token signed in (None for services and older tokens).
    auth_time: datetime | None = field(default=None, compare=False)

    def has_scope(self, scope: str) -> bool:
        """Whether the token carries `scope`."""
        return scope in self.scopes

    @property
    def customer_id(self) -> UUID:
        """The customer this caller is; raises NotACustomer for staff and services."""
        if self.kind is not SubjectKind.CUSTOMER or self.subject_id is None:
            raise NotACustomer("this caller is not a customer")
        return self.subject_id

    def as_actor(self) -> Actor:
        """The caller as the audit log names actors: ids and role, never personal data."""
        if self.kind is SubjectKind.CUSTOMER:
            return Actor(ActorType.CUSTOMER, str(self.subject_id), self.client_id)
        if self.kind is SubjectKind.STAFF:
            role = self.role.value if self.role else None
            return Actor(ActorType.STAFF, str(self.subject_id), self.client_id, role)
        return Actor(ActorType.SERVICE, self.client_id, self.client_id)


def principal_actor(principal: Principal, client_id: str | None = None) -> Actor:
    """The audit actor for a person acting through `client_id`."""
    if principal.kind is SubjectKind.STAFF:
        role = principal.role.value if principal.role else None
        return Actor(ActorType.STAFF, str(principal.id), client_id, role)
    return Actor(ActorType.CUSTOMER, str(principal.id), client_id)


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A registered client. Public clients have no secret; every client uses PKCE.

    An app (public or confidential) acts for the person who signs in through it; a service
    client (`service`, always confidential) acts for itself through client credentials and
    may hold service scopes only.
    """

    client_id: str
    name: str
    public: bool
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    created_at: datetime
    secret_hash: str | None = field(default=None, repr=False)
    # A disabled client is unknown to the authorization server: no sign-in, no token, no
    # refresh, no CORS; its access tokens run out within their lifetime.
    disabled: bool = False
    service: bool = False

    def __post_init__(self) -> None:
        if self.public and self.secret_hash is not None:
            raise ValueError("a public client has no secret")
        if not self.public and self.secret_hash is None:
            raise ValueError("a confidential client needs a secret")
        if self.service and self.public:
            raise ValueError("a service client is confidential")
        unknown = self.scopes - ALL_SCOPES
        if unknown:
            raise InvalidScopes(unknown)
        if self.service and not self.scopes <= SERVICE_SCOPES:
            # A token without a person behind it must never carry a power over customers.
            raise InvalidScopes(self.scopes - SERVICE_SCOPES)

    @property
    def grant_types(self) -> frozenset[str]:
        """Apps act for the people who sign in through them; service clients for themselves."""
        if self.service:
            return frozenset({"client_credentials"})
        return frozenset({"authorization_code", "refresh_token"})

    def allows_redirect_uri(self, uri: str) -> bool:
        """Exact string match (RFC 9700 4.1.3): no prefix, no normalisation."""
        return uri in self.redirect_uris


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A member of staff who signs in through the same authorize flow as customers."""

    id: UUID
    email: Email
    role: StaffRole
    created_at: datetime
    password_hash: str = field(repr=False)
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class LoginAccount:
    """What the login use case needs about an account found by email."""

    principal: Principal
    password_hash: str = field(repr=False)
    active: bool = True


class InvalidScopes(DomainError):
    """Scopes were asked for that do not exist or that the asker may not have."""

    def __init__(self, scopes: frozenset[str] | set[str]) -> None:
        super().__init__("scope not allowed: " + format_scopes(frozenset(scopes)))
        self.scopes = frozenset(scopes)


class NotACustomer(DomainError):
    """A customer-only operation was attempted by staff or a service."""


class InvalidCredentials(DomainError):
    """The email and password do not match an account (which of the two is never said)."""


class LoginThrottled(DomainError):
    """Too many failed sign-ins for this account or address; try again after `retry_after`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; retry after {retry_after} s")
        self.retry_after = retry_after


class HashingBusy(DomainError):
    """Every password-hashing slot is taken; the sign-in was refused at once, not queued."""
