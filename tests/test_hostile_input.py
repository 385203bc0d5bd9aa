"""Input built to break things gets a clean 4xx, never a 500."""

from __future__ import annotations

import base64

import asyncpg
import httpx

from tests.factories.accounts import PASSWORD, member, signup, unique_email


class TestHostileInput:
    async def test_a_deeply_nested_token_header_is_401(self, client: httpx.AsyncClient) -> None:
        header = base64.urlsafe_b64encode(b"[" * 1000).decode().rstrip("=")
        for token in (f"{header}.e30.x", "eyJ" + "A" * 5000 + ".e30.x"):
            response = await client.get("/v1/auth/me", headers={"authorization": f"Bearer {token}"})
            assert response.status_code == 401

    async def test_a_maximal_name_still_gets_a_workspace(self, client: httpx.AsyncClient) -> None:
        body = {"email": unique_email(), "password": PASSWORD, "name": "n" * 200}
        response = await client.post("/v1/auth/signup", json=body)
        assert response.status_code == 201, response.text
        tenant_name = response.json()["tenant"]["name"]
        assert tenant_name.endswith("'s workspace")
        assert len(tenant_name) <= 200

    async def test_nul_and_control_characters_are_422(self, client: httpx.AsyncClient) -> None:
        body = {"email": unique_email(), "password": PASSWORD, "name": "bad\x00name"}
        assert (await client.post("/v1/auth/signup", json=body)).status_code == 422
        account = await signup(client)
        renamed = await client.patch(
            "/v1/tenants/current", json={"name": "tab\x07bell"}, headers=account.headers
        )
        assert renamed.status_code == 422
        query = await client.get(
            "/v1/audit-logs", params={"eventType": "x\x00y"}, headers=account.headers
        )
        assert query.status_code == 422

    async def test_out_of_range_dates_are_422(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        for value in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"):
            response = await client.get(
                "/v1/audit-logs", params={"from": value}, headers=account.headers
            )
            assert response.status_code == 422, (value, response.text)

    async def test_a_blank_rename_is_422(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        response = await client.patch(
            "/v1/tenants/current", json={"name": "   "}, headers=account.headers
        )
        assert response.status_code == 422

    async def test_a_failed_password_change_is_audited(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        response = await client.post(
            "/v1/auth/password",
            json={"currentPassword": "not the password", "newPassword": "whatever new one"},
            headers=account.headers,
        )
        assert response.status_code == 401
        events = await owner.fetch(
            "SELECT event_type FROM audit_logs WHERE user_id = $1::uuid", account.user_id
        )
        assert "auth.password_change_failed" in [e["event_type"] for e in events]

    async def test_a_manager_cannot_revoke_an_admins_invite(
        self, client: httpx.AsyncClient
    ) -> None:
        boss = await signup(client)
        manager = await member(client, boss, "MANAGER")
        invite = await client.post(
            "/v1/invites", json={"email": unique_email(), "role": "ADMIN"}, headers=boss.headers
        )
        invite_id = invite.json()["invite"]["id"]
        revoke = await client.delete(f"/v1/invites/{invite_id}", headers=manager.headers)
        assert revoke.status_code == 403
