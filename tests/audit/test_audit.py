from __future__ import annotations

import asyncpg
import httpx

from tests.factories.accounts import member, signup, unique_email


class TestAuditLog:
    async def test_actions_are_recorded_with_actor_ip_and_agent(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        await client.patch(
            "/v1/tenants/current",
            json={"name": "Audited"},
            headers={**boss.headers, "user-agent": "audit-test/1.0"},
        )
        page = await client.get("/v1/audit-logs", headers=boss.headers)
        assert page.status_code == 200
        items = page.json()["items"]
        events = [i["eventType"] for i in items]
        assert events[:3] == ["tenant.updated", "auth.signup", "tenant.created"]
        updated = items[0]
        assert updated["userId"] == boss.user_id
        assert updated["userAgent"] == "audit-test/1.0"
        assert updated["ipAddress"]
        assert updated["requestId"]
        assert updated["details"] == {"changes": {"name": {"from": "Acme", "to": "Audited"}}}

    async def test_filters_and_cursor_pagination(self, client: httpx.AsyncClient) -> None:
        boss = await signup(client)
        for _ in range(2):
            await client.post(
                "/v1/invites", json={"email": unique_email(), "role": "SALES"}, headers=boss.headers
            )
        only_invites = await client.get(
            "/v1/audit-logs", params={"eventType": "invite.created"}, headers=boss.headers
        )
        assert [i["eventType"] for i in only_invites.json()["items"]] == ["invite.created"] * 2

        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/audit-logs", params=params, headers=boss.headers)).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        everything = await client.get("/v1/audit-logs", params={"limit": 200}, headers=boss.headers)
        assert seen == [i["id"] for i in everything.json()["items"]]
        assert len(seen) == len(set(seen)) == 4  # tenant.created, auth.signup, 2 invites

    async def test_a_bad_cursor_is_422(self, client: httpx.AsyncClient) -> None:
        boss = await signup(client)
        response = await client.get(
            "/v1/audit-logs", params={"cursor": "garbage!"}, headers=boss.headers
        )
        assert response.status_code == 422

    async def test_a_tenant_never_sees_another_tenants_log(self, client: httpx.AsyncClient) -> None:
        a = await signup(client)
        b = await signup(client)
        await member(client, b, "SALES")
        page = await client.get("/v1/audit-logs", params={"limit": 200}, headers=a.headers)
        assert {i["userId"] for i in page.json()["items"]} == {a.user_id}
