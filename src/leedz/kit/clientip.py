"""The caller's address: the peer's, or behind trusted proxies the right-most untrusted entry of
`X-Forwarded-For`.

Each proxy appends the address it received the request from, so only the right end of the header
is known to be true; anything to the left of the last trusted proxy's entry is what the client
chose to send. uvicorn's own proxy handling (`FORWARDED_ALLOW_IPS=*`) takes the *leftmost*
entry, which a client can set to anything (issue 12: rate limits bypassed, audit rows spoofed),
so it is switched off (`leedz serve`) and the address is taken here instead:

- `LEEDZ_PROXY_HOPS=N`: N proxies stand in front of the app (Render, Railway: 1; Cloudflare in
  front of them: 2). The client is the entry N places from the right of `X-Forwarded-For, peer`.
- `LEEDZ_TRUSTED_PROXIES=cidr,…`: the proxies' networks. Walking from the peer leftwards, the
  first address outside them is the client. Takes precedence over the hop count.
- Neither (the default): the peer address, the header ignored.

Every entry is parsed with `ipaddress`; a header that does not parse (garbage, markup, an
oversized list) is ignored as a whole and the peer address is used: it never fails a request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# More entries than any real chain of proxies has: such a header is not trusted at all.
MAX_ENTRIES = 32


def parse_address(text: str) -> Address | None:
    """An address as clients and proxies write it (`1.2.3.4`, `1.2.3.4:80`, `::1`,
    `[::1]:80`), without an IPv6 zone; None when it is not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ipaddress.IPv6Address(text.partition("%")[0])
    return address


@dataclass(frozen=True)
class ProxyTrust:
    """Which proxies in front of the app may be believed about the client's address."""

    hops: int = 0
    networks: tuple[Network, ...] = ()

    @classmethod
    def of(cls, hops: int, cidrs: Iterable[str]) -> ProxyTrust:
        return cls(hops=hops, networks=tuple(ipaddress.ip_network(c, strict=False) for c in cidrs))

    @property
    def enabled(self) -> bool:
        return bool(self.hops or self.networks)

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded: Iterable[str]) -> str | None:
        """The client's address from the peer and the `X-Forwarded-For` header values."""
        peer_address = parse_address(peer) if peer else None
        if peer_address is None:
            return None
        chain = self._chain(forwarded) if self.enabled else None
        if chain is None:
            return str(peer_address)
        chain.append(peer_address)
        if self.networks:
            untrusted = (address for address in reversed(chain) if not self.trusts(address))
            return str(next(untrusted, chain[0]))
        return str(chain[max(len(chain) - 1 - self.hops, 0)])

    @staticmethod
    def _chain(forwarded: Iterable[str]) -> list[Address] | None:
        """Every `X-Forwarded-For` entry, left to right; None unless all of them parse."""
        entries = [entry for value in forwarded for entry in value.split(",")]
        if len(entries) > MAX_ENTRIES:
            return None
        chain: list[Address] = []
        for entry in entries:
            address = parse_address(entry)
            if address is None:
                return None
            chain.append(address)
        return chain
