"""The address a request came from, for per-address limits (health, failed authentication).

By default that is the TCP peer: proxy headers are not trusted, since any client can send
``X-Forwarded-For``. Behind a reverse proxy every request would then share the proxy's address,
so the operator lists the proxies in ``EVOSPIKENET_TRUSTED_PROXIES`` (addresses or networks,
comma-separated). For a peer in that list, the address is the right-most ``X-Forwarded-For``
entry that is not itself a trusted proxy (entries further left were written by the client and
prove nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = ["client_address", "parse_networks"]


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Networks from addresses or CIDRs; ValueError naming the first invalid one."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {value!r}") from None
    return tuple(networks)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    entries: list[str] = []
    for name, value in headers:
        if name.lower() == b"x-forwarded-for":
            entries += [part.strip() for part in value.decode("latin-1").split(",")]
    return [entry for entry in entries if entry]


def client_address(scope: Mapping[str, Any], trusted: tuple[Network, ...] = ()) -> str:
    """The client's address for ``scope`` (an ASGI scope), honouring trusted proxies only."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    for entry in reversed(_forwarded_for(scope.get("headers", ()))):
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            return peer  # a malformed hop: do not guess past it
        if not _trusted(entry, trusted):
            return entry
    return peer
