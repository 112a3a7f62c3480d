"""Pure rules of sign-in and scopes: throttle windows, role caps, PKCE, consent tickets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.oauth.flow_client import s256
from api.oauth.tickets import csrf_field, csrf_ok, issue_ticket, read_ticket
from domain.identity import (
    ALL_SCOPES,
    CUSTOMER_SCOPES,
    SCOPE_DESCRIPTIONS,
    SERVICE_SCOPES,
    STAFF_SCOPES,
    Principal,
    StaffRole,
    SubjectKind,
)
from domain.oauth.login import ACCOUNT, ThrottlePolicy
from domain.oauth.ports import ThrottleState

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_throttle_blocks_at_the_budget_and_reopens_after_the_window() -> None:
    policy = ThrottlePolicy(per_account=3, window=timedelta(minutes=10))
    state = None
    for _ in range(3):
        assert policy.retry_after(ACCOUNT, state, NOW) == 0
        state = policy.after_failure(state, NOW)
    assert policy.retry_after(ACCOUNT, state, NOW) == 600
    assert policy.retry_after(ACCOUNT, state, NOW + timedelta(minutes=10)) == 0
    restarted = policy.after_failure(state, NOW + timedelta(minutes=10))
    assert restarted == ThrottleState(1, NOW + timedelta(minutes=10))


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (StaffRole.PRIVACY_OFFICER, {"audit:read", "dsr:admin"}),
        (StaffRole.SUPPORT_AGENT, {"support:read"}),
        (StaffRole.ANALYST, {"analytics:read"}),
        (StaffRole.ADMIN, set(STAFF_SCOPES)),
    ],
)
def test_roles_cap_scopes(role: StaffRole, allowed: set[str]) -> None:
    staff = Principal(SubjectKind.STAFF, uuid.uuid4(), role)
    assert staff.scope_cap == allowed
    assert staff.beyond_cap(frozenset({"profile:read"})) == {"profile:read"}


def test_customers_get_only_customer_scopes() -> None:
    customer = Principal(SubjectKind.CUSTOMER, uuid.uuid4())
    assert customer.beyond_cap(frozenset(CUSTOMER_SCOPES)) == frozenset()
    assert customer.beyond_cap(frozenset({"audit:read", "profile:read"})) == {"audit:read"}


def test_every_scope_has_plain_words() -> None:
    assert set(SCOPE_DESCRIPTIONS) == ALL_SCOPES == CUSTOMER_SCOPES | STAFF_SCOPES | SERVICE_SCOPES


def test_s256_matches_rfc_7636_appendix_b() -> None:
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_csrf_field_is_bound_to_its_cookie() -> None:
    key = b"k" * 32
    assert csrf_ok(key, "cookie-a", csrf_field(key, "cookie-a"))
    assert not csrf_ok(key, "cookie-b", csrf_field(key, "cookie-a"))
    assert not csrf_ok(key, None, csrf_field(key, "cookie-a"))
    assert not csrf_ok(b"x" * 32, "cookie-a", csrf_field(key, "cookie-a"))


def test_consent_ticket_binds_person_parameters_browser_and_time() -> None:
    key = b"k" * 32
    person = Principal(SubjectKind.CUSTOMER, uuid.uuid4())
    ticket = issue_ticket(key, person, "params", "cookie", 1000)
    assert read_ticket(key, ticket, "params", "cookie", 1001) == person
    assert read_ticket(key, ticket, "other-params", "cookie", 1001) is None
    assert read_ticket(key, ticket, "params", "other-cookie", 1001) is None
    assert read_ticket(key, ticket, "params", "cookie", 1000 + 301) is None
    assert read_ticket(b"x" * 32, ticket, "params", "cookie", 1001) is None
    body, mac = ticket.rsplit(".", 1)
    assert read_ticket(key, body + "x." + mac, "params", "cookie", 1001) is None
