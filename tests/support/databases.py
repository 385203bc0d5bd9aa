"""Test databases: a fresh, migrated and seeded database per test run on a real server."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg

from leedz.kit import embedded, migrations
from leedz.kit.urls import with_database
from leedz.plans.service import seed_plans

APP_ROLE = "leedz_app"
TEST_PGDATA = Path(".leedz") / "test-pgdata"


def server_url() -> str:
    """An administrative URL: LEEDZ_TEST_DATABASE_URL, else the embedded test server."""
    return os.environ.get("LEEDZ_TEST_DATABASE_URL") or embedded.start(TEST_PGDATA)


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes the plain libpq form (no `+driver`)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def create_database(admin_url: str, prefix: str = "leedz_test") -> str:
    """Create an empty database; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def create_migrated_database(admin_url: str) -> str:
    url = create_database(admin_url)
    migrations.upgrade(url, app_role=APP_ROLE)
    asyncio.run(seed_plans(url))
    return url
