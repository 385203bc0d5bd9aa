"""The cross-tenant matrix: raw SQL as the request role, bypassing every line of app code."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from leedz.config import Settings
from leedz.kit.db import Database
from tests.factories.rows import TenantRows, create_tenant_with_rows, insert_for_tenant
from tests.support.databases import APP_ROLE

TENANT_TABLES = (
    "memberships",
    "invites",
    "refresh_tokens",
    "agents",
    "jobs",
    "evidence",
    "audit_logs",
    "leads",
    "lists",
    "lead_keys",
    "lead_activities",
    "list_members",
    "lead_merges",
    "lead_evidence",
    "usage_counters",
    "files",
    "import_rows",
)
APPEND_ONLY = {"audit_logs"}
# Tenant tables the request role may not touch at all, with or without a tenant: it reads them
# only through SECURITY DEFINER functions that scope themselves (tests/kit/test_rls_catalog.py).
NO_ACCESS = ("lead_search",)


@asynccontextmanager
async def as_app_role(
    conn: asyncpg.Connection, tenant_id: uuid.UUID | None
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction as the request role with `tenant_id` set (or none), rolled back after."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
        if tenant_id is not None:
            await conn.execute(
                "SELECT set_config('app.current_tenant_id', $1, true)", str(tenant_id)
            )
        yield conn
    finally:
        await tx.rollback()


@pytest.fixture
async def two_tenants(owner: asyncpg.Connection) -> tuple[TenantRows, TenantRows]:
    return (
        await create_tenant_with_rows(owner, "a"),
        await create_tenant_with_rows(owner, "b"),
    )


async def test_matrix_covers_every_tenant_table(owner: asyncpg.Connection) -> None:
    tables = await owner.fetch(
        "SELECT table_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'tenant_id'"
    )
    assert {r["table_name"] for r in tables} == {*TENANT_TABLES, *NO_ACCESS}, (
        "a tenant table was added: add it to TENANT_TABLES and to tests/factories/rows.py"
    )


NO_ACCESS_STATEMENTS = (
    "SELECT count(*) FROM {table}",
    "SELECT 1 FROM {table} WHERE tenant_id = $1",
    "UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = $1",
    "DELETE FROM {table} WHERE tenant_id = $1",
    "INSERT INTO {table} (tenant_id, lead_id, search_text) VALUES ($1, gen_random_uuid(), 'x')",
    "TRUNCATE {table}",
    "COPY {table} TO STDOUT",
)


@pytest.mark.parametrize("table", NO_ACCESS)
@pytest.mark.parametrize("statement", NO_ACCESS_STATEMENTS)
@pytest.mark.parametrize("own_tenant", [True, False])
async def test_the_request_role_cannot_touch_owner_only_tables(
    owner: asyncpg.Connection,
    two_tenants: tuple[TenantRows, TenantRows],
    table: str,
    statement: str,
    own_tenant: bool,
) -> None:
    """Neither another tenant's rows nor its own tenant's, nor with no tenant set: not one
    privilege (the rows exist: the factory's leads put them there)."""
    a, b = two_tenants
    assert await owner.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", b.tenant_id)
    sql = statement.format(table=table)
    async with as_app_role(owner, b.tenant_id if own_tenant else None) as conn:
        args = [b.tenant_id if own_tenant else a.tenant_id] if "$1" in sql else []
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute(sql, *args)


@pytest.mark.parametrize("table", TENANT_TABLES)
class TestOtherTenantIsInvisible:
    async def test_select_sees_only_own_rows(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows], table: str
    ) -> None:
        a, b = two_tenants
        async with as_app_role(owner, b.tenant_id) as conn:
            foreign = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE tenant_id = $1", a.tenant_id
            )
            tenants_seen = await conn.fetch(f"SELECT DISTINCT tenant_id FROM {table}")
        assert foreign == 0
        assert [r["tenant_id"] for r in tenants_seen] == [b.tenant_id]

    async def test_update_touches_no_foreign_row(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows], table: str
    ) -> None:
        a, b = two_tenants
        async with as_app_role(owner, b.tenant_id) as conn:
            if table in APPEND_ONLY:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(f"UPDATE {table} SET tenant_id = tenant_id")
                return
            status = await conn.execute(
                f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = $1", a.tenant_id
            )
        assert status == "UPDATE 0"

    async def test_delete_touches_no_foreign_row(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows], table: str
    ) -> None:
        a, b = two_tenants
        async with as_app_role(owner, b.tenant_id) as conn:
            if table in APPEND_ONLY:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(f"DELETE FROM {table}")
                return
            status = await conn.execute(f"DELETE FROM {table} WHERE tenant_id = $1", a.tenant_id)
        assert status == "DELETE 0"
        remaining = await owner.fetchval(
            f"SELECT count(*) FROM {table} WHERE tenant_id = $1", a.tenant_id
        )
        assert remaining >= 1

    async def test_insert_with_foreign_tenant_id_is_rejected(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows], table: str
    ) -> None:
        a, b = two_tenants
        async with as_app_role(owner, b.tenant_id) as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await insert_for_tenant(conn, table, a)

    async def test_no_tenant_set_sees_nothing(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows], table: str
    ) -> None:
        async with as_app_role(owner, None) as conn:
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
            if table not in APPEND_ONLY:
                assert await conn.execute(f"DELETE FROM {table}") == "DELETE 0"

    async def test_insert_without_tenant_is_rejected(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows], table: str
    ) -> None:
        a, _ = two_tenants
        async with as_app_role(owner, None) as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await insert_for_tenant(conn, table, a)


