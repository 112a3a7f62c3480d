"""No token, password or personal data reaches the logs, whoever writes the line.

Canary values travel in the places secrets really travel (Authorization header, a JSON body,
a query string, a custom header) and a careless route logs them outright, through structlog
and through stdlib logging, then crashes with them in the exception message. The captured
JSON lines must contain none of them, and must still say what happened.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Request, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.logging import configure_logging, get_logger, redact_text, redact_value
from api.settings import Settings

JWT_CANARY = (
    "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9."
    "eyJzdWIiOiJjYW5hcnktc3ViamVjdCJ9.Q2FuYXJ5U2lnbmF0dXJlQ2FuYXJ5"
)
OPAQUE_TOKEN_CANARY = "rt_CanaryRefreshToken_9f8e7d6c5b4a"
PASSWORD_CANARY = "Canary-Pa55word!"
EMAIL_CANARY = "canary.person@example.org"
PHONE_CANARY = "+44 7700 900123"
NAME_CANARY = "Zebedee Canaryfield"
CANARIES = [
    JWT_CANARY,
    "Q2FuYXJ5U2lnbmF0dXJlQ2FuYXJ5",
    OPAQUE_TOKEN_CANARY,
    PASSWORD_CANARY,
    EMAIL_CANARY,
    "canary.person%40example.org",
    "canary.person",
    PHONE_CANARY,
    NAME_CANARY,
    "Canaryfield",
]


@post("/canary", operation_id="testCanary")
async def careless_route(request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> None:
    """Logs everything it receives, as a careless developer might, then fails."""
    log = get_logger("custodian.careless")
    log.info(
        "login attempt",
        password=data["password"],
        email=data["email"],
        given_name=data["given_name"],
        headers=dict(request.headers),
        refresh_token=data["refresh_token"],
        profile={"phone": data["phone"]},
    )
    log.info(f"user {data['email']} sent {request.headers['authorization']}")
    logging.getLogger("thirdparty.lib").warning(
        "auth header %s for %s", request.headers["authorization"], request.headers["x-contact"]
    )
    raise RuntimeError(f"could not sign in {data['email']} with {data['password']}")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Route all logging to a buffer for the test; restore the root logger afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def test_no_canary_reaches_the_logs(captured: io.StringIO, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        data_dir=tmp_path,
        master_key=bytes(32),
    )
    app = create_app(settings)
    app.register(careless_route)
    async with AsyncTestClient(app=app) as client:
        response = await client.post(
            "/canary",
            params={"email": EMAIL_CANARY},
            headers={
                "Authorization": f"Bearer {JWT_CANARY}",
                "X-Contact": EMAIL_CANARY,
                "Cookie": f"session={OPAQUE_TOKEN_CANARY}",
                "X-Request-ID": "canary-req-1",
            },
            json={
                "password": PASSWORD_CANARY,
                "email": EMAIL_CANARY,
                "given_name": NAME_CANARY,
                "refresh_token": OPAQUE_TOKEN_CANARY,
                "phone": PHONE_CANARY,
            },
        )
    assert response.status_code == 500

    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    for canary in CANARIES:
        assert canary not in text, f"{canary!r} leaked into the logs"

    access = [line for line in lines if line.get("event") == "request"]
    assert {
        "method": "POST",
        "route": "/canary",
        "status": 500,
        "request_id": "canary-req-1",
    }.items() <= access[-1].items()
    assert isinstance(access[-1]["duration_ms"], float)

    errors = [line for line in lines if line.get("event") == "unhandled error"]
    assert errors[-1]["exc_type"] == "builtins.RuntimeError"
    assert errors[-1]["request_id"] == "canary-req-1"
    # The careless lines were still written (masked), so the test saw real log traffic.
    assert any(line.get("event") == "login attempt" for line in lines)
    assert any(line.get("logger") == "thirdparty.lib" for line in lines)


def test_redact_value_masks_by_key_recursively() -> None:
    event = {
        "user": {
            "Email": "a@b.example",
            "Set-Cookie": "x",
            "Authorization": "y",
            "client_secret": "s",
            "date_of_birth": "1990-01-01",
            "address": {"city": "Leeds"},
            "family_name": "Smith",
            "status": 200,
        },
        "items": [{"access_token": "t"}, {"method": "GET"}],
    }
    masked = redact_value(event)
    assert "a@b.example" not in json.dumps(masked)
    for secret in ("Smith", "1990-01-01", "Leeds"):
        assert secret not in json.dumps(masked)
    assert masked["user"]["status"] == 200
    assert masked["items"][1] == {"method": "GET"}


def test_redact_text_masks_tokens_and_emails_in_prose() -> None:
    text = (
        f"Authorization: Bearer {OPAQUE_TOKEN_CANARY}; jwt {JWT_CANARY}; "
        f"mail {EMAIL_CANARY}; query ?email=canary.person%40example.org"
    )
    masked = redact_text(text)
    for canary in (OPAQUE_TOKEN_CANARY, JWT_CANARY, EMAIL_CANARY, "canary.person"):
        assert canary not in masked
    assert masked.startswith("Authorization: Bearer ")


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"basic {OPAQUE_TOKEN_CANARY}", OPAQUE_TOKEN_CANARY),  # any case
        (f"DPOP {OPAQUE_TOKEN_CANARY}", OPAQUE_TOKEN_CANARY),
        (f"ba\u017fic {OPAQUE_TOKEN_CANARY}", OPAQUE_TOKEN_CANARY),  # the long s matches "s"
        ("mail canary.person%40EXAMPLE.org", "canary.person"),
        (f"/cb?state=1&code={OPAQUE_TOKEN_CANARY}", OPAQUE_TOKEN_CANARY),
    ],
)
def test_redact_text_masks_whatever_the_spelling(text: str, secret: str) -> None:
    assert secret not in redact_text(text)


def test_redact_text_leaves_plain_values_alone() -> None:
    for value in ("/v1/me/accounts/{account_id}/transactions", "2026-12-02T17:12:23Z", "GET"):
        assert redact_text(value) == value


def test_uvicorn_access_log_is_replaced(captured: io.StringIO) -> None:
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /v1/x?email=%s" 200', "a@b.c")
    assert captured.getvalue() == ""


def test_a_logger_follows_a_reconfiguration_and_a_closed_stream_fails_nothing() -> None:
    """Loggers are cached on first use: a later configuration still decides where their
    lines go. A stream that cannot take a line loses it without raising into the caller."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    log = get_logger("custodian.test.cached")
    first, second = io.StringIO(), io.StringIO()
    try:
        configure_logging(stream=first)
        log.info("one", email="ada@example.com")
        configure_logging(stream=second)
        log.info("two")
        moved = second.getvalue()
        second.close()
        log.info("three")  # lost, not raised
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert json.loads(moved)["event"] == "two"
    [line] = [json.loads(text) for text in first.getvalue().splitlines()]
    assert (line["event"], line["email"], line["logger"]) == (
        "one",
        "[redacted]",
        "custodian.test.cached",
    )
