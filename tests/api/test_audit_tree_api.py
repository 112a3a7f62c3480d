"""The audit log's Merkle tree through HTTP with real tokens: a customer's inclusion proof
(checked with an independent RFC 9162 implementation and the JWKS key), the officer's tree
heads and consistency proofs, and problem+json for every bad request."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc9162_reference as rfc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from oauth_harness import CONSOLE_REDIRECT, World
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from domain.audit.merkle import verify_consistency
from domain.identity import StaffRole
from persistence.audit.tree import sign_tree_head
from persistence.crypto import MasterKey
from persistence.signatures import checkpoint_signer

HEADS = "/v1/privacy/audit/tree-heads"
CONSISTENCY = "/v1/privacy/audit/consistency"
PROBLEM = "application/problem+json"


async def _sign(engine: AsyncEngine, master_key: MasterKey) -> int:
    async with async_sessionmaker(engine)() as session:
        head = await sign_tree_head(session, checkpoint_signer(master_key), datetime.now(UTC))
        await session.commit()
    assert head is not None
    return head.tree_size


async def _customer(world: World, email: str) -> dict[str, str]:
    await world.add_customer(email)
    tokens = await world.tokens_for(email, scope="access-log:read consents:write")
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _officer(world: World) -> dict[str, str]:
    await world.add_staff("officer@example.com", StaffRole.PRIVACY_OFFICER)
    tokens = await world.tokens_for(
        "officer@example.com",
        client_id="privacy-console",
        scope="audit:read",
        redirect_uri=CONSOLE_REDIRECT,
    )
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def _signed_claims(world: World, jws: str) -> dict[str, Any]:
    """Verify the tree head's JWS with the JWKS key it names, without Custodian's code."""
    header_b64, claims_b64, signature_b64 = jws.split(".")
    header = json.loads(_unb64(header_b64))
    jwks = (await world.http.get("/.well-known/jwks.json")).json()
    [jwk] = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    Ed25519PublicKey.from_public_bytes(_unb64(jwk["x"])).verify(
        _unb64(signature_b64), f"{header_b64}.{claims_b64}".encode()
    )
    claims: dict[str, Any] = json.loads(_unb64(claims_b64))
    return claims


async def _entries(world: World, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await world.http.put(
        "/v1/me/consents/research", headers=auth, json={"granted": True, "notice_version": "1"}
    )
    assert response.status_code == 200, response.text
    log = await world.http.get("/v1/me/access-log", headers=auth)
    assert log.status_code == 200, log.text
    items: list[dict[str, Any]] = log.json()["items"]
    assert items
    return items


async def test_a_customer_proves_an_access_log_entry_is_in_the_signed_log(
    world: World, engine: AsyncEngine, master_key: MasterKey
) -> None:
    ada = await _customer(world, "ada@example.com")
    entry = (await _entries(world, ada))[0]
    await _sign(engine, master_key)
    response = await world.http.get(f"/v1/me/access-log/{entry['id']}/proof", headers=ada)
    assert response.status_code == 200, response.text
    proof = response.json()
    leaf = hashlib.sha256(b"\x00" + proof["leaf_data"].encode()).digest()
    assert leaf.hex() == proof["leaf_hash"]
    assert json.loads(proof["leaf_data"])["id"] == entry["id"]
    head = proof["tree_head"]
    root = rfc.root_from_path(
        proof["leaf_index"],
        head["tree_size"],
        leaf,
        [bytes.fromhex(node) for node in proof["audit_path"]],
    )
    assert root.hex() == head["root_hash"]
    claims = await _signed_claims(world, head["signature"])
    assert (claims["tree_size"], claims["root_hash"]) == (head["tree_size"], head["root_hash"])


async def test_someone_elses_or_an_unknown_entry_is_404_and_an_unsigned_one_409(
    world: World, engine: AsyncEngine, master_key: MasterKey
) -> None:
    ada = await _customer(world, "ada@example.com")
    bob = await _customer(world, "bob@example.com")
    entry = (await _entries(world, ada))[0]
    not_yet = await world.http.get(f"/v1/me/access-log/{entry['id']}/proof", headers=ada)
    assert not_yet.status_code == 409
    assert not_yet.headers["content-type"].startswith(PROBLEM)
    assert not_yet.headers["retry-after"] == "60"  # the next signed tree head
    await _sign(engine, master_key)
    for event_id, auth in ((entry["id"], bob), ("not-a-uuid", ada), (str(bytes(16).hex()), ada)):
        response = await world.http.get(f"/v1/me/access-log/{event_id}/proof", headers=auth)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith(PROBLEM)


async def test_the_officer_pages_tree_heads_and_checks_consistency(
    world: World, engine: AsyncEngine, master_key: MasterKey
) -> None:
    ada = await _customer(world, "ada@example.com")
    await _entries(world, ada)
    first = await _sign(engine, master_key)
    await _entries(world, ada)
    second = await _sign(engine, master_key)
    officer = await _officer(world)
    page = await world.http.get(HEADS, headers=officer, params={"limit": 1})
    assert page.status_code == 200, page.text
    assert [head["tree_size"] for head in page.json()["items"]] == [second]
    rest = await world.http.get(
        HEADS, headers=officer, params={"limit": 1, "cursor": page.json()["next_cursor"]}
    )
    assert [head["tree_size"] for head in rest.json()["items"]] == [first]

    response = await world.http.get(
        CONSISTENCY, headers=officer, params={"first": first, "second": second}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    verify_consistency(
        first,
        second,
        bytes.fromhex(body["first"]["root_hash"]),
        bytes.fromhex(body["second"]["root_hash"]),
        [bytes.fromhex(node) for node in body["proof"]],
    )
    for head in (body["first"], body["second"]):
        assert (await _signed_claims(world, head["signature"]))["root_hash"] == head["root_hash"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"first": "0", "second": "2"}, 400),
        ({"first": "abc", "second": "2"}, 400),
        ({"second": "2"}, 400),
        ({"first": "3", "second": "2"}, 422),
        ({"first": "1", "second": "999"}, 404),
    ],
)
async def test_bad_consistency_requests_are_problems(
    world: World, engine: AsyncEngine, master_key: MasterKey, params: dict[str, str], status: int
) -> None:
    ada = await _customer(world, "ada@example.com")
    await _entries(world, ada)
    await _sign(engine, master_key)
    officer = await _officer(world)
    response = await world.http.get(CONSISTENCY, headers=officer, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_a_missing_tree_size_is_named_alone(world: World) -> None:
    officer = await _officer(world)
    response = await world.http.get(CONSISTENCY, headers=officer, params={"first": "1"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"] == [{"field": "second", "message": "is required", "source": "query"}]
    assert CONSISTENCY not in response.text
    assert "first=1" not in response.text


async def test_a_tampered_cursor_or_a_customer_token_is_refused(world: World) -> None:
    officer = await _officer(world)
    response = await world.http.get(HEADS, headers=officer, params={"cursor": "AAAA"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    ada = await _customer(world, "ada@example.com")
    assert (await world.http.get(HEADS, headers=ada)).status_code == 403


async def test_the_officer_endpoint_names_a_truncated_tail(
    world: World, engine: AsyncEngine, master_key: MasterKey
) -> None:
    ada = await _customer(world, "ada@example.com")
    await _entries(world, ada)
    signed = await _sign(engine, master_key)
    officer = await _officer(world)
    before = await world.http.get("/v1/privacy/audit/verification", headers=officer)
    assert before.status_code == 200, before.text
    assert before.json()["intact"] is True
    assert before.json()["tree_heads_checked"] == 1
    drop = {
        "postgresql": ["DROP TRIGGER audit_events_append_only ON audit_events"],
        "sqlite": ["DROP TRIGGER audit_events_no_delete"],
    }[engine.dialect.name]
    async with engine.begin() as connection:
        for statement in drop:
            await connection.execute(text(statement))
        keep = signed - 1
        await connection.execute(text("DELETE FROM audit_events WHERE seq > :k"), {"k": keep})
        last = (
            await connection.execute(
                text("SELECT hash FROM audit_events WHERE seq = :k"), {"k": keep}
            )
        ).scalar_one()
        await connection.execute(
            text("UPDATE audit_head SET seq = :k, hash = :h"), {"k": keep, "h": last}
        )
    after = await world.http.get("/v1/privacy/audit/verification", headers=officer)
    assert after.status_code == 200, after.text
    report = after.json()
    assert report["intact"] is False
    assert report["tree_failure"]["seq"] == signed
    assert "end was deleted" in report["tree_failure"]["reason"]
