"""Migrations 20261201_1700 and 20261201_1850 run by an owner that is NOT a superuser, as on a
managed database (Neon, Render, Railway): the embedded server and CI's PostgreSQL 15 run the
suite's migrations as a superuser, who bypasses row-level security everywhere and would hide
two mistakes — a backfill that reads no lead (FORCE RLS applies to a table's owner) and a
function whose owner cannot read its table.

Here a NOSUPERUSER, NOBYPASSRLS role owns a fresh database and migrates it: the leads written
before the migration are all in `lead_search` after it (their names too), the functions answer
the request role (search, similar names, the quota's count), the triggers keep the table in
step, and downgrading removes all of it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from leedz.kit import migrations
from leedz.kit.urls import with_database
from tests.support import databases
from tests.support.databases import APP_ROLE

BEFORE = "20261201_1650"
ROLES = (APP_ROLE, f"{APP_ROLE}_reaper", f"{APP_ROLE}_purger", f"{APP_ROLE}_worker")


@dataclass
class OwnedDatabase:
    url: str  # as the owner that is not a superuser
    admin: str  # as the suite's superuser, to look at what the owner cannot


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(databases.asyncpg_dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def owned(admin_url: str, database_url: str) -> Iterator[OwnedDatabase]:
    """A database owned by a new NOSUPERUSER role. (`database_url`: the suite's migrated
    database, whose migration created the cluster-wide request roles this one will use.)"""
    role = f"leedz_owner_{uuid.uuid4().hex[:10]}"
    name = f"leedz_nosuper_{uuid.uuid4().hex[:10]}"
    asyncio.run(
        _admin(
            admin_url,
            f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB CREATEROLE",
            # What a managed database's owner holds over the roles it created itself.
            f"GRANT {', '.join(ROLES)} TO {role} WITH ADMIN OPTION",
            f'CREATE DATABASE "{name}" OWNER {role}',
        )
    )
    admin = with_database(admin_url, name)
    url = make_url(admin).set(username=role, password=None).render_as_string(hide_password=False)
    try:
        yield OwnedDatabase(url=url, admin=admin)
    finally:
        asyncio.run(
            _admin(
                admin_url,
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f"REVOKE {', '.join(ROLES)} FROM {role} CASCADE",
                f"DROP ROLE IF EXISTS {role}",
            )
        )


async def _as_app(
    conn: asyncpg.Connection, tenant: uuid.UUID | None, sql: str, *args: object
) -> list[asyncpg.Record]:
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('role', $1, true), set_config('app.current_tenant_id', $2, true)",
            APP_ROLE,
            str(tenant) if tenant else "",
        )
        return await conn.fetch(sql, *args)


async def _tenant_with_leads(
    conn: asyncpg.Connection, label: str, texts: list[str]
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A tenant and its leads, written as the request role (the owner cannot: forced RLS)."""
    tenant = uuid.uuid4()
    await _as_app(
        conn,
        tenant,
        "INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)",
        tenant,
        label,
        f"{label}-{tenant.hex[:8]}",
    )
    rows = await _as_app(
        conn,
        tenant,
        "INSERT INTO leads (tenant_id, name, source_type, search_text, name_sort)"
        " SELECT $1, t, 'MANUAL', t, t FROM unnest($2::text[]) AS t RETURNING id",
        tenant,
        texts,
    )
    return tenant, [r["id"] for r in rows]


async def _search(conn: asyncpg.Connection, tenant: uuid.UUID | None, pattern: str) -> set[object]:
    rows = await _as_app(
        conn, tenant, "SELECT lead_id FROM leedz_search_lead_ids($1::text[], 100)", [pattern]
    )
    return {r["lead_id"] for r in rows}


