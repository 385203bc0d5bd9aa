from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from leedz.kit import migrations
from leedz.kit.urls import async_url
from leedz.leads.tenant_indexes import is_tenant_index
from leedz.models import Base
from tests.support import databases

SCHEMA_OBJECTS = """
SELECT (SELECT count(*) FROM pg_tables
        WHERE schemaname = 'public' AND tablename <> 'alembic_version')
     + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype = 'e')
     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
          -- an extension's functions (pg_trgm's) are its own, not the schema's
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e'))
"""


@pytest.fixture
def empty_database(admin_url: str) -> Iterator[str]:
    url = databases.create_database(admin_url, prefix="leedz_migrations")
    yield url
    databases.drop_database(admin_url, url)


async def _scalar(url: str, sql: str) -> object:
    conn = await asyncpg.connect(databases.asyncpg_dsn(url))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database: str) -> None:
    role = databases.APP_ROLE
    migrations.upgrade(empty_database, app_role=role)
    # 21 tables, 12 enums, 7 functions (leedz_sign_in retired in 20261201_1000; account_tokens
    # and its enum account_token_purpose added in 20261201_1200; five lead tables, five enums
    # and leedz_sales_own_leads_only in 20261201_1400; lead_search, leedz_lead_search_sync and
    # leedz_search_lead_ids in 20261201_1700; files and its enum file_purpose in 20261201_1820;
    # the table import_rows in 20261201_1830, the table resolution_backfills in 20261201_1840,
    # the functions leedz_quota_leads and leedz_similar_name_lead_ids in 20261201_1850,
    # leedz_uuid7 in 20261202_1900)
    assert asyncio.run(_scalar(empty_database, SCHEMA_OBJECTS)) == 45
    migrations.downgrade(empty_database, app_role=role, revision="base")
    assert asyncio.run(_scalar(empty_database, SCHEMA_OBJECTS)) == 0
    migrations.upgrade(empty_database, app_role=role)
    assert asyncio.run(_scalar(empty_database, "SELECT version_num FROM alembic_version")) == (
        migrations.head_revision()
    )
    forced = asyncio.run(
        _scalar(empty_database, "SELECT count(*) FROM pg_class WHERE relforcerowsecurity")
    )
    # eighteen tenant tables (files: 20261201_1820, import_rows: 20261201_1830,
    # resolution_backfills: 20261201_1840) and tenants;
    # lead_search enables RLS without forcing it (its owner alone reads it, and must bypass it:
    # migration 20261201_1700)
    assert forced == 19


def test_models_and_migrations_agree(database_url: str) -> None:
    """The ORM models describe exactly the schema the migrations build (no drift)."""

    async def diff() -> list[object]:
        engine = create_async_engine(async_url(database_url), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(
                            sync,
                            opts={
                                "compare_type": True,
                                "compare_server_default": True,
                                # the tenants' own search indexes are built at run time
                                "include_name": lambda name, type_, _: (
                                    not (type_ == "index" and name and is_tenant_index(name))
                                ),
                            },
                        ),
                        Base.metadata,
                    )
                )
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []


def test_migration_files_are_date_stamped() -> None:
    files = sorted(p.name for p in (migrations.migrations_dir() / "versions").glob("*.py"))
    assert files
    for name in files:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{4}_[a-z0-9_]+\.py", name), name
