"""Throwaway databases for the test suite and the benchmarks: created fresh, migrated, dropped."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg

from leedz.kit import embedded, migrations
from leedz.kit.urls import with_database
from leedz.plans.service import seed_plans


def server_url(explicit: str | None, pgdata: Path) -> str:
    """An administrative URL: `explicit` if given, else an embedded server in `pgdata`."""
    return explicit or embedded.start(pgdata)


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes the plain libpq form (no `+driver`)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def create_database(admin_url: str, prefix: str) -> str:
    """Create an empty database; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def create_migrated_database(admin_url: str, prefix: str, *, app_role: str) -> str:
    """A fresh database at the migration head with the plans seeded."""
    url = create_database(admin_url, prefix)
    migrations.upgrade(url, app_role=app_role)
    asyncio.run(seed_plans(url))
    return url
