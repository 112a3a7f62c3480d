"""Two seeded customers (A and B) with accounts, transactions and interactions, real tokens
for each, and a privacy officer's token: the world the self-service tests run in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from oauth_harness import CONSOLE_REDIRECT, ERASE, World
from sqlalchemy import select

from domain.customer.accounts import (
    Account,
    AccountStatus,
    AccountType,
    Transaction,
    TransactionDirection,
    TransactionStatus,
)
from domain.customer.interactions import Channel, Interaction, InteractionDirection, InteractionKind
from domain.identity import StaffRole
from persistence.audit.tables import AuditEventRow
from persistence.audit.tree import sign_tree_head
from persistence.database import session_factory
from persistence.oauth.identity import StaffUserRow
from persistence.signatures import checkpoint_signer
from persistence.uow import SqlUnitOfWork

BASE = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Person:
    """A seeded customer: ids of what they own and a token with every customer scope."""

    id: uuid.UUID
    token: str
    account_id: uuid.UUID
    transaction_ids: list[uuid.UUID] = field(default_factory=list)
    interaction_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


def transactions_for(
    customer_id: uuid.UUID, account_id: uuid.UUID, count: int, start: datetime = BASE
) -> list[Transaction]:
    """`count` transactions an hour apart (some sharing a time, to exercise the id tie-break)."""
    return [
        Transaction(
            id=uuid.uuid4(),
            customer_id=customer_id,
            account_id=account_id,
            booked_at=start + timedelta(hours=i // 2),
            value_date=date(2025, 6, 1),
            amount=Decimal("12.50"),
            currency="EUR",
            direction=TransactionDirection.DEBIT if i % 3 else TransactionDirection.CREDIT,
            status=TransactionStatus.BOOKED if i % 4 else TransactionStatus.PENDING,
            description=f"Purchase {i}",
            category="groceries",
            merchant="Shop",
            reference=None,
        )
        for i in range(count)
    ]


async def seed_person(world: World, email: str, *, transactions: int = 5) -> Person:
    """A customer with one account, `transactions` transactions and two interactions."""
    customer_id = await world.add_customer(email)
    account = Account(
        id=uuid.uuid4(),
        customer_id=customer_id,
        type=AccountType.CURRENT,
        name="Everyday",
        number_last4="4321",
        currency="EUR",
        status=AccountStatus.OPEN,
        opened_at=BASE - timedelta(days=400),
        balance=Decimal("1034.20"),
    )
    moves = transactions_for(customer_id, account.id, transactions)
    contacts = [
        Interaction(
            id=uuid.uuid4(),
            customer_id=customer_id,
            occurred_at=BASE + timedelta(days=i),
            channel=Channel.CHAT,
            direction=InteractionDirection.INBOUND,
            kind=InteractionKind.SUPPORT,
            summary=f"Asked about card {i}",
            outcome="resolved",
            satisfaction=4,
        )
        for i in range(2)
    ]
    async with SqlUnitOfWork(session_factory(world.engine), world.master_key) as uow:
        await uow.accounts.add(account)
        await uow.transactions.add_many(moves)
        await uow.interactions.add_many(contacts)
        await uow.commit()
    tokens = await world.tokens_for(email)
    return Person(
        customer_id,
        tokens["access_token"],
        account.id,
        [t.id for t in moves],
        [c.id for c in contacts],
    )


async def officer_token(world: World, email: str = "officer@example.org") -> str:
    """A privacy officer's access token with dsr:admin and audit:read."""
    await world.add_staff(email, StaffRole.PRIVACY_OFFICER)
    tokens = await world.tokens_for(
        email,
        client_id="privacy-console",
        scope="audit:read dsr:admin",
        redirect_uri=CONSOLE_REDIRECT,
    )
    token: str = tokens["access_token"]
    return token


async def audit_events(world: World, after_seq: int = 0) -> list[AuditEventRow]:
    """The audit events appended after `after_seq`, in order."""
    async with session_factory(world.engine)() as session:
        rows = (
            await session.scalars(
                select(AuditEventRow)
                .where(AuditEventRow.seq > after_seq)
                .order_by(AuditEventRow.seq)
            )
        ).all()
        return list(rows)


async def last_seq(world: World) -> int:
    """The sequence number of the latest audit event (0 when none)."""
    events = await audit_events(world)
    return events[-1].seq if events else 0


def body(response: httpx.Response) -> Any:
    """The JSON body, asserting the request succeeded."""
    assert response.status_code < 300, response.text
    return response.json()


