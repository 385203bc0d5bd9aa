"""Alembic environment: async engine (asyncpg), run as the database owner.

The URL comes from `leedz db ...` (config.attributes["url"]) or, when Alembic is called directly,
from DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from leedz.kit.urls import async_url
from leedz.leads.tenant_indexes import is_tenant_index
from leedz.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: use `leedz db upgrade` or set DATABASE_URL")
    return str(url)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate leaves alone the tenants' own search indexes, which a periodic task
    builds at run time (leads/tenant_indexes.py), not a migration."""
    return not (type_ == "index" and name is not None and is_tenant_index(name))


def _configure(connection: Connection | None = None) -> None:
    context.configure(
        connection=connection,
        url=None if connection is not None else async_url(_url()),
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        include_name=include_name,
    )


def run_migrations_offline() -> None:
    _configure()
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(async_url(_url()), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
