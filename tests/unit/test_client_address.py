"""Which address a sign-in is counted against: X-Forwarded-For only through a trusted proxy."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request

from api.oauth.client_address import client_address, parse_networks
from api.settings import ConfigError, load_settings

PROXIES = parse_networks(["10.0.0.1", "192.168.0.0/16"])


def _request(peer: str, forwarded: str | None = None) -> Request[Any, Any, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    scope: Any = {"type": "http", "client": (peer, 5000), "headers": headers, "method": "POST"}
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No trusted proxy in the path: the header is the client's own claim, ignored.
        ("127.0.0.1", "203.0.113.7", "127.0.0.1"),
        ("198.51.100.4", "127.0.0.1", "198.51.100.4"),
        # Through a trusted proxy: the nearest address that is not a proxy.
        ("10.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.1", "1.2.3.4, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.1", "203.0.113.7, 192.168.4.4", "203.0.113.7"),
        ("10.0.0.1", None, "10.0.0.1"),
        ("10.0.0.1", "not-an-address", "10.0.0.1"),
        ("10.0.0.1", "192.168.1.1", "10.0.0.1"),
    ],
)
def test_the_counted_address(peer: str, forwarded: str | None, expected: str) -> None:
    assert client_address(_request(peer, forwarded), PROXIES) == expected


def test_nothing_is_trusted_by_default() -> None:
    settings = load_settings({"CUSTODIAN_MASTER_KEY": "A" * 43 + "="})
    assert settings.trusted_proxies == ()
    assert client_address(_request("127.0.0.1", "203.0.113.7"), ()) == "127.0.0.1"


def test_trusted_proxies_are_read_and_checked() -> None:
    key = {"CUSTODIAN_MASTER_KEY": "A" * 43 + "="}
    settings = load_settings({**key, "CUSTODIAN_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16"})
    assert settings.trusted_proxies == ("10.0.0.1", "192.168.0.0/16")
    with pytest.raises(ConfigError, match=r"CUSTODIAN_TRUSTED_PROXIES: 'proxy\.local'"):
        load_settings({**key, "CUSTODIAN_TRUSTED_PROXIES": "10.0.0.1,proxy.local"})