def v1_operations(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path template, handler) of every /v1 route of `app`, from its router."""
    found = []
    for route in app.routes:
        if not route.path.startswith("/v1"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                found.append((method, route.path, handler))
    return found


def app_of(world: World) -> Any:
    """The application behind the world's in-process client."""
    return world.http._transport.app  # type: ignore[attr-defined]


def url_for(path: str, ids: dict[str, str]) -> str:
    """`path` with each `{name}` replaced by ids[name]."""
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


async def successful_call(
    world: World, person: Person, method: str, path: str, ids: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    """The URL and request arguments for one successful call of the /v1/me route."""
    kwargs: dict[str, Any] = {"headers": dict(person.auth)}
    if (method, path) == ("PATCH", "/v1/me/profile"):
        etag = (await world.http.get("/v1/me/profile", headers=person.auth)).headers["ETag"]
        kwargs["headers"].update({"If-Match": etag, "Content-Type": "application/merge-patch+json"})
        kwargs["json"] = {"preferred_name": f"Ada {uuid.uuid4().hex[:6]}"}
    elif (method, path) == ("POST", "/v1/me/corrections"):
        kwargs["json"] = {
            "target": {"type": "interaction", "id": ids["interaction_id"], "field": "outcome"},
            "requested_value": "refunded",
            "reason": "It was refunded",
        }
    elif (method, path) == ("PUT", "/v1/me/contact-preferences"):
        read = await world.http.get("/v1/me/contact-preferences", headers=person.auth)
        kwargs["headers"]["If-Match"] = read.headers["ETag"]
        kwargs["json"] = {"channels": ["email"], "weekly_limit": 1}
    elif (method, path) == ("POST", "/v1/me/erasure"):
        kwargs["json"] = ERASE
    elif (method, path) == ("PUT", "/v1/me/restriction"):
        kwargs["json"] = {"restricted": False}
    elif (method, path) == ("PUT", "/v1/me/consents/{purpose}"):
        consents = body(await world.http.get("/v1/me/consents", headers=person.auth))
        current = next(item for item in consents["items"] if item["purpose"] == ids["purpose"])
        kwargs["json"] = {
            "granted": not current["granted"],
            "notice_version": current["notice_version"],
        }
    return url_for(path, ids), kwargs


async def resource_ids(world: World, person: Person) -> dict[str, str]:
    """Ids of the person's resources for path templates (and a correction request)."""
    ask = {
        "target": {
            "type": "transaction",
            "id": str(person.transaction_ids[0]),
            "field": "description",
        },
        "requested_value": "Rent",
        "reason": "typo",
    }
    created = body(await world.http.post("/v1/me/corrections", json=ask, headers=person.auth))
    # A ready export (the worker run in-line) and a queued erasure (left queued: no worker
    # runs afterwards, so the person stays usable for every other route).
    export = body(await world.http.post("/v1/me/exports", headers=person.auth))
    await world.run_jobs()
    erasure = body(await world.http.post("/v1/me/erasure", json=ERASE, headers=person.auth))
    # An access-log entry of the person's, covered by a signed tree head (for its proof).
    async with session_factory(world.engine)() as session:
        event_id = await session.scalar(
            select(AuditEventRow.id)
            .where(AuditEventRow.subject_id == person.id)
            .order_by(AuditEventRow.seq.desc())
            .limit(1)
        )
        await sign_tree_head(session, checkpoint_signer(world.master_key), world.clock.now())
        await session.commit()
    return {
        "account_id": str(person.account_id),
        "export_id": export["id"],
        "erasure_id": erasure["id"],
        "transaction_id": str(person.transaction_ids[0]),
        "interaction_id": str(person.interaction_ids[0]),
        "correction_id": created["id"],
        "purpose": "marketing_email",
        "event_id": str(event_id),
    }


async def break_glass(
    world: World, customer_id: uuid.UUID, ticket: str, hours: int = 1
) -> dict[str, Any]:
    """An officer's access grant for the (only) support agent to read a held customer."""
    async with session_factory(world.engine)() as session:
        agent_id = (
            await session.scalars(
                select(StaffUserRow.id).where(StaffUserRow.role == StaffRole.SUPPORT_AGENT.value)
            )
        ).one()
    glass = f"glass-{uuid.uuid4().hex[:8]}@example.org"
    officer = {"Authorization": f"Bearer {await officer_token(world, glass)}"}
    created = await world.http.post(
        "/v1/privacy/access-grants",
        json={
            "customer_id": str(customer_id),
            "staff_id": str(agent_id),
            "ticket": ticket,
            "hours": hours,
        },
        headers=officer,
    )
    grant: dict[str, Any] = body(created)
    return grant
