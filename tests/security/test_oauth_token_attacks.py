"""Forged, stale and revoked access tokens against a protected route: each is a 401 with
`WWW-Authenticate: Bearer error="invalid_token"`; a valid token without the scope is 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from http import HTTPStatus
from typing import Any

import httpx
import msgspec
import pytest
from joserfc import jwk, jwt
from oauth_harness import World

from persistence.signing_keys import SigningKeyStore


@pytest.fixture(autouse=True)
async def ada(world: World) -> None:
    """The customer every test here signs in as."""
    await world.add_customer("ada@example.com")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")

    def load(part: str) -> dict[str, Any]:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    return load(header), load(payload)


def _sign(world: World, header: dict[str, Any], claims: dict[str, Any]) -> str:
    material = SigningKeyStore(world.settings.keys_dir).available()[-1]
    key = jwk.ECKey.import_key(material.private_pem)
    return jwt.encode(header, claims, key, algorithms=["ES256"])


async def _token(world: World) -> str:
    tokens = await world.tokens_for("ada@example.com", scope="profile:read")
    token: str = tokens["access_token"]
    return token


async def _assert_401(world: World, token: str) -> None:
    response = await world.me(token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


async def test_the_genuine_token_works(world: World) -> None:
    assert (await world.me(await _token(world))).status_code == 200


async def test_expired(world: World) -> None:
    token = await _token(world)
    world.clock.advance(600 + 31)  # lifetime plus the 30 s leeway
    await _assert_401(world, token)


async def test_within_the_leeway_is_still_accepted(world: World) -> None:
    token = await _token(world)
    world.clock.advance(600 + 10)
    assert (await world.me(token)).status_code == 200


async def test_not_yet_valid(world: World) -> None:
    header, claims = _parts(await _token(world))
    claims["nbf"] = claims["iat"] = claims["iat"] + 300
    claims["exp"] += 300
    await _assert_401(world, _sign(world, header, claims))


async def test_bad_signature(world: World) -> None:
    header, payload, signature = (await _token(world)).split(".")
    forged_claims = _parts(f"{header}.{payload}.x")[1]
    forged_claims["scope"] = "profile:read profile:write"
    forged = _b64(json.dumps(forged_claims).encode())
    await _assert_401(world, f"{header}.{forged}.{signature}")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    await _assert_401(world, f"{header}.{payload}.{flipped}")


async def test_alg_none(world: World) -> None:
    header, claims = _parts(await _token(world))
    header = {**header, "alg": "none"}
    token = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."
    await _assert_401(world, token)


async def test_hs256_signed_with_the_public_key(world: World) -> None:
    header, claims = _parts(await _token(world))
    public = (await world.http.get("/.well-known/jwks.json")).json()["keys"][0]
    for secret in (json.dumps(public).encode(), jwk.ECKey.import_key(public).as_pem(private=False)):
        head = _b64(json.dumps({**header, "alg": "HS256"}).encode())
        body = _b64(json.dumps(claims).encode())
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        await _assert_401(world, f"{head}.{body}.{_b64(mac)}")


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("aud", "http://127.0.0.1:8000/other-api"),
        ("iss", "http://evil.example"),
    ],
)
async def test_wrong_audience_or_issuer(world: World, claim: str, value: str) -> None:
    header, claims = _parts(await _token(world))
    await _assert_401(world, _sign(world, header, {**claims, claim: value}))


async def test_wrong_typ(world: World) -> None:
    header, claims = _parts(await _token(world))
    for typ in ("JWT", "id_token+jwt"):
        await _assert_401(world, _sign(world, {**header, "typ": typ}, claims))


async def test_unknown_key_id(world: World) -> None:
    header, claims = _parts(await _token(world))
    await _assert_401(world, _sign(world, {**header, "kid": "someone-else"}, claims))


async def test_token_of_a_revoked_family(world: World) -> None:
    tokens = await world.tokens_for("ada@example.com", scope="profile:read")
    await world.http.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "demo-app"}
    )
    await _assert_401(world, tokens["access_token"])


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer garbage",
        "Bearer a.b.c",
        "Basic YWRhOnB3",
        "Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
        "Bearer " + "A" * 5000,
    ],
)
async def test_garbage_and_missing_tokens(world: World, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await world.http.get("/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    _assert_written_like_every_problem(response, "urn:custodian:problem:invalid-token")


@pytest.mark.parametrize(
    ("name", "second", "challenge"),
    [
        ("Authorization", "Bearer junk", 'Bearer error="invalid_request"'),
        ("X-Access-Purpose", "legal_claim", None),
        ("X-Ticket", "T-2", None),
    ],
)
async def test_a_header_that_counts_once_sent_twice_is_a_400(
    world: World, name: str, second: str, challenge: str | None
) -> None:
    # Which of two values counts (the token checked, the purpose audited) would be a guess
    # that the server and a proxy in front of it might make differently.
    token = await _token(world)
    once = {
        "Authorization": f"Bearer {token}",
        "X-Access-Purpose": "customer_request",
        "X-Ticket": "T-1",
    }
    headers = [*once.items(), (name, second)]
    response = await world.http.get("/v1/me", headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers.get("www-authenticate") == challenge
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"The {name} header was sent more than once; send it once."


def _assert_written_like_every_problem(response: httpx.Response, problem_type: str) -> None:
    # A problem type of Custodian's own, and the compact encoding every other problem has.
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == problem_type
    assert body["title"] == HTTPStatus(response.status_code).phrase
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.content == msgspec.json.encode(body)


async def test_missing_scope_is_403_naming_the_scope(world: World) -> None:
    tokens = await world.tokens_for("ada@example.com", scope="accounts:read")
    response = await world.me(tokens["access_token"])
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="profile:read"'
    )
    body = response.json()
    assert body["error"] == "insufficient_scope"
    assert body["scope"] == "profile:read"
    _assert_written_like_every_problem(response, "urn:custodian:problem:insufficient-scope")
