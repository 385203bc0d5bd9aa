"""The code wall: tenant repositories filter by tenant even where RLS would not."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from leedz.config import Settings
from leedz.errors import ValidationFailed
from leedz.kit.db import Database
from leedz.kit.pagination import decode_cursor, encode_cursor, next_cursor
from leedz.kit.repository import TenantRepository, UnscopedQueryError, _checked
from tests.factories.rows import TenantRows, create_tenant_with_rows


class Jobs(TenantRepository):
    async def ids(self) -> list[uuid.UUID]:
        return [r["id"] for r in await self.fetch("SELECT id FROM jobs WHERE tenant_id = $1")]

    async def forgetful_ids(self) -> list[uuid.UUID]:
        return [r["id"] for r in await self.fetch("SELECT id FROM jobs WHERE $1::uuid IS NOT NULL")]


@pytest.fixture
async def unrestricted_db(
    owner: asyncpg.Connection, settings: Settings, database_url: str
) -> AsyncIterator[Database]:
    """Transactions that run as the (superuser) owner: RLS does not apply, only the code filters."""
    role = await owner.fetchval("SELECT current_user")
    assert await owner.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = $1", role)
    settings.db_app_role = role
    db = Database(settings, database_url)
    await db.start()
    yield db
    await db.dispose()


@pytest.fixture
async def two_tenants(owner: asyncpg.Connection) -> tuple[TenantRows, TenantRows]:
    return (
        await create_tenant_with_rows(owner, "a"),
        await create_tenant_with_rows(owner, "b"),
    )


class TestTenantRepository:
    async def test_filters_by_tenant_without_help_from_rls(
        self, unrestricted_db: Database, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        _, b = two_tenants
        async with unrestricted_db.transaction(tenant_id=b.tenant_id) as tx:
            everything = await tx.raw.fetchval("SELECT count(DISTINCT tenant_id) FROM jobs")
            scoped = await Jobs(tx).ids()
        assert everything == 2, "RLS must not be what filters here"
        assert scoped == [b.ids["jobs"]]

    async def test_refuses_sql_without_the_tenant_predicate(
        self, unrestricted_db: Database, two_tenants: tuple[TenantRows, TenantRows]
    ) -> None:
        _, b = two_tenants
        async with unrestricted_db.transaction(tenant_id=b.tenant_id) as tx:
            with pytest.raises(UnscopedQueryError):
                await Jobs(tx).forgetful_ids()

    async def test_refuses_a_transaction_without_tenant(self, unrestricted_db: Database) -> None:
        async with unrestricted_db.transaction() as tx:
            with pytest.raises(UnscopedQueryError):
                Jobs(tx)


class TestCursors:
    def test_round_trip(self) -> None:
        when, row = datetime(2026, 11, 24, 12, 0, 1, 123456, tzinfo=UTC), uuid.uuid4()
        assert decode_cursor(encode_cursor(when, row)) == (when, row)

    @pytest.mark.parametrize("cursor", ["", "not-base64!", "e30", "WyJ4IiwgInkiXQ", "W10"])
    def test_garbage_is_a_validation_error(self, cursor: str) -> None:
        with pytest.raises(ValidationFailed):
            decode_cursor(cursor)

    def test_next_cursor_only_when_more_rows_exist(self) -> None:
        keys = [(datetime(2026, 1, i + 1, tzinfo=UTC), uuid.uuid4()) for i in range(3)]
        assert next_cursor(keys[:2], limit=2) is None
        assert next_cursor(keys, limit=2) == encode_cursor(*keys[1])


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM jobs WHERE tenant_id = $1",
        "UPDATE jobs SET progress = 1 WHERE j.tenant_id=$1 AND id = $2",
        "INSERT INTO leads (tenant_id) VALUES ($1)",
        "INSERT INTO audit_logs (tenant_id, user_id) VALUES ($1, $2)",
        "insert into lists (tenant_id, id)\n select $1, $2",
    ],
)
def test_tenant_scoped_sql_is_accepted(sql: str) -> None:
    assert _checked(sql) == sql


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM jobs",
        "SELECT id FROM jobs WHERE tenant_id = $2",
        "SELECT id FROM jobs WHERE tenant_id = $10",
        "INSERT INTO leads (id, tenant_id) VALUES ($1, $2)",
        "INSERT INTO leads (tenant_id) VALUES ($2)",
        "DELETE FROM jobs WHERE id = $1",
    ],
)
def test_unscoped_sql_is_refused(sql: str) -> None:
    with pytest.raises(UnscopedQueryError):
        _checked(sql)
