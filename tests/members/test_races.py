"""Concurrent requests on one tenant: rules hold and nobody gets a 500."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from tests.factories.accounts import member, signup, unique_email


class TestRaces:
    async def test_two_owners_demoting_each_other(self, client: httpx.AsyncClient) -> None:
        first = await signup(client)
        second = await member(client, first, "OWNER")
        responses = await asyncio.gather(
            client.patch(
                f"/v1/members/{second.user_id}", json={"role": "ADMIN"}, headers=first.headers
            ),
            client.patch(
                f"/v1/members/{first.user_id}", json={"role": "ADMIN"}, headers=second.headers
            ),
        )
        # One wins; the other is refused as the last owner (409) or, if it started after the
        # first committed, as a freshly demoted ADMIN touching an OWNER (403). Never a 500.
        statuses = sorted(r.status_code for r in responses)
        assert statuses in ([200, 403], [200, 409]), [r.text for r in responses]
        owners = [
            m
            for m in (await client.get("/v1/members", headers=first.headers)).json()["items"]
            if m["role"] == "OWNER"
        ] or [
            m
            for m in (await client.get("/v1/members", headers=second.headers)).json()["items"]
            if m["role"] == "OWNER"
        ]
        assert len(owners) == 1

    async def test_double_click_on_invite(self, client: httpx.AsyncClient) -> None:
        boss = await signup(client)
        email = unique_email()
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/invites", json={"email": email, "role": "SALES"}, headers=boss.headers
                )
                for _ in range(3)
            )
        )
        assert [r.status_code for r in responses] == [201, 201, 201]
        pending = await client.get("/v1/invites", headers=boss.headers)
        assert len(pending.json()["items"]) == 1

    async def test_two_acceptances_for_the_last_seat(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)  # FREE: 3 users, members and pending invites
        links = []
        for _ in range(2):
            created = await client.post(
                "/v1/invites", json={"email": unique_email(), "role": "SALES"}, headers=boss.headers
            )
            links.append((created.json()["invite"]["email"], created.json()["acceptUrl"]))
        # A member added behind the invites' back: one seat is left for two acceptances.
        await owner.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES"
            " (gen_random_uuid(), $1, 'x', 'Extra')",
            unique_email("extra"),
        )
        await owner.execute(
            "INSERT INTO memberships (tenant_id, user_id, role)"
            " SELECT $1::uuid, id, 'SALES' FROM users WHERE name = 'Extra'"
            " AND id NOT IN (SELECT user_id FROM memberships)",
            boss.tenant_id,
        )
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/auth/signup",
                    json={
                        "email": email,
                        "password": "long enough password",
                        "name": "Racer",
                        "inviteToken": link.rsplit("/", 1)[1],
                    },
                )
                for email, link in links
            )
        )
        assert sorted(r.status_code for r in responses) == [201, 402], [r.text for r in responses]
        members = await owner.fetchval(
            "SELECT count(*) FROM memberships WHERE tenant_id = $1::uuid", boss.tenant_id
        )
        assert members == 3
