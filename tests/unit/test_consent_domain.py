"""Consent, access-log and support rules that need no database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.audit.events import Actor, ActorType
from domain.consent.ledger import ConsentEvent, ConsentState, receipt_claims
from domain.consent.purposes import PurposeNotice
from domain.errors import InvalidValue
from domain.pagination import CursorCodec, InvalidCursor, Position
from domain.support.access import SupportPurpose, SupportRequest, split_purpose

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def notice(
    purpose: str = "analytics",
    version: str = "2",
    basis: str = "consent",
) -> PurposeNotice:
    return PurposeNotice(
        purpose,
        version,
        basis,
        "words",
        ("financial",),
        ("us",),
        "until withdrawn",
        basis == "consent",
        AT,
    )


def event(granted: bool, version: str) -> ConsentEvent:
    return ConsentEvent(
        uuid4(),
        uuid4(),
        "analytics",
        granted,
        version,
        AT,
        1,
        Actor(ActorType.CUSTOMER, "c"),
        "api",
        "jws",
    )


def test_no_decision_means_not_granted_but_the_contract_always_applies() -> None:
    assert ConsentState(notice(), None).granted is False
    assert ConsentState(notice(basis="contract"), None).granted is True


def test_a_decision_under_an_older_notice_is_reported_as_such() -> None:
    assert ConsentState(notice(version="2"), event(True, "1")).outdated is True
    assert ConsentState(notice(version="2"), event(True, "2")).outdated is False
    assert ConsentState(notice(version="2"), event(True, "1")).granted is True


def test_receipt_names_purpose_notice_and_decision_but_only_a_pseudonym() -> None:
    receipt_id = uuid4()
    claims = receipt_claims(
        receipt_id=receipt_id,
        at=AT,
        principal="p-123",
        notice=notice(),
        granted=False,
        collection_method="api",
        kid="k1",
    )
    assert claims["consentReceiptID"] == str(receipt_id)
    assert claims["piiPrincipalId"] == "p-123"
    assert claims["consentTimestamp"] == int(AT.timestamp())
    [purpose] = claims["services"][0]["purposes"]
    assert (purpose["purpose"], purpose["noticeVersion"], purpose["granted"]) == (
        "analytics",
        "2",
        False,
    )


def test_sequence_cursors_round_trip_and_garbage_is_refused() -> None:
    codec = CursorCodec(bytes(range(32)))
    assert codec.decode_seq("access-log:a", codec.encode_seq("access-log:a", 42)) == 42
    forged = [
        "",
        "!!!",
        codec.encode_seq("access-log:a", 42)[:-2] + "xx",
        "c2VxOi0x",
        codec.encode_seq("access-log:b", 42),  # another list's cursor
        codec.encode_seq("access-log:a", 2**63),  # past the largest sequence number
        codec.encode_seq("access-log:a", 0),
        codec.encode("access-log:a", Position(datetime.now(UTC), uuid4())),
    ]
    for bad in forged:
        with pytest.raises(InvalidCursor):
            codec.decode_seq("access-log:a", bad)


def test_position_cursors_are_the_signed_json_of_their_key_and_round_trip() -> None:
    """A cursor is its tag and the compact JSON of its key: the form every issued cursor
    has, so a client's cursor stays valid from one release to the next."""
    key = bytes(range(32))
    codec = CursorCodec(key)
    for at in (AT, AT.replace(microsecond=5), AT.astimezone(timezone(timedelta(hours=-5)))):
        position = Position(at, uuid4())
        payload = json.dumps([at.isoformat(), str(position.id)], separators=(",", ":")).encode()
        tag = hmac.new(key, b"transactions:a\x00" + payload, hashlib.sha256).digest()[:16]
        expected = base64.urlsafe_b64encode(tag + payload).rstrip(b"=").decode()
        assert codec.encode("transactions:a", position) == expected
        assert codec.decode("transactions:a", expected) == position
        with pytest.raises(InvalidCursor):
            codec.decode("transactions:b", expected)  # another list's


def test_ticket_is_recorded_with_the_purpose_and_read_back() -> None:
    request = SupportRequest(
        Actor(ActorType.STAFF, "s"), uuid4(), SupportPurpose.FRAUD_INVESTIGATION, "FR-1"
    )
    assert split_purpose(request.audit_purpose) == ("fraud_investigation", "FR-1")
    assert split_purpose("analytics") == ("analytics", None)
    with pytest.raises(InvalidValue):
        SupportRequest(
            Actor(ActorType.STAFF, "s"), uuid4(), SupportPurpose.LEGAL_CLAIM, "two words"
        )
