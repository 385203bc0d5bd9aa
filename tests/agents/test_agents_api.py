from __future__ import annotations

import hashlib

import asyncpg
import httpx

from tests.factories.accounts import member, signup


class TestAgents:
    async def test_register_shows_the_token_once_and_stores_its_hash(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        response = await client.post(
            "/v1/agents",
            json={"name": "Chrome on laptop", "version": "1.2.0", "maxConcurrency": 2},
            headers=account.headers,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        token = body["token"]
        assert token.startswith("lza_")
        agent = body["agent"]
        assert agent["capabilities"] == ["SEARCH", "SURVEY", "WHATSAPP_SEND", "WHATSAPP_BULK"]
        assert agent["online"] is False
        assert agent["runningJobs"] == 0
        assert token.startswith(agent["tokenPrefix"])
        stored = await owner.fetchval(
            "SELECT token_hash FROM agents WHERE id = $1::uuid", agent["id"]
        )
        assert stored == hashlib.sha256(token.encode()).digest()
        listing = await client.get("/v1/agents", headers=account.headers)
        assert token not in listing.text
        assert [a["id"] for a in listing.json()["items"]] == [agent["id"]]

    async def test_the_visible_prefix_tells_a_tenants_agents_apart(
        self, client: httpx.AsyncClient
    ) -> None:
        # Issue 12, item 9: every agent of a tenant showed the same prefix (the tenant's part).
        account = await signup(client)
        bodies = [
            (
                await client.post("/v1/agents", json={"name": f"a{i}"}, headers=account.headers)
            ).json()
            for i in range(5)
        ]
        prefixes = [b["agent"]["tokenPrefix"] for b in bodies]
        assert len(set(prefixes)) == 5
        for body in bodies:
            assert body["token"].startswith(body["agent"]["tokenPrefix"])
            # Far too little of the secret to use: 256 random bits, at most 38 shown.
            assert len(body["token"]) - len(body["agent"]["tokenPrefix"]) >= 36

    async def test_capabilities_are_agent_executable_types_only(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await signup(client)
        response = await client.post(
            "/v1/agents", json={"name": "x", "capabilities": ["EXPORT"]}, headers=account.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "job_type_not_available"
        only_search = await client.post(
            "/v1/agents", json={"name": "x", "capabilities": ["SEARCH"]}, headers=account.headers
        )
        assert only_search.json()["agent"]["capabilities"] == ["SEARCH"]

    async def test_revoke_and_tenant_walls(self, client: httpx.AsyncClient) -> None:
        boss = await signup(client)
        sales = await member(client, boss, "SALES")
        agent = (
            await client.post("/v1/agents", json={"name": "sales laptop"}, headers=sales.headers)
        ).json()["agent"]
        denied = await client.delete(f"/v1/agents/{agent['id']}", headers=sales.headers)
        assert denied.status_code == 403
        stranger = await signup(client)
        foreign = await client.delete(f"/v1/agents/{agent['id']}", headers=stranger.headers)
        assert foreign.status_code == 404
        assert (await client.get("/v1/agents", headers=stranger.headers)).json()["items"] == []
        revoked = await client.delete(f"/v1/agents/{agent['id']}", headers=boss.headers)
        assert revoked.status_code == 204
        again = await client.delete(f"/v1/agents/{agent['id']}", headers=boss.headers)
        assert again.status_code == 404
        listed = (await client.get("/v1/agents", headers=boss.headers)).json()["items"][0]
        assert listed["revokedAt"]
        assert listed["online"] is False

    async def test_online_follows_recent_heartbeats(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        agent = (
            await client.post("/v1/agents", json={"name": "x"}, headers=account.headers)
        ).json()["agent"]
        for seen, online in (("now()", True), ("now() - interval '2 minutes'", False)):
            await owner.execute(
                f"UPDATE agents SET last_seen_at = {seen} WHERE id = $1::uuid",
                agent["id"],
            )
            listed = (await client.get("/v1/agents", headers=account.headers)).json()["items"][0]
            assert listed["online"] is online
            assert listed["lastSeenAt"]
