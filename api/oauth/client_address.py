"""The address a sign-in comes from, for the throttle.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only when the
connection comes from a proxy the operator listed (`CUSTODIAN_TRUSTED_PROXIES`, addresses or
networks; none by default). Then the address is the right-most one in the header that is
not itself a trusted proxy: the left-most entries are the client's own claims.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Networks from addresses or CIDR blocks; ValueError names the first bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry.strip()!r} is not an IP address or network") from None
    return tuple(networks)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(
    connection: ASGIConnection[Any, Any, Any, Any], proxies: tuple[Network, ...]
) -> str:
    """The peer's address, or, when the peer is a trusted proxy, the nearest untrusted
    address its `X-Forwarded-For` names."""
    peer = connection.client.host if connection.client else "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [
        hop.strip()
        for value in connection.headers.getall("x-forwarded-for", [])
        for hop in value.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed entry: fall back to what we know
    return peer
