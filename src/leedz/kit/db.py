"""Engine, sessions and the tenant context of a transaction.

Every request (and later every socket event) runs in exactly one transaction. Its first statement
switches to the restricted application role and sets the tenant and user for row-level security,
all with `set_config(..., true)`: the settings die with the transaction, so a pooled connection
never carries one request's tenant into the next (also behind a transaction-mode pooler).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from leedz.config import Settings
from leedz.kit.urls import async_url

_SCOPE_TRANSACTION = text(
    "SELECT set_config('role', :role, true),"
    " set_config('app.current_tenant_id', :tenant_id, true),"
    " set_config('app.current_user_id', :user_id, true),"
    " set_config('statement_timeout', :statement_timeout, true)"
)


class Database:
    """The request-side engine: every transaction it opens runs as the restricted role."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.app_role = settings.db_app_role
        self.statement_timeout = str(settings.db_statement_timeout_ms)
        self.connect_timeout = settings.db_connect_timeout
        self.engine: AsyncEngine = create_async_engine(
            async_url(settings.database_app_url or url),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=True,
            pool_timeout=settings.db_connect_timeout,
            connect_args={
                "timeout": settings.db_connect_timeout,
                "server_settings": {"application_name": "leedz-api"},
            },
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(
        self, *, tenant_id: UUID | None = None, user_id: UUID | None = None
    ) -> AsyncIterator[AsyncSession]:
        """One transaction as the application role, scoped to a tenant (or to none).

        Commits when the block ends normally, rolls back when it raises.
        """
        async with self.sessions() as session, session.begin():
            await scope_transaction(
                session,
                role=self.app_role,
                tenant_id=tenant_id,
                user_id=user_id,
                statement_timeout=self.statement_timeout,
            )
            yield session

    async def ping(self, within_seconds: float) -> str | None:
        """The migration revision the database is at, answered within `within_seconds`.

        Runs as the connecting (owner) role: `alembic_version` is not granted to the app role.
        """
        async with asyncio.timeout(within_seconds), self.engine.connect() as conn:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()


async def scope_transaction(
    session: AsyncSession,
    *,
    role: str,
    tenant_id: UUID | None,
    user_id: UUID | None,
    statement_timeout: str,
) -> None:
    """Switch the current transaction to `role` and set the RLS context with bound parameters."""
    await session.execute(
        _SCOPE_TRANSACTION,
        {
            "role": role,
            "tenant_id": str(tenant_id) if tenant_id else "",
            "user_id": str(user_id) if user_id else "",
            "statement_timeout": statement_timeout,
        },
    )


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _public_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database(request).transaction() as session:
        yield session


# `scope="function"` closes the transaction (commit or rollback) before the response is sent, so a
# client never sees success for a commit that then fails.
PublicSession = Annotated[AsyncSession, Depends(_public_session, scope="function")]
"""A transaction with no tenant: RLS shows no tenant-owned row through it."""
