"""The client's address behind proxies (issue 12, item 5): the right-most untrusted entry."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.kit.clientip import MAX_ENTRIES, ProxyTrust, parse_address
from tests.factories.accounts import PASSWORD, signup, unique_email

ONE_HOP = ProxyTrust.of(1, [])
TWO_HOPS = ProxyTrust.of(2, [])
NETWORKS = ProxyTrust.of(0, ["10.0.0.0/8", "2001:db8::/32"])


@pytest.mark.parametrize(
    ("trust", "peer", "forwarded", "client"),
    [
        # No proxy trusted: the header means nothing.
        (ProxyTrust(), "198.51.100.1", ["203.0.113.9"], "198.51.100.1"),
        # One proxy: the entry it appended, whatever the client put before it.
        (ONE_HOP, "10.0.0.2", ["203.0.113.9"], "203.0.113.9"),
        (ONE_HOP, "10.0.0.2", ["10.10.10.1, 203.0.113.9"], "203.0.113.9"),
        (ONE_HOP, "10.0.0.2", ["1.1.1.1", "203.0.113.9"], "203.0.113.9"),  # two headers
        (ONE_HOP, "10.0.0.2", [], "10.0.0.2"),  # the proxy added none: the peer
        # Two proxies (Cloudflare, then the platform's).
        (TWO_HOPS, "10.0.0.2", ["6.6.6.6, 203.0.113.9, 172.64.0.1"], "203.0.113.9"),
        (TWO_HOPS, "10.0.0.2", ["203.0.113.9"], "203.0.113.9"),  # shorter than the hops
        # Networks: walk left past every trusted address.
        (NETWORKS, "10.0.0.2", ["6.6.6.6, 203.0.113.9, 10.1.2.3"], "203.0.113.9"),
        (NETWORKS, "198.51.100.1", ["203.0.113.9"], "198.51.100.1"),  # peer not a proxy
        (NETWORKS, "10.0.0.2", ["10.0.0.3, 10.0.0.4"], "10.0.0.3"),  # all trusted: leftmost
        (NETWORKS, "2001:db8::1", ["[2001:db8::7]:443, 2a00:1450::1"], "2a00:1450::1"),
        # Ports and brackets are the address's spelling, not part of it.
        (ONE_HOP, "10.0.0.2", ["203.0.113.9:51234"], "203.0.113.9"),
        (ONE_HOP, "10.0.0.2", ["[2a00:1450::1]:443"], "2a00:1450::1"),
        # Garbage anywhere in the header: the peer, never an error.
        (ONE_HOP, "10.0.0.2", ["<script>alert(1)</script>"], "10.0.0.2"),
        (ONE_HOP, "10.0.0.2", ["203.0.113.9, " + "9" * 100], "10.0.0.2"),
        (ONE_HOP, "10.0.0.2", ["unknown"], "10.0.0.2"),
        (ONE_HOP, "10.0.0.2", [""], "10.0.0.2"),
        (ONE_HOP, "10.0.0.2", [", ".join(["203.0.113.9"] * (MAX_ENTRIES + 1))], "10.0.0.2"),
        # No peer (a server without the information): nothing.
        (ONE_HOP, None, ["203.0.113.9"], None),
    ],
)
def test_the_client_is_the_right_most_untrusted_address(
    trust: ProxyTrust, peer: str | None, forwarded: list[str], client: str | None
) -> None:
    assert trust.client(peer, forwarded) == client


def test_addresses_are_parsed_not_copied() -> None:
    assert str(parse_address(" 203.0.113.9 ")) == "203.0.113.9"
    assert str(parse_address("fe80::1%eth0")) == "fe80::1"  # no zone: inet cannot store one
    assert parse_address("203.0.113.256") is None
    assert parse_address("example.com") is None


@pytest.fixture
def behind_a_proxy(app: FastAPI) -> FastAPI:
    app.state.proxy_trust = ONE_HOP
    return app


class TestThroughTheApi:
    async def test_a_spoofed_leftmost_entry_neither_escapes_the_limit_nor_the_audit(
        self,
        behind_a_proxy: FastAPI,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
    ) -> None:
        account = await signup(client, email=unique_email())
        statuses = []
        for n in range(40):  # LEEDZ_RATE_LIMIT_LOGIN_IP is 30/minute
            response = await client.post(
                "/v1/auth/login",
                json={"email": unique_email(), "password": PASSWORD},
                headers={"x-forwarded-for": f"10.10.10.{n}, 203.0.113.77"},
            )
            statuses.append(response.status_code)
        assert 429 in statuses
        signed_in = await client.post(
            "/v1/auth/login",
            json={"email": account.email, "password": PASSWORD},
            headers={"x-forwarded-for": "10.10.10.99, 198.51.100.23"},
        )
        assert signed_in.status_code == 200
        audited = await owner.fetchval(
            "SELECT host(ip_address) FROM audit_logs WHERE event_type = 'auth.login'"
            " AND user_id = $1::uuid",
            account.user_id,
        )
        assert audited == "198.51.100.23"

    @pytest.mark.parametrize(
        "header",
        [
            "<script>alert(1)</script>",
            "1" * 65,
            "203.0.113.5, " + "f" * 70,
            "\u0661.\u0662.3.4".encode(),  # Arabic-Indic digits, as raw UTF-8
        ],
    )
    async def test_an_unparsable_header_never_fails_a_request(
        self,
        behind_a_proxy: FastAPI,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
        header: str | bytes,
    ) -> None:
        email = unique_email()
        response = await client.post(
            "/v1/auth/signup",
            json={"email": email, "password": PASSWORD, "name": "Proxied"},
            headers=[
                (b"x-forwarded-for", header if isinstance(header, bytes) else header.encode())
            ],
        )
        assert response.status_code == 201, response.text
        stored = await owner.fetchval(
            "SELECT host(ip_address) FROM audit_logs WHERE event_type = 'auth.signup'"
            " AND user_id = $1::uuid",
            response.json()["user"]["id"],
        )
        assert stored == "127.0.0.1"  # the peer (httpx's in-process client)
