"""Test databases: a fresh, migrated and seeded database per test run on a real server."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg

from tests.support import scratch
from tests.support.scratch import asyncpg_dsn, drop_database

APP_ROLE = "leedz_app"
TEST_PGDATA = Path(".leedz") / "test-pgdata"

__all__ = [
    "APP_ROLE",
    "asyncpg_dsn",
    "create_database",
    "create_migrated_database",
    "drop_database",
    "empty_tenant_data",
]


def server_url() -> str:
    """LEEDZ_TEST_DATABASE_URL, else the embedded test server."""
    return scratch.server_url(os.environ.get("LEEDZ_TEST_DATABASE_URL"), TEST_PGDATA)


def create_database(admin_url: str, prefix: str = "leedz_test") -> str:
    return scratch.create_database(admin_url, prefix)


def create_migrated_database(admin_url: str) -> str:
    return scratch.create_migrated_database(admin_url, "leedz_test", app_role=APP_ROLE)


# Every table `TRUNCATE tenants, users CASCADE` would empty: those that refer to either,
# directly or through others. Everything but the plan catalog and alembic_version.
_TENANT_TABLES_SQL = """
WITH RECURSIVE hit(oid) AS (
    SELECT 'tenants'::regclass::oid
    UNION SELECT 'users'::regclass::oid
    UNION SELECT c.conrelid FROM pg_constraint c JOIN hit ON c.confrelid = hit.oid
    WHERE c.contype = 'f'
)
SELECT format('%I.%I', n.nspname, k.relname)
FROM hit JOIN pg_class k ON k.oid = hit.oid JOIN pg_namespace n ON n.oid = k.relnamespace
ORDER BY 1
"""
_emptying: dict[str, str] = {}  # database URL -> the statements that empty its tenant data


async def empty_tenant_data(conn: asyncpg.Connection, database_url: str) -> None:
    """What `TRUNCATE tenants, users CASCADE` does, as DELETEs: a test's rows are few, and a
    TRUNCATE of 22 tables and their indexes (new files for each, the old ones unlinked at
    commit) took 100-430 ms a test here, a DELETE of the same rows 1 ms. Foreign keys are not
    checked meanwhile (session_replication_role): every table that refers to another is emptied
    in the same transaction. Needs a superuser (as the suite does anyway), to whom row-level
    security does not apply."""
    sql = _emptying.get(database_url)
    if sql is None:
        tables = [r[0] for r in await conn.fetch(_TENANT_TABLES_SQL)]
        deletes = " ".join(f"DELETE FROM {table};" for table in tables)
        # Locked first, as TRUNCATE locks them: a row another session commits meanwhile
        # (foreign keys unchecked here) could otherwise outlive the rows it refers to.
        lock = f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE;"
        sql = _emptying[database_url] = (
            f"BEGIN; SET LOCAL session_replication_role = replica; {lock} {deletes} COMMIT;"
        )
    await conn.execute(sql)
