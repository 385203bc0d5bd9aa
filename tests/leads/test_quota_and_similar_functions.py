"""`leedz_quota_leads()` and `leedz_similar_name_lead_ids()` (migration 20261201_1850): what they
answer and to whom. Both run as their owner and trust `app.current_tenant_id` as the row-level
security policies do; the quota's count sees every lead of the tenant whatever the SALES rule
hides, the similar names only what the transaction may see.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import create_lead
from tests.leads.test_search_index import as_app
from tests.support.databases import APP_ROLE

QUOTA = "public.leedz_quota_leads(boolean)"
SIMILAR = "public.leedz_similar_name_lead_ids(text, real, integer)"
OTHER_ROLES = ("public", f"{APP_ROLE}_reaper", f"{APP_ROLE}_purger")


@pytest.fixture
async def team(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> tuple[Account, Account, Account]:
    """A tenant (on PRO) whose SALES member sees only their own and unassigned leads, with leads
    of the boss, of the member, unassigned, one in the trash and one merged into another; and
    another tenant with leads of the same names."""
    boss = await signup(client, tenant_name="Quota")
    await on_plan(owner, boss, "PRO")
    sales = await member(client, boss, "SALES")
    await create_lead(client, boss, name="Al Amal Trading", city="Riyadh", ownerId=boss.user_id)
    await create_lead(client, boss, name="Al Amal Tradings", city="Riyadh")
    await create_lead(client, boss, name="Al Amal Tradin", city="Riyadh", ownerId=sales.user_id)
    trashed = await create_lead(client, boss, name="Al Amal Trade", ownerId=boss.user_id)
    await client.delete(f"/v1/leads/{trashed['id']}", headers=boss.headers)
    survivor = await create_lead(client, boss, name="Noor")
    merged = await create_lead(client, boss, name="Al Amal Tradingz")
    await owner.execute(
        "UPDATE leads SET merged_into_id = $1::uuid WHERE id = $2::uuid",
        survivor["id"],
        merged["id"],
    )
    response = await client.patch(
        "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
        headers=boss.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    stranger = await signup(client, tenant_name="Elsewhere")
    await create_lead(client, stranger, name="Al Amal Trading", city="Riyadh")
    return boss, sales, stranger


async def quota(conn: asyncpg.Connection, serialize: bool = False) -> list[tuple[Any, ...]]:
    rows = await conn.fetch("SELECT * FROM leedz_quota_leads($1)", serialize)
    return [tuple(r) for r in rows]


async def similar(conn: asyncpg.Connection, name: str, threshold: float = 0.5) -> set[Any]:
    rows = await conn.fetch(
        "SELECT lead_id FROM leedz_similar_name_lead_ids($1, $2, 100)", name, threshold
    )
    return {r["lead_id"] for r in rows}


async def visible(conn: asyncpg.Connection, name: str, threshold: float = 0.5) -> set[Any]:
    """What the request role may read of `leads` under RLS, the slow way."""
    rows = await conn.fetch(
        "SELECT id FROM leads WHERE similarity(name_sort, $1) >= $2", name, threshold
    )
    return {r["id"] for r in rows}


class TestQuotaCount:
    async def test_a_sales_member_is_counted_every_lead_of_the_tenant(
        self, owner: asyncpg.Connection, team: tuple[Account, Account, Account]
    ) -> None:
        boss, sales, _ = team
        # Six rows: five leads live or in the trash, one merged into another (not counted).
        async with as_app(owner, boss.tenant_id, sales.user_id) as conn:
            seen = "SELECT count(*) FROM leads WHERE merged_into_id IS NULL"
            assert await conn.fetchval(seen) == 3  # their own and the unassigned ones
            assert await quota(conn) == [(uuid.UUID(boss.tenant_id), 5)]
            assert await quota(conn, serialize=True) == [(uuid.UUID(boss.tenant_id), 5)]
            # And the transaction still sees only what it saw.
            assert await conn.fetchval(seen) == 3
            assert await conn.fetchval("SELECT current_setting('app.current_user_id')") == (
                sales.user_id
            )
        async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
            assert await quota(conn) == [(uuid.UUID(boss.tenant_id), 5)]

    async def test_it_keeps_to_the_transactions_tenant(
        self, owner: asyncpg.Connection, team: tuple[Account, Account, Account]
    ) -> None:
        _, _, stranger = team
        async with as_app(owner, stranger.tenant_id, stranger.user_id) as conn:
            assert await quota(conn) == [(uuid.UUID(stranger.tenant_id), 1)]
        for tenant in (None, ""):
            async with as_app(owner, tenant) as conn:
                assert await quota(conn) == []
        nobody = uuid.uuid4()
        async with as_app(owner, str(nobody)) as conn:
            assert await quota(conn) == [(nobody, 0)]

    @pytest.mark.parametrize(("serialize", "locks"), [(True, 1), (False, 0)])
    async def test_serialize_takes_the_tenants_creation_lock(
        self,
        owner: asyncpg.Connection,
        team: tuple[Account, Account, Account],
        serialize: bool,
        locks: int,
    ) -> None:
        boss, _, _ = team
        async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
            await quota(conn, serialize=serialize)
            held = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND granted"
            )
            assert held == locks


class TestSimilarNames:
    async def test_it_answers_what_rls_shows_for_every_setting(
        self, owner: asyncpg.Connection, team: tuple[Account, Account, Account]
    ) -> None:
        boss, sales, stranger = team
        settings = [
            (boss.tenant_id, boss.user_id),
            (boss.tenant_id, sales.user_id),  # own and unassigned leads only
            (boss.tenant_id, None),
            (stranger.tenant_id, stranger.user_id),
            (str(uuid.uuid4()), boss.user_id),
            (None, boss.user_id),
        ]
        answered = 0
        for tenant, user in settings:
            async with as_app(owner, tenant, user) as conn:
                for name, threshold in (("al amal trading", 0.5), ("al amal", 0.3), ("noor", 0.5)):
                    expected = await visible(conn, name, threshold)
                    assert await similar(conn, name, threshold) == expected, (tenant, user, name)
                    answered += len(expected)
        assert answered > 10
        async with as_app(owner, boss.tenant_id, sales.user_id) as conn:
            names = await conn.fetch(
                "SELECT name FROM leads WHERE id = ANY($1::uuid[])",
                list(await similar(conn, "al amal trading")),
            )
        # Not the boss's: their own, and unassigned ones (the merged one too: the duplicates
        # query keeps live leads only, from `leads`).
        assert {r["name"] for r in names} == {
            "Al Amal Tradings",
            "Al Amal Tradin",
            "Al Amal Tradingz",
        }

    async def test_the_name_follows_the_lead(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, team: tuple[Account, ...]
    ) -> None:
        boss = team[0]
        lead = await create_lead(client, boss, name="Zahrat Al Khaleej")
        async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
            assert uuid.UUID(lead["id"]) in await similar(conn, "zahrat al khaleej")
        response = await client.patch(
            f"/v1/leads/{lead['id']}", json={"name": "Qasr Al Hamra"}, headers=boss.headers
        )
        assert response.status_code == 200, response.text
        async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
            assert uuid.UUID(lead["id"]) not in await similar(conn, "zahrat al khaleej")
            assert uuid.UUID(lead["id"]) in await similar(conn, "qasr al hamra")


async def test_only_the_request_role_may_call_them(owner: asyncpg.Connection) -> None:
    for function in (QUOTA, SIMILAR):
        assert await owner.fetchval(
            "SELECT has_function_privilege($1, $2, 'EXECUTE')", APP_ROLE, function
        )
        for role in OTHER_ROLES:
            assert not await owner.fetchval(
                "SELECT has_function_privilege($1, $2, 'EXECUTE')", role, function
            ), (role, function)


async def test_they_run_as_their_owner_on_a_pinned_search_path(owner: asyncpg.Connection) -> None:
    rows = await owner.fetch(
        "SELECT proname, prosecdef, proconfig FROM pg_proc"
        " WHERE proname IN ('leedz_quota_leads', 'leedz_similar_name_lead_ids') ORDER BY proname"
    )
    assert [r["proname"] for r in rows] == ["leedz_quota_leads", "leedz_similar_name_lead_ids"]
    for row in rows:
        assert row["prosecdef"], row["proname"]
        assert "search_path=pg_catalog, public, pg_temp" in row["proconfig"], row["proname"]


@pytest.mark.parametrize("role", [f"{APP_ROLE}_reaper", f"{APP_ROLE}_purger"])
async def test_the_narrow_roles_cannot_count(owner: asyncpg.Connection, role: str) -> None:
    tx = owner.transaction()
    await tx.start()
    try:
        await owner.execute(
            "SELECT set_config('role', $1, true), set_config('app.current_tenant_id', $2, true)",
            role,
            str(uuid.uuid4()),
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await owner.fetch("SELECT * FROM leedz_quota_leads(false)")
    finally:
        await tx.rollback()
