from __future__ import annotations

import asyncpg
import httpx

from tests.factories.accounts import member, signup, unique_email


class TestOwners:
    async def test_the_last_owner_cannot_leave_be_demoted_or_removed(
        self, client: httpx.AsyncClient
    ) -> None:
        boss = await signup(client)
        leave = await client.post("/v1/members/leave", headers=boss.headers)
        assert leave.status_code == 409
        assert leave.json()["code"] == "last_owner"
        demote = await client.patch(
            f"/v1/members/{boss.user_id}", json={"role": "ADMIN"}, headers=boss.headers
        )
        assert demote.status_code == 409
        remove = await client.delete(f"/v1/members/{boss.user_id}", headers=boss.headers)
        assert remove.status_code == 409

    async def test_with_a_second_owner_the_first_may_step_down(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        second = await member(client, boss, "OWNER")
        demote = await client.patch(
            f"/v1/members/{boss.user_id}", json={"role": "ADMIN"}, headers=second.headers
        )
        assert demote.status_code == 200
        assert demote.json()["role"] == "ADMIN"
        last = await client.post("/v1/members/leave", headers=second.headers)
        assert last.status_code == 409

    async def test_an_admin_cannot_touch_an_owner(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        admin = await member(client, boss, "ADMIN")
        change = await client.patch(
            f"/v1/members/{boss.user_id}", json={"role": "SALES"}, headers=admin.headers
        )
        assert change.status_code == 403
        remove = await client.delete(f"/v1/members/{boss.user_id}", headers=admin.headers)
        assert remove.status_code == 403
        promote_self = await client.patch(
            f"/v1/members/{admin.user_id}", json={"role": "OWNER"}, headers=admin.headers
        )
        assert promote_self.status_code == 403
        role = await owner.fetchval(
            "SELECT role FROM memberships WHERE user_id = $1::uuid", admin.user_id
        )
        assert role == "ADMIN"

    async def test_nobody_invites_above_their_own_role(self, client: httpx.AsyncClient) -> None:
        boss = await signup(client)
        manager = await member(client, boss, "MANAGER")
        for role, status in (("ADMIN", 403), ("OWNER", 403), ("MANAGER", 201)):
            response = await client.post(
                "/v1/invites", json={"email": unique_email(), "role": role}, headers=manager.headers
            )
            assert response.status_code == status, (role, response.text)


class TestRoleChangesTakeEffectAtOnce:
    async def test_a_demoted_admin_loses_access_with_the_same_token(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        admin = await member(client, boss, "ADMIN")
        assert (await client.get("/v1/audit-logs", headers=admin.headers)).status_code == 200
        await client.patch(
            f"/v1/members/{admin.user_id}", json={"role": "SALES"}, headers=boss.headers
        )
        denied = await client.get("/v1/audit-logs", headers=admin.headers)
        assert denied.status_code == 403
        assert denied.json()["permission"] == "audit:read"

    async def test_other_tenants_members_are_not_found(self, client: httpx.AsyncClient) -> None:
        a = await signup(client)
        b = await signup(client)
        response = await client.delete(f"/v1/members/{b.user_id}", headers=a.headers)
        assert response.status_code == 404
        listing = await client.get("/v1/members", headers=a.headers)
        assert [m["user"]["id"] for m in listing.json()["items"]] == [a.user_id]


class TestSeats:
    async def test_members_plus_pending_invites_are_capped_by_the_plan(
        self, client: httpx.AsyncClient
    ) -> None:
        boss = await signup(client)  # FREE: 3 users
        for _ in range(2):
            ok = await client.post(
                "/v1/invites", json={"email": unique_email(), "role": "SALES"}, headers=boss.headers
            )
            assert ok.status_code == 201
        over = await client.post(
            "/v1/invites", json={"email": unique_email(), "role": "SALES"}, headers=boss.headers
        )
        assert over.status_code == 402
        body = over.json()
        assert body["code"] == "quota_exceeded"
        assert body["limit"] == 3
        assert body["quota"] == "users"

    async def test_replacing_a_pending_invite_does_not_use_a_seat(
        self, client: httpx.AsyncClient
    ) -> None:
        boss = await signup(client)
        email = unique_email()
        for _ in range(4):
            again = await client.post(
                "/v1/invites", json={"email": email, "role": "SALES"}, headers=boss.headers
            )
            assert again.status_code == 201
        pending = await client.get("/v1/invites", headers=boss.headers)
        assert len(pending.json()["items"]) == 1

    async def test_inviting_an_existing_member_is_409(self, client: httpx.AsyncClient) -> None:
        boss = await signup(client)
        sales = await member(client, boss, "SALES")
        response = await client.post(
            "/v1/invites",
            json={"email": sales.email.upper(), "role": "SALES"},
            headers=boss.headers,
        )
        assert response.status_code == 409
        assert response.json()["code"] == "already_member"
