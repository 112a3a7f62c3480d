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
from domain.oauth.ports import ThrottleState
from domain.oauth.throttle import ACCOUNT, ADDRESS, PAIR, ThrottlePolicy

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_a_pair_waits_progressively_longer_up_to_the_ceiling() -> None:
    policy = ThrottlePolicy(
        pair_free=3, pair_base_delay=timedelta(seconds=2), pair_max_delay=timedelta(minutes=15)
    )
    delays = [policy.pair_delay(n).total_seconds() for n in range(1, 15)]
    assert delays[:2] == [0, 0]
    assert delays[2:8] == [2, 4, 8, 16, 32, 64]
    assert max(delays) == 900
    state = ThrottleState(5, NOW - timedelta(seconds=30), NOW)
    assert policy.retry_after(PAIR, state, NOW) == 8
    assert policy.retry_after(PAIR, state, NOW + timedelta(seconds=8)) == 0
    # A day without failures and the pair starts afresh.
    assert policy.retry_after(PAIR, ThrottleState(40, NOW, NOW), NOW + timedelta(days=1)) == 0


def test_an_account_is_slowed_down_never_refused() -> None:
    policy = ThrottlePolicy(
        account_free=10,
        account_step=timedelta(milliseconds=100),
        account_max_pause=timedelta(seconds=2),
    )
    many = ThrottleState(10_000, NOW, NOW)
    assert policy.retry_after(ACCOUNT, many, NOW) == 0
    assert policy.account_pause(ThrottleState(9, NOW, NOW), NOW) == 0
    assert policy.account_pause(ThrottleState(10, NOW, NOW), NOW) == pytest.approx(0.1)
    assert policy.account_pause(ThrottleState(14, NOW, NOW), NOW) == pytest.approx(0.5)
    assert policy.account_pause(many, NOW) == 2.0


def test_an_address_over_its_budget_waits_for_the_window() -> None:
    policy = ThrottlePolicy(per_address=6, address_window=timedelta(minutes=15))
    assert policy.retry_after(ADDRESS, ThrottleState(5, NOW, NOW), NOW) == 0
    assert policy.retry_after(ADDRESS, ThrottleState(6, NOW, NOW), NOW) == 900
    later = NOW + timedelta(minutes=15)
    assert policy.retry_after(ADDRESS, ThrottleState(6, NOW, NOW), later) == 0


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