async def _check_upgraded(owned: OwnedDatabase, loaded: Loaded) -> None:
    conn = await asyncpg.connect(databases.asyncpg_dsn(owned.url))
    admin = await asyncpg.connect(databases.asyncpg_dsn(owned.admin))
    try:
        assert not await conn.fetchval("SELECT rolsuper OR rolbypassrls FROM pg_roles"
                                       " WHERE rolname = current_user")  # fmt: skip
        left, left_ids = loaded.left
        right, right_ids = loaded.right
        # The backfill read every lead, in spite of FORCE RLS on leads for its owner.
        copied = await admin.fetch("SELECT tenant_id, lead_id, search_text FROM lead_search")
        assert {(r["tenant_id"], r["lead_id"]) for r in copied} == {
            *((left, i) for i in left_ids),
            *((right, i) for i in right_ids),
        }
        assert await admin.fetchval("SELECT relforcerowsecurity FROM pg_class"
                                    " WHERE oid = 'public.leads'::regclass")  # fmt: skip
        # 20261201_1850 as this owner: the names copied in spite of FORCE RLS, the similar
        # names read from lead_search, the quota counted on leads (FORCE binds the owner to
        # its tenant, not to the SALES rule).
        stale = await admin.fetchval(
            "SELECT count(*) FROM lead_search s JOIN leads l"
            " ON l.tenant_id = s.tenant_id AND l.id = s.lead_id"
            " WHERE s.name_sort IS DISTINCT FROM l.name_sort OR s.name_sort = ''"
        )
        assert stale == 0
        similar = await _as_app(
            conn, left, "SELECT lead_id FROM leedz_similar_name_lead_ids($1, 0.9, 100)",
            "مطعم الامل",
        )  # fmt: skip
        assert {r["lead_id"] for r in similar} == {left_ids[0]}
        counted = await _as_app(conn, left, "SELECT * FROM leedz_quota_leads(true)")
        assert [tuple(r) for r in counted] == [(left, 3)]
        # The function, owned by this owner, reads lead_search for the request role.
        assert await _search(conn, left, "%مطعم%") == set(left_ids[:2])
        assert await _search(conn, right, "%مطعم%") == {right_ids[0]}
        assert await _search(conn, None, "%مطعم%") == set()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await _as_app(conn, left, "SELECT count(*) FROM lead_search")
        # The triggers, run as this owner: a new lead, a new text, a lead deleted.
        _, [new] = await _tenant_with_leads(conn, "late", ["مطعم جديد"])
        late = await admin.fetchval("SELECT tenant_id FROM leads WHERE id = $1", new)
        assert await _search(conn, late, "%جديد%") == {new}
        await _as_app(
            conn, left, "UPDATE leads SET search_text = 'مخبز الامل' WHERE id = $1", left_ids[0]
        )
        assert await _search(conn, left, "%مطعم%") == {left_ids[1]}
        assert await _search(conn, left, "%مخبز%") == {left_ids[0]}
        await _as_app(conn, left, "DELETE FROM leads WHERE id = $1", left_ids[1])
        assert await _search(conn, left, "%مطعم%") == set()
        assert not await admin.fetchval(
            "SELECT count(*) FROM lead_search WHERE lead_id = $1", left_ids[1]
        )
    finally:
        await conn.close()
        await admin.close()


@dataclass
class Loaded:
    """Two tenants and their leads, written before the migration."""

    left: tuple[uuid.UUID, list[uuid.UUID]]
    right: tuple[uuid.UUID, list[uuid.UUID]]


async def _load(owned: OwnedDatabase) -> Loaded:
    conn = await asyncpg.connect(databases.asyncpg_dsn(owned.url))
    try:
        return Loaded(
            left=await _tenant_with_leads(conn, "left", ["مطعم الامل", "مطعم النور", "cafe"]),
            right=await _tenant_with_leads(conn, "right", ["مطعم الامل"]),
        )
    finally:
        await conn.close()


async def _schema(owned: OwnedDatabase) -> dict[str, object]:
    admin = await asyncpg.connect(databases.asyncpg_dsn(owned.admin))
    try:
        return {
            "table": await admin.fetchval("SELECT to_regclass('public.lead_search')::text"),
            "functions": await admin.fetchval(
                "SELECT count(*) FROM pg_proc WHERE proname IN ('leedz_search_lead_ids',"
                " 'leedz_lead_search_sync', 'leedz_similar_name_lead_ids', 'leedz_quota_leads')"
            ),
            "triggers": await admin.fetchval(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'lead_search_%'"
            ),
            "leads index": await admin.fetchval(
                "SELECT to_regclass('public.ix_leads_search_text_trgm')::text"
            ),
        }
    finally:
        await admin.close()


def test_an_owner_that_is_not_a_superuser_migrates_backfills_and_searches(
    owned: OwnedDatabase,
) -> None:
    migrations.upgrade(owned.url, app_role=APP_ROLE, revision=BEFORE)
    loaded = asyncio.run(_load(owned))
    migrations.upgrade(owned.url, app_role=APP_ROLE)
    assert asyncio.run(_schema(owned)) == {
        "table": "lead_search",
        "functions": 4,
        "triggers": 2,
        "leads index": None,
    }
    asyncio.run(_check_upgraded(owned, loaded))

    migrations.downgrade(owned.url, app_role=APP_ROLE, revision=BEFORE)
    assert asyncio.run(_schema(owned)) == {
        "table": None,
        "functions": 0,
        "triggers": 0,
        "leads index": "ix_leads_search_text_trgm",
    }
    migrations.upgrade(owned.url, app_role=APP_ROLE)  # and back, from what downgrade left
    assert asyncio.run(_schema(owned))["table"] == "lead_search"
