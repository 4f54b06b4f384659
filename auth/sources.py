"""Who is on the other end of a request, for limits and records that count per source:
the client's address as the server saw it, or, behind a proxy the hub trusts, as the
proxy says (`hub.limits.sources` applies X-Forwarded-For from trusted proxies only).

An IPv6 address counts by its /64 network: one host is usually given a whole /64, so
counting single addresses would let it use a new one for every request."""

from __future__ import annotations

import ipaddress
from typing import Final

from starlette.types import Scope

UNKNOWN: Final = "unknown"


def source_of(scope: Scope) -> str:
    client = scope.get("client")
    host = client[0] if client else None
    if not host:
        return UNKNOWN
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a Unix socket's path, or a name a test server gives
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
