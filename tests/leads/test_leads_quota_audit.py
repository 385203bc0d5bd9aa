"""The plan's lead quota (and the usage it reports), and the audit rows lead changes leave."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import audit_rows, create_lead, lead_count

FREE_MAX_LEADS = 100


async def seed_leads(
    owner: asyncpg.Connection, account: Account, count: int, *, owner_id: str | None = None
) -> None:
    """`count` leads written straight into the table (faster than the API; no keys)."""
    await owner.execute(
        "INSERT INTO leads (tenant_id, name, source_type, owner_id)"
        " SELECT $1::uuid, 'Seeded ' || g, 'MANUAL', $3::uuid FROM generate_series(1, $2) g",
        account.tenant_id,
        count,
        owner_id,
    )


async def used_leads(client: httpx.AsyncClient, account: Account) -> int:
    usage = await client.get("/v1/tenants/current/usage", headers=account.headers)
    assert usage.status_code == 200, usage.text
    return int(usage.json()["used"]["leads"])


def over_quota(response: httpx.Response) -> None:
    assert response.status_code == 402, response.text
    problem = response.json()
    assert problem["code"] == "quota_exceeded"
    assert problem["quota"] == "leads"
    assert problem["limit"] == FREE_MAX_LEADS


@pytest.fixture
async def boss(client: httpx.AsyncClient) -> Account:
    return await signup(client)  # on FREE


class TestQuota:
    async def test_the_101st_lead_is_402(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        for i in range(FREE_MAX_LEADS):
            await create_lead(client, boss, name=f"Lead {i}", phones=[f"05012{i:05d}"])
        assert await used_leads(client, boss) == FREE_MAX_LEADS
        response = await client.post(
            "/v1/leads", json={"name": "One too many", "phones": ["0559999999"]},
            headers=boss.headers,
        )  # fmt: skip
        over_quota(response)
        assert response.json()["used"] == FREE_MAX_LEADS
        assert await lead_count(owner, boss) == FREE_MAX_LEADS
        free = await owner.fetchval("SELECT count(*) FROM lead_keys WHERE value = '+966559999999'")
        assert free == 0
        await on_plan(owner, boss, "STARTER")
        await create_lead(client, boss, name="After the upgrade")

    async def test_the_trash_counts_until_purged(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        await seed_leads(owner, boss, FREE_MAX_LEADS - 1)
        last = await create_lead(client, boss, name="Last")
        await client.delete(f"/v1/leads/{last['id']}", headers=boss.headers)
        over_quota(await client.post("/v1/leads", json={"name": "x"}, headers=boss.headers))
        assert await used_leads(client, boss) == FREE_MAX_LEADS
        # Purged (the periodic task deletes the row): room again.
        await owner.execute("DELETE FROM leads WHERE id = $1::uuid", last["id"])
        assert await used_leads(client, boss) == FREE_MAX_LEADS - 1
        await create_lead(client, boss, name="Room again")

    async def test_a_lead_merged_into_another_does_not_count(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        await seed_leads(owner, boss, FREE_MAX_LEADS - 2)
        survivor = await create_lead(client, boss, name="Survivor")
        folded = await create_lead(client, boss, name="Folded")
        over_quota(await client.post("/v1/leads", json={"name": "x"}, headers=boss.headers))
        await owner.execute(
            "UPDATE leads SET merged_into_id = $1::uuid WHERE id = $2::uuid",
            survivor["id"],
            folded["id"],
        )
        assert await used_leads(client, boss) == FREE_MAX_LEADS - 1
        await create_lead(client, boss, name="Fits")
        assert await lead_count(owner, boss) == FREE_MAX_LEADS + 1  # rows, merged one included

    async def test_usage_counts_what_the_quota_counts(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        live = await create_lead(client, boss, name="Live")
        trashed = await create_lead(client, boss, name="Trashed")
        merged = await create_lead(client, boss, name="Merged")
        await client.delete(f"/v1/leads/{trashed['id']}", headers=boss.headers)
        await owner.execute(
            "UPDATE leads SET merged_into_id = $1::uuid WHERE id = $2::uuid",
            live["id"],
            merged["id"],
        )
        assert await used_leads(client, boss) == 2
        other = await signup(client)
        await create_lead(client, other, name="Elsewhere")
        assert await used_leads(client, boss) == 2

    async def test_leads_hidden_from_a_sales_member_count_against_their_creates(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        await client.patch(
            "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
            headers=boss.headers,
        )  # fmt: skip
        await seed_leads(owner, boss, FREE_MAX_LEADS, owner_id=boss.user_id)
        response = await client.post("/v1/leads", json={"name": "x"}, headers=sales.headers)
        over_quota(response)
        assert await lead_count(owner, boss) == FREE_MAX_LEADS

    async def test_counting_does_not_widen_what_sales_see_afterwards(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        await client.patch(
            "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
            headers=boss.headers,
        )  # fmt: skip
        await create_lead(client, boss, name="Al Amal", city="Riyadh", ownerId=boss.user_id)
        # In the same transaction as the count: the look-alike query still runs as SALES.
        mine = await create_lead(client, sales, name="al amal", city="Riyadh")
        assert mine["possibleDuplicates"] == []

    async def test_racing_creates_at_the_limit_let_exactly_one_in(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        await seed_leads(owner, boss, FREE_MAX_LEADS - 1)
        responses = await asyncio.gather(
            *(
                client.post("/v1/leads", json={"name": f"Racer {i}"}, headers=boss.headers)
                for i in range(4)
            )
        )
        assert sorted(r.status_code for r in responses) == [201, 402, 402, 402]
        assert await lead_count(owner, boss) == FREE_MAX_LEADS


class TestAudit:
    async def test_creation_status_owner_deletion_and_restoration_are_audited(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        await on_plan(owner, boss, "PRO")
        manager = await member(client, boss, "MANAGER")
        lead = await create_lead(client, manager)
        path = f"/v1/leads/{lead['id']}"
        await client.patch(path, json={"status": "WON"}, headers=manager.headers)
        await client.patch(path, json={"ownerId": manager.user_id}, headers=manager.headers)
        await client.delete(path, headers=manager.headers)
        await client.post(f"{path}/restore", headers=manager.headers)
        rows = await audit_rows(client, boss, lead["id"])
        assert [r["eventType"] for r in reversed(rows)] == [
            "lead.created",
            "lead.status_changed",
            "lead.owner_changed",
            "lead.deleted",
            "lead.restored",
        ]
        for row in rows:
            assert row["entityType"] == "lead"
            assert row["userId"] == manager.user_id
        by_type = {r["eventType"]: r for r in rows}
        assert by_type["lead.created"]["details"] == {"source": "MANUAL"}
        assert by_type["lead.status_changed"]["details"] == {"from": "NEW", "to": "WON"}
        assert by_type["lead.owner_changed"]["details"] == {"from": None, "to": manager.user_id}

    async def test_a_plain_field_edit_or_a_note_is_timeline_only(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        path = f"/v1/leads/{lead['id']}"
        await client.patch(
            path, json={"name": "Renamed", "tags": ["a"], "doNotContact": True},
            headers=boss.headers,
        )  # fmt: skip
        await client.post(f"{path}/notes", json={"body": "hi"}, headers=boss.headers)
        rows = await audit_rows(client, boss, lead["id"])
        assert [r["eventType"] for r in rows] == ["lead.created"]

    async def test_a_refused_write_leaves_no_audit_row(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        first = await create_lead(client, boss, phones=["0501234567"])
        dup = await client.post(
            "/v1/leads", json={"name": "Dup", "phones": ["0501234567"]}, headers=boss.headers
        )
        assert dup.status_code == 409
        response = await client.get(
            "/v1/audit-logs", params={"eventType": "lead.created"}, headers=boss.headers
        )
        assert [r["entityId"] for r in response.json()["items"]] == [first["id"]]
