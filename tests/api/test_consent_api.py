"""The consent ledger through HTTP with real tokens: grant, withdraw, history, signed
receipts verified with the key published in JWKS, and the rules around notice versions."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from oauth_harness import World

SCOPES = "consents:read consents:write"


async def _token(world: World, email: str) -> dict[str, str]:
    await world.add_customer(email)
    tokens = await world.tokens_for(email, scope=SCOPES)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _put(
    world: World, auth: dict[str, str], purpose: str, granted: bool, version: str = "1"
) -> httpx.Response:
    return await world.http.put(
        f"/v1/me/consents/{purpose}",
        headers=auth,
        json={"granted": granted, "notice_version": version},
    )


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify(receipt: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Verify a compact EdDSA JWS with the JWKS key its header names (independently of the
    server's code); raises InvalidSignature when it does not verify."""
    header_b64, claims_b64, signature_b64 = receipt.split(".")
    header = json.loads(_unb64(header_b64))
    assert header["alg"] == "EdDSA"
    [jwk] = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    Ed25519PublicKey.from_public_bytes(_unb64(jwk["x"])).verify(
        _unb64(signature_b64), f"{header_b64}.{claims_b64}".encode()
    )
    claims: dict[str, Any] = json.loads(_unb64(claims_b64))
    return claims


async def test_every_purpose_listed_opt_in_except_the_contract(world: World) -> None:
    auth = await _token(world, "ada@example.com")
    response = await world.http.get("/v1/me/consents", headers=auth)
    assert response.status_code == 200, response.text
    items = {item["purpose"]: item for item in response.json()["items"]}
    assert list(items) == [
        "service_delivery",
        "marketing_email",
        "marketing_sms",
        "personalised_offers",
        "analytics",
        "third_party_sharing",
        "research",
    ]
    assert items["service_delivery"]["granted"] is True
    assert items["service_delivery"]["withdrawable"] is False
    assert items["service_delivery"]["legal_basis"] == "contract"
    for name in list(items)[1:]:
        assert items[name]["granted"] is False
        assert items[name]["consented_notice_version"] is None
        assert items[name]["outdated_notice"] is False
        assert items[name]["notice_version"] == "1"
        assert items[name]["description"]
        assert items[name]["data_categories"]
        assert items[name]["retention"]
        assert isinstance(items[name]["recipients"], list)


async def test_grant_withdraw_regrant_with_complete_ordered_history(world: World) -> None:
    auth = await _token(world, "ada@example.com")
    decisions = [True, False, True]
    receipts = []
    for granted in decisions:
        response = await _put(world, auth, "marketing_email", granted)
        assert response.status_code == 200, response.text
        assert response.json()["granted"] is granted
        receipts.append(response.json()["receipt_id"])
    state = await world.http.get("/v1/me/consents", headers=auth)
    email = next(i for i in state.json()["items"] if i["purpose"] == "marketing_email")
    assert email["granted"] is True
    assert email["receipt_id"] == receipts[-1]
    history = (await world.http.get("/v1/me/consents/history", headers=auth)).json()["items"]
    assert [h["receipt_id"] for h in history] == receipts
    assert [h["granted"] for h in history] == decisions
    assert [h["position"] for h in history] == [1, 2, 3]
    # Who decided: the kind of actor and the app, nothing more.
    ada = {"type": "customer", "id": None, "role": None, "client": "demo-app"}
    assert [h["actor"] for h in history] == [ada, ada, ada]


async def test_receipt_verifies_with_published_key_and_fails_on_one_changed_byte(
    world: World,
) -> None:
    customer = await world.add_customer("ada@example.com")
    tokens = await world.tokens_for("ada@example.com", scope=SCOPES)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    body = (await _put(world, auth, "analytics", True)).json()
    jwks = (await world.http.get("/.well-known/jwks.json")).json()
    claims = _verify(body["signed_receipt"], jwks)
    assert claims["consentReceiptID"] == body["receipt_id"]
    assert claims["version"] == "KI-CR-v1.1.0"
    [purpose] = claims["services"][0]["purposes"]
    assert (purpose["purpose"], purpose["noticeVersion"], purpose["granted"]) == (
        "analytics",
        "1",
        True,
    )
    # The principal is pseudonymous: not the customer id in any form.
    assert str(customer) not in json.dumps(claims)
    assert customer.hex not in json.dumps(claims)
    header, payload, signature = body["signed_receipt"].split(".")
    tampered_claims = dict(claims, services=[{"purposes": [dict(purpose, granted=False)]}])
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(tampered_claims).encode()).rstrip(b"=").decode()
    )
    with pytest.raises(InvalidSignature):
        _verify(f"{header}.{forged_payload}.{signature}", jwks)
    raw = bytearray(_unb64(signature))
    raw[0] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidSignature):
        _verify(f"{header}.{payload}.{flipped}", jwks)


async def test_repeating_the_current_state_records_nothing(world: World) -> None:
    auth = await _token(world, "ada@example.com")
    first = await _put(world, auth, "research", True)
    again = await _put(world, auth, "research", True)
    assert again.status_code == 200
    assert again.json() == first.json()
    history = (await world.http.get("/v1/me/consents/history", headers=auth)).json()["items"]
    assert len(history) == 1


async def test_outdated_notice_is_409_naming_the_current_version(world: World) -> None:
    auth = await _token(world, "ada@example.com")
    response = await _put(world, auth, "marketing_sms", True, version="0")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:custodian:problem:outdated-notice"
    assert "'1'" in problem["detail"]
    history = (await world.http.get("/v1/me/consents/history", headers=auth)).json()["items"]
    assert history == []


async def test_service_delivery_cannot_be_withdrawn(world: World) -> None:
    auth = await _token(world, "ada@example.com")
    response = await _put(world, auth, "service_delivery", False)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:custodian:problem:not-withdrawable"
    assert "contract" in response.json()["detail"]


async def test_unknown_purpose_is_404(world: World) -> None:
    auth = await _token(world, "ada@example.com")
    response = await _put(world, auth, "telepathy", True)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_staff_and_customers_without_scope_are_refused(world: World) -> None:
    await world.add_customer("ada@example.com")
    tokens = await world.tokens_for("ada@example.com", scope="consents:read")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await _put(world, auth, "research", True)).status_code == 403


async def test_concurrent_changes_all_land_in_the_ledger(world: World) -> None:
    auth = await _token(world, "ada@example.com")
    decisions = [index % 2 == 0 for index in range(12)]
    responses = await asyncio.gather(
        *(_put(world, auth, "personalised_offers", granted) for granted in decisions)
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    history = (await world.http.get("/v1/me/consents/history", headers=auth)).json()["items"]
    ledger = {h["receipt_id"] for h in history}
    # Every acknowledged receipt is in the ledger, in an unbroken order of positions.
    assert {r.json()["receipt_id"] for r in responses} <= ledger
    assert [h["position"] for h in history] == list(range(1, len(history) + 1))
    # Each entry changes the state (a repeat records nothing), and the last one is current.
    assert all(a["granted"] != b["granted"] for a, b in itertools.pairwise(history))
    state = await world.http.get("/v1/me/consents", headers=auth)
    current = next(i for i in state.json()["items"] if i["purpose"] == "personalised_offers")
    assert current["granted"] is history[-1]["granted"]
    assert current["receipt_id"] == history[-1]["receipt_id"]
