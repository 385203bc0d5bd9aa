"""The trash purge: leads trashed longer ago than the retention go for good, with everything
hanging off them, in every tenant; the purger role never sees a live lead."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from leedz.app import create_app
from leedz.config import Settings
from leedz.kit.db import Database
from leedz.trash.purge import PurgeResult, TrashPurger
from tests.factories.rows import TenantRows, create_tenant_with_rows
from tests.support.databases import APP_ROLE
from tests.support.live import clean_env, leedz

PURGER_ROLE = f"{APP_ROLE}_purger"
CHILDREN = ("lead_keys", "lead_activities", "list_members", "lead_evidence")


@pytest.fixture
async def database(settings: Settings, database_url: str) -> AsyncIterator[Database]:
    db = Database(settings, database_url)
    await db.start()
    try:
        yield db
    finally:
        await db.dispose()


async def purge(database: Database, settings: Settings, *, days: int = 30) -> PurgeResult:
    purger = TrashPurger(database, role=settings.db_purger_role, retention_days=days, interval=3600)
    return await purger.purge_once()


async def trash(owner: asyncpg.Connection, lead_id: uuid.UUID, age: str) -> None:
    """Put the lead in the trash `age` ago (e.g. '31 days'), as the owner."""
    await owner.execute(
        "UPDATE leads SET deleted_at = now() - $2::text::interval WHERE id = $1", lead_id, age
    )


async def add_lead(
    owner: asyncpg.Connection, rows: TenantRows, *, merged_into: uuid.UUID | None = None
) -> uuid.UUID:
    lead_id: uuid.UUID = await owner.fetchval(
        "INSERT INTO leads (tenant_id, name, source_type, merged_into_id)"
        " VALUES ($1, 'Another', 'MANUAL', $2) RETURNING id",
        rows.tenant_id,
        merged_into,
    )
    return lead_id


async def exists(owner: asyncpg.Connection, lead_id: uuid.UUID) -> bool:
    return bool(await owner.fetchval("SELECT count(*) FROM leads WHERE id = $1", lead_id))


async def children(owner: asyncpg.Connection, lead_id: uuid.UUID) -> dict[str, int]:
    counts = {
        table: await owner.fetchval(f"SELECT count(*) FROM {table} WHERE lead_id = $1", lead_id)
        for table in CHILDREN
    }
    counts["lead_merges"] = await owner.fetchval(
        "SELECT count(*) FROM lead_merges WHERE survivor_id = $1", lead_id
    )
    return counts


@pytest.fixture
async def tenant(owner: asyncpg.Connection) -> TenantRows:
    """A tenant whose one lead has keys, a timeline entry, a list, evidence and a merge."""
    return await create_tenant_with_rows(owner, "trash")


class TestPurge:
    async def test_a_lead_trashed_31_days_ago_goes_with_everything_hanging_off_it(
        self, owner: asyncpg.Connection, database: Database, settings: Settings, tenant: TenantRows
    ) -> None:
        lead = tenant.ids["leads"]
        assert set((await children(owner, lead)).values()) == {1}
        # Owned: the purge acts for no member, the SALES visibility rule does not stop it.
        await owner.execute("UPDATE leads SET owner_id = $2 WHERE id = $1", lead, tenant.user_id)
        await trash(owner, lead, "31 days")

        result = await purge(database, settings)

        assert result.leads == 1
        assert result.tenants == 1
        assert not result.skipped
        assert not await exists(owner, lead)
        assert await children(owner, lead) == dict.fromkeys([*CHILDREN, "lead_merges"], 0)
        # What the lead pointed at stays: its list, its evidence.
        for table in ("lists", "evidence"):
            assert await owner.fetchval(
                f"SELECT count(*) FROM {table} WHERE id = $1", tenant.ids[table]
            )
        audit = await owner.fetchrow(
            "SELECT user_id, entity_type, details FROM audit_logs"
            " WHERE tenant_id = $1 AND event_type = 'lead.trash_purged'",
            tenant.tenant_id,
        )
        assert audit is not None
        assert audit["user_id"] is None
        assert '"count": 1' in audit["details"]
        assert str(lead) in audit["details"]

    async def test_younger_trash_and_live_leads_stay(
        self, owner: asyncpg.Connection, database: Database, settings: Settings, tenant: TenantRows
    ) -> None:
        lead = tenant.ids["leads"]
        await trash(owner, lead, "29 days")
        live = await add_lead(owner, tenant)
        await owner.execute(
            "UPDATE leads SET created_at = now() - interval '400 days' WHERE id = $1", live
        )

        result = await purge(database, settings)

        assert result.leads == 0
        assert await exists(owner, lead)
        assert await exists(owner, live)
        assert set((await children(owner, lead)).values()) == {1}

    async def test_every_tenants_old_trash_goes_in_one_pass(
        self, owner: asyncpg.Connection, database: Database, settings: Settings
    ) -> None:
        a, b, c = [await create_tenant_with_rows(owner, label) for label in "abc"]
        await trash(owner, a.ids["leads"], "31 days")
        await trash(owner, b.ids["leads"], "90 days")
        await trash(owner, c.ids["leads"], "10 days")

        result = await purge(database, settings)

        assert (result.leads, result.tenants) == (2, 2)
        assert not await exists(owner, a.ids["leads"])
        assert not await exists(owner, b.ids["leads"])
        assert await exists(owner, c.ids["leads"])

    async def test_more_than_a_batch(
        self, owner: asyncpg.Connection, database: Database, settings: Settings, tenant: TenantRows
    ) -> None:
        await owner.execute(
            "INSERT INTO leads (tenant_id, name, source_type, deleted_at)"
            " SELECT $1, 'Old ' || i, 'MANUAL', now() - interval '40 days'"
            " FROM generate_series(1, 1203) AS i",
            tenant.tenant_id,
        )
        result = await purge(database, settings)
        assert result.leads == 1203
        assert (
            await owner.fetchval(
                "SELECT count(*) FROM leads WHERE tenant_id = $1", tenant.tenant_id
            )
            == 1
        )

    async def test_the_retention_is_a_setting_but_never_less_than_a_day(
        self, owner: asyncpg.Connection, database: Database, settings: Settings, tenant: TenantRows
    ) -> None:
        ten_days, hours = tenant.ids["leads"], await add_lead(owner, tenant)
        await trash(owner, ten_days, "10 days")
        await trash(owner, hours, "5 hours")

        assert (await purge(database, settings, days=7)).leads == 1
        assert not await exists(owner, ten_days)
        assert (await purge(database, settings, days=1)).leads == 0
        assert await exists(owner, hours)
        with pytest.raises(ValueError, match="at least one day"):
            await purge(database, settings, days=0)
        assert Settings.model_fields["trash_retention_days"].default == 30

    async def test_a_second_purge_at_the_same_time_stands_aside(
        self, owner: asyncpg.Connection, database: Database, settings: Settings, tenant: TenantRows
    ) -> None:
        await trash(owner, tenant.ids["leads"], "31 days")
        tx = owner.transaction()
        await tx.start()
        try:  # another instance's pass, holding the purge lock
            assert await owner.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext('leedz.trash_purge'))"
            )
            result = await purge(database, settings)
        finally:
            await tx.rollback()
        assert result.skipped
        assert result.leads == 0
        assert (await purge(database, settings)).leads == 1


class TestMergesLeftBehind:
    async def test_a_merge_record_whose_merged_lead_is_purged_is_dropped(
        self, owner: asyncpg.Connection, database: Database, settings: Settings, tenant: TenantRows
    ) -> None:
        survivor = tenant.ids["leads"]
        merged, kept = await add_lead(owner, tenant), await add_lead(owner, tenant)
        broken = await owner.fetchval(
            "INSERT INTO lead_merges (tenant_id, survivor_id, merged_ids, snapshot)"
            " VALUES ($1, $2, $3, '{}') RETURNING id",
            tenant.tenant_id,
            survivor,
            [merged, kept],
        )
        whole = await owner.fetchval(
            "INSERT INTO lead_merges (tenant_id, survivor_id, merged_ids, snapshot)"
            " VALUES ($1, $2, $3, '{}') RETURNING id",
            tenant.tenant_id,
            survivor,
            [kept],
        )
        await trash(owner, merged, "45 days")

        result = await purge(database, settings)

        assert result.merges == 1
        merges = {r["id"] for r in await owner.fetch("SELECT id FROM lead_merges")}
        assert broken not in merges
        assert {whole, tenant.ids["lead_merges"]} <= merges
        assert await exists(owner, survivor)
        assert await exists(owner, kept)

    async def test_leads_folded_into_a_purged_lead_go_with_it(
        self, owner: asyncpg.Connection, database: Database, settings: Settings, tenant: TenantRows
    ) -> None:
        survivor = tenant.ids["leads"]
        folded = await add_lead(owner, tenant, merged_into=survivor)
        folded_twice = await add_lead(owner, tenant, merged_into=folded)
        elsewhere = await add_lead(owner, tenant)
        await trash(owner, survivor, "31 days")

        result = await purge(database, settings)

        assert result.leads == 3
        for lead in (survivor, folded, folded_twice):
            assert not await exists(owner, lead)
        assert await exists(owner, elsewhere)


class TestPurgerRole:
    """Raw SQL as the purger role: it sees and deletes old trash, and nothing else."""

    @pytest.fixture
    async def leads(self, owner: asyncpg.Connection, tenant: TenantRows) -> dict[str, uuid.UUID]:
        other = await create_tenant_with_rows(owner, "other")
        found = {
            "old": tenant.ids["leads"],
            "other_tenant_old": other.ids["leads"],
            "live": await add_lead(owner, tenant),
            "hours": await add_lead(owner, tenant),
            "young": await add_lead(owner, tenant),
        }
        await trash(owner, found["old"], "31 days")
        await trash(owner, found["other_tenant_old"], "31 days")
        await trash(owner, found["hours"], "5 hours")
        await trash(owner, found["young"], "29 days")
        return found

    async def as_purger(
        self, owner: asyncpg.Connection, sql: str, *args: object, tenant: uuid.UUID | None = None
    ) -> list[asyncpg.Record]:
        tx = owner.transaction()
        await tx.start()
        try:
            await owner.execute(f"SET LOCAL ROLE {PURGER_ROLE}")
            if tenant is not None:
                await owner.execute(
                    "SELECT set_config('app.current_tenant_id', $1, true)", str(tenant)
                )
            return await owner.fetch(sql, *args)
        finally:
            await tx.rollback()

    async def test_it_sees_only_leads_trashed_more_than_a_day_ago(
        self, owner: asyncpg.Connection, tenant: TenantRows, leads: dict[str, uuid.UUID]
    ) -> None:
        seen = {r["id"] for r in await self.as_purger(owner, "SELECT id FROM leads")}
        assert seen == {leads["old"], leads["other_tenant_old"], leads["young"]}
        # The retention is the task's (29 days is younger than 30); the day is the policy's.

    async def test_a_tenant_set_opens_no_live_lead(
        self, owner: asyncpg.Connection, tenant: TenantRows, leads: dict[str, uuid.UUID]
    ) -> None:
        # The same rows as without a tenant: its own policy's, nothing more of that tenant.
        old = {leads["old"], leads["other_tenant_old"], leads["young"]}
        rows = await self.as_purger(owner, "SELECT id FROM leads", tenant=tenant.tenant_id)
        assert {r["id"] for r in rows} == old
        deleted = await self.as_purger(
            owner, "DELETE FROM leads RETURNING id", tenant=tenant.tenant_id
        )
        assert {r["id"] for r in deleted} == old

    async def test_deleting_everything_deletes_only_old_trash(
        self, owner: asyncpg.Connection, leads: dict[str, uuid.UUID]
    ) -> None:
        deleted = await self.as_purger(owner, "DELETE FROM leads WHERE true RETURNING id")
        assert {r["id"] for r in deleted} == {
            leads["old"],
            leads["other_tenant_old"],
            leads["young"],
        }
        assert await exists(owner, leads["live"])
        assert await exists(owner, leads["hours"])

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE leads SET deleted_at = NULL",
            "INSERT INTO leads (tenant_id, name, source_type)"
            " SELECT tenant_id, 'x', 'MANUAL' FROM leads",
            "SELECT * FROM lead_keys",
            "SELECT * FROM lead_activities",
            "DELETE FROM list_members",
            "SELECT * FROM memberships",
            "SELECT * FROM tenants",
            "SELECT * FROM users",
            "SET LOCAL row_security = off; SELECT * FROM leads",
            "ALTER TABLE leads NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY trash_purge_only ON leads",
        ],
    )
    async def test_it_may_do_nothing_else(
        self, owner: asyncpg.Connection, leads: dict[str, uuid.UUID], statement: str
    ) -> None:
        tx = owner.transaction()
        await tx.start()
        try:
            await owner.execute(f"SET LOCAL ROLE {PURGER_ROLE}")
            with pytest.raises(asyncpg.PostgresError):
                await owner.execute(statement)
        finally:
            await tx.rollback()

    async def test_it_is_weak_and_holds_only_leads(self, owner: asyncpg.Connection) -> None:
        role = await owner.fetchrow(
            "SELECT rolsuper, rolbypassrls, rolcanlogin, rolinherit FROM pg_roles"
            " WHERE rolname = $1",
            PURGER_ROLE,
        )
        assert role is not None
        assert not (role["rolsuper"])
        assert not (role["rolbypassrls"])
        assert not (role["rolcanlogin"])
        grants = await owner.fetch(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants"
            " WHERE grantee = $1 ORDER BY 1, 2",
            PURGER_ROLE,
        )
        assert [(g["table_name"], g["privilege_type"]) for g in grants] == [
            # Expired files too (migration 20261201_1820, files/purge.py).
            ("files", "DELETE"),
            ("files", "SELECT"),
            ("leads", "DELETE"),
            ("leads", "SELECT"),
        ]


async def test_the_cli_purges_too(
    owner: asyncpg.Connection, database_url: str, tmp_path: Path, tenant: TenantRows
) -> None:
    """`leedz leads purge-trash`, for operators: the setting's retention, or the one given."""
    await trash(owner, tenant.ids["leads"], "8 days")
    env = {**clean_env(tmp_path), "DATABASE_URL": database_url}

    async def cli(*args: str) -> str:
        return await leedz("leads", "purge-trash", *args, env=env)

    assert "purged 0 leads" in await cli()
    assert await exists(owner, tenant.ids["leads"])
    assert "purged 1 leads in 1 workspaces" in await cli("--retention-days", "7")
    assert not await exists(owner, tenant.ids["leads"])


async def test_the_server_purges_periodically(
    owner: asyncpg.Connection, settings: Settings, database_url: str, tenant: TenantRows
) -> None:
    await trash(owner, tenant.ids["leads"], "31 days")
    quick = settings.model_copy(update={"trash_purge_interval_seconds": 0.2})
    app = create_app(quick, database_url=database_url)
    purged = "SELECT count(*) FROM audit_logs WHERE event_type = 'lead.trash_purged'"
    async with app.router.lifespan_context(app), asyncio.timeout(10):
        while not await owner.fetchval(purged):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.05)
    assert not await exists(owner, tenant.ids["leads"])
