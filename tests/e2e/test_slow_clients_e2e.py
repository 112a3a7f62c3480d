"""A client that sends its request too slowly, through the real `custodian serve`: its
headers and each part of its body have CUSTODIAN_READ_TIMEOUT seconds (1 here), then the
server answers 408 and closes the connection; a client that leaves halfway through its body
is no server error."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_server import BIN, demo_environment, free_port, start_serve

DEADLINE = 1


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    home = tmp_path_factory.mktemp("slow-clients")
    port = free_port()
    env = {**demo_environment(home, port), "CUSTODIAN_READ_TIMEOUT": str(DEADLINE)}
    subprocess.run([str(BIN / "custodian"), "migrate"], env=env, cwd=home, check=True)
    log = home / "server.log"
    process = start_serve(env, port, log, cwd=home)
    try:
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=20)


def _answer_after(port: int, sent: bytes, *, wait: float = DEADLINE + 4) -> tuple[bytes, float]:
    """What the server sends back to a client that sends `sent` and then nothing, until it
    closes the connection; and how long that took."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        started = time.monotonic()
        connection.sendall(sent)
        received = b""
        while chunk := connection.recv(65536):  # "" once the server has closed
            received += chunk
        return received, time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed_with_408(server: tuple[int, Path]) -> None:
    answer, took = _answer_after(server[0], b"")
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert DEADLINE - 0.2 <= took < DEADLINE + 3


def test_headers_sent_too_slowly_are_answered_408(server: tuple[int, Path]) -> None:
    answer, took = _answer_after(server[0], b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in answer.lower()
    assert took < DEADLINE + 3


def test_a_body_sent_too_slowly_is_answered_408_problem_json(server: tuple[int, Path]) -> None:
    request = (
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
        b"grant_type"
    )
    answer, took = _answer_after(server[0], request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" in head.lower()
    assert json.loads(body)["status"] == 408
    assert took < DEADLINE + 3


def test_a_request_sent_in_time_is_answered(server: tuple[int, Path]) -> None:
    answer, _ = _answer_after(
        server[0], b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 "), answer


def test_a_client_leaving_halfway_through_its_body_is_no_server_error(
    server: tuple[int, Path],
) -> None:
    port, log = server
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(
            b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            b"grant_type"
        )
        time.sleep(0.2)
    time.sleep(0.5)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    token_requests = [line for line in lines if line.get("route") == "/oauth/token"]
    assert token_requests, "the request was not logged"
    assert token_requests[-1]["status"] == 400
    assert not [line for line in lines if line.get("level") == "error"], lines