@pytest.mark.parametrize("table", [t for t in TENANT_TABLES if t not in APPEND_ONLY])
async def test_update_cannot_move_own_row_to_other_tenant(
    owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows], table: str
) -> None:
    a, b = two_tenants
    async with as_app_role(owner, b.tenant_id) as conn:
        with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.ForeignKeyViolationError)):
            await conn.execute(
                f"UPDATE {table} SET tenant_id = $1 WHERE tenant_id = $2",
                a.tenant_id,
                b.tenant_id,
            )


class TestTenantsTable:
    async def test_only_the_current_tenant_is_visible(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        a, b = two_tenants
        async with as_app_role(owner, b.tenant_id) as conn:
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM tenants")]
            renamed = await conn.execute("UPDATE tenants SET name = 'x' WHERE id = $1", a.tenant_id)
        assert ids == [b.tenant_id]
        assert renamed == "UPDATE 0"

    async def test_a_member_sees_only_tenants_they_belong_to(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        a, _ = two_tenants
        async with as_app_role(owner, None) as conn:
            await conn.execute("SELECT set_config('app.current_user_id', $1, true)", str(a.user_id))
            tenants = [r["id"] for r in await conn.fetch("SELECT id FROM tenants")]
            memberships = await conn.fetch("SELECT tenant_id, user_id FROM memberships")
            jobs = await conn.fetchval("SELECT count(*) FROM jobs")
        assert tenants == [a.tenant_id]
        assert [(r["tenant_id"], r["user_id"]) for r in memberships] == [(a.tenant_id, a.user_id)]
        assert jobs == 0  # the user context opens memberships only, never tenant data


class TestCompositeForeignKeys:
    """Foreign keys are checked without RLS, so a B row could point at an A row by id alone;
    the composite (tenant_id, id) keys make that impossible."""

    async def test_evidence_cannot_point_at_another_tenants_job(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        a, b = two_tenants
        async with as_app_role(owner, b.tenant_id) as conn:
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await conn.execute(
                    "INSERT INTO evidence (tenant_id, job_id, type, title, source, snippet,"
                    " confidence, hash, size_bytes, collected_at) VALUES ($1, $2,"
                    " 'SEARCH_RESULT', 't', 's', 's', 'LOW', 'h', 1, now())",
                    b.tenant_id,
                    a.ids["jobs"],
                )

    async def test_job_cannot_be_leased_to_another_tenants_agent(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        a, b = two_tenants
        async with as_app_role(owner, b.tenant_id) as conn:
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await conn.execute(
                    "UPDATE jobs SET agent_id = $1 WHERE id = $2", a.ids["agents"], b.ids["jobs"]
                )

    async def test_refresh_token_cannot_descend_from_another_tenants_token(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        a, b = two_tenants
        async with as_app_role(owner, b.tenant_id) as conn:
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await conn.execute(
                    "UPDATE refresh_tokens SET parent_id = $1 WHERE id = $2",
                    a.ids["refresh_tokens"],
                    b.ids["refresh_tokens"],
                )


# A row of tenant B whose reference names tenant A's row by id: (SQL, the A and B ids it takes).
# Each is written as B, so row-level security lets it through; only the composite key refuses.
FOREIGN_REFERENCES = {
    "list_members.lead_id": (
        "INSERT INTO list_members (tenant_id, list_id, lead_id) VALUES ($1, $2, $3)",
        ("b:tenant", "b:lists", "a:leads"),
    ),
    "list_members.list_id": (
        "INSERT INTO list_members (tenant_id, list_id, lead_id) VALUES ($1, $2, $3)",
        ("b:tenant", "a:lists", "b:leads"),
    ),
    "lead_keys.lead_id": (
        "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
        " VALUES ($1, 'EMAIL', 'pointing@example.com', $2)",
        ("b:tenant", "a:leads"),
    ),
    "lead_keys.lead_id (moved)": (
        "UPDATE lead_keys SET lead_id = $2 WHERE tenant_id = $1",
        ("b:tenant", "a:leads"),
    ),
    "lead_activities.lead_id": (
        "INSERT INTO lead_activities (tenant_id, lead_id, type, body) VALUES ($1, $2, 'NOTE', 'x')",
        ("b:tenant", "a:leads"),
    ),
    "lead_merges.survivor_id": (
        "INSERT INTO lead_merges (tenant_id, survivor_id, merged_ids, snapshot)"
        " VALUES ($1, $2, '{}', '{}')",
        ("b:tenant", "a:leads"),
    ),
    "lead_evidence.lead_id": (
        "INSERT INTO lead_evidence (tenant_id, lead_id, evidence_id) VALUES ($1, $2, $3)",
        ("b:tenant", "a:leads", "b:evidence"),
    ),
    "lead_evidence.evidence_id": (
        "INSERT INTO lead_evidence (tenant_id, lead_id, evidence_id) VALUES ($1, $2, $3)",
        ("b:tenant", "b:leads", "a:evidence"),
    ),
    "files.created_by_id": (
        # A's member is no member of B: a file of B cannot be theirs.
        "UPDATE files SET created_by_id = $2 WHERE tenant_id = $1",
        ("b:tenant", "a:user"),
    ),
    "leads.owner_id": (
        # A's member is no member of B: a lead of B cannot be theirs.
        "UPDATE leads SET owner_id = $2 WHERE tenant_id = $1",
        ("b:tenant", "a:user"),
    ),
}


@pytest.mark.parametrize("reference", FOREIGN_REFERENCES)
async def test_a_lead_row_cannot_point_into_another_tenant(
    owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows], reference: str
) -> None:
    """The lead tables' foreign keys carry tenant_id (composite): a B row naming an A lead,
    list, evidence or member by its id alone is a foreign-key violation."""
    a, b = two_tenants
    by_label = {"a": a, "b": b}

    def value(name: str) -> uuid.UUID:
        label, what = name.split(":")
        rows = by_label[label]
        if what == "tenant":
            return rows.tenant_id
        return rows.user_id if what == "user" else rows.ids[what]

    sql, names = FOREIGN_REFERENCES[reference]
    async with as_app_role(owner, b.tenant_id) as conn:
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(sql, *(value(n) for n in names))
    # The same statement naming B's own row passes: the tenant alone made the difference.
    async with as_app_role(owner, b.tenant_id) as conn:
        await conn.execute("DELETE FROM list_members")  # their keys would collide
        await conn.execute("DELETE FROM lead_evidence")
        await conn.execute(sql, *(value(n.replace("a:", "b:")) for n in names))


class TestPooledConnections:
    """The application's own engine: a pool of one connection, serving tenant A then nobody."""

    async def test_tenant_context_does_not_survive_the_transaction(
        self,
        settings: Settings,
        database_url: str,
        two_tenants: tuple[TenantRows, TenantRows],
    ) -> None:
        a, _ = two_tenants
        settings.db_pool_size, settings.db_max_overflow = 1, 0
        db = Database(settings, database_url)
        await db.start()
        try:
            async with db.transaction(tenant_id=a.tenant_id) as tx:
                backend = await tx.raw.fetchval("SELECT pg_backend_pid()")
                seen = await tx.raw.fetchval("SELECT count(*) FROM jobs")
            async with db.transaction() as tx:
                same_backend = await tx.raw.fetchval("SELECT pg_backend_pid()")
                after = await tx.raw.fetchval("SELECT count(*) FROM jobs")
                role = await tx.raw.fetchval("SELECT current_user")
            async with db.pool.acquire() as conn:
                leftover = await conn.fetchrow(  # a row always comes back
                    "SELECT current_setting('app.current_tenant_id', true), current_user"
                )
        finally:
            await db.dispose()
        assert same_backend == backend, "the pool should have reused its one connection"
        assert seen == 1
        assert after == 0
        assert role == APP_ROLE
        assert leftover is not None
        assert leftover[0] in (None, "")
        assert leftover[1] != APP_ROLE, "the role switch must end with the transaction"

    async def test_alternating_tenants_never_see_each_other(
        self,
        settings: Settings,
        database_url: str,
        two_tenants: tuple[TenantRows, TenantRows],
    ) -> None:
        a, b = two_tenants
        settings.db_pool_size, settings.db_max_overflow = 2, 0
        db = Database(settings, database_url)
        await db.start()
        try:
            for i in range(20):
                current = (a, b)[i % 2]
                async with db.transaction(tenant_id=current.tenant_id) as tx:
                    seen = await tx.raw.fetch("SELECT DISTINCT tenant_id FROM jobs")
                    assert [r["tenant_id"] for r in seen] == [current.tenant_id]
        finally:
            await db.dispose()


class TestAuthenticatedStart:
    """leedz_begin_authenticated(): the first statement of an authenticated request."""

    async def test_switches_to_the_request_role_and_reads_only_its_tenant(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        a, _ = two_tenants
        tx = owner.transaction()
        await tx.start()
        try:
            own = await owner.fetchval(
                "SELECT leedz_begin_authenticated($1, $2, $3, '1000', $4)",
                APP_ROLE,
                str(a.tenant_id),
                str(a.user_id),
                str(a.ids["refresh_tokens"]),
            )
            role = await owner.fetchval("SELECT current_user")
            tenants_seen = await owner.fetchval("SELECT count(DISTINCT tenant_id) FROM jobs")
        finally:
            await tx.rollback()
        assert own == "OWNER"
        assert role == APP_ROLE
        assert tenants_seen == 1

    async def test_a_member_of_another_tenant_is_not_a_member_here(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        a, b = two_tenants
        tx = owner.transaction()
        await tx.start()
        try:
            foreign = await owner.fetchval(
                "SELECT leedz_begin_authenticated($1, $2, $3, '1000', $4)",
                APP_ROLE,
                str(b.tenant_id),
                str(a.user_id),
                str(a.ids["refresh_tokens"]),
            )
        finally:
            await tx.rollback()
        assert foreign is None

    async def test_login_lookup_leaves_nothing_behind_on_the_connection(
        self, owner: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        a, _ = two_tenants
        email = await owner.fetchval("SELECT email FROM users WHERE id = $1", a.user_id)
        found = await owner.fetchrow(
            "SELECT id, default_tenant_id FROM leedz_login_lookup($1, $2)", APP_ROLE, email
        )
        role_after = await owner.fetchval("SELECT current_user")
        assert found is not None
        assert found["id"] == a.user_id
        assert role_after != APP_ROLE, "the role switch must end with the statement"
