"""Engine, transactions and the tenant context of a transaction.

Every request (and later every socket event) runs in exactly one transaction. Its first statement
switches to the restricted application role and sets the tenant and user for row-level security,
all with `set_config(..., true)`: the settings die with the transaction, so a pooled connection
never carries one request's tenant into the next (also behind a transaction-mode pooler).

SQLAlchemy owns the pool (sizes, timeouts, disconnect handling) and runs Core statements; hot paths
run plain SQL on the asyncpg connection underneath (`Tx.raw`), which `make bench` shows to be
several times cheaper per statement. The transaction itself is asyncpg's, so both kinds of
statement share it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast
from uuid import UUID

import asyncpg
import structlog
from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from leedz.config import Settings
from leedz.kit.events import EventBus
from leedz.kit.urls import async_url

log = structlog.get_logger("leedz.db")

SCOPE_TRANSACTION_SQL = (
    "SELECT set_config('role', $1, true),"
    " set_config('app.current_tenant_id', $2, true),"
    " set_config('app.current_user_id', $3, true),"
    " set_config('statement_timeout', $4, true)"
)

AfterCommit = Callable[[], Awaitable[None]]


class Tx:
    """One database transaction, already running as the request role with its RLS context.

    `raw` is the asyncpg connection (plain SQL, `$1` parameters); `conn` is the same connection
    through SQLAlchemy Core. Side effects outside the database (socket emits, mail) are
    registered with `after_commit` and run only once the transaction has committed.
    """

    __slots__ = ("_after_commit", "_bus", "conn", "raw", "tenant_id", "user_id")

    def __init__(
        self,
        conn: AsyncConnection,
        raw: asyncpg.Connection,
        tenant_id: UUID | None,
        user_id: UUID | None,
        bus: EventBus,
    ) -> None:
        self.conn = conn
        self.raw = raw
        self.tenant_id = tenant_id
        self.user_id = user_id
        self._bus = bus
        self._after_commit: list[AfterCommit] = []

    @property
    def current_tenant(self) -> UUID:
        """The tenant this transaction is scoped to (a programming error if there is none)."""
        if self.tenant_id is None:
            raise RuntimeError("this transaction is not scoped to a tenant")
        return self.tenant_id

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    def publish(self, event: object) -> None:
        """Announce a domain event; subscribers receive it only if this transaction commits."""
        self._bus.publish(self, event)

    async def set_context(self, *, tenant_id: UUID | None, user_id: UUID | None) -> None:
        """Move this transaction to another tenant/user context (sign-in picks the tenant)."""
        await self.raw.execute(
            "SELECT set_config('app.current_tenant_id', $1, true),"
            " set_config('app.current_user_id', $2, true)",
            str(tenant_id) if tenant_id else "",
            str(user_id) if user_id else "",
        )
        self.tenant_id, self.user_id = tenant_id, user_id

    async def _run_after_commit(self) -> None:
        for callback in self._after_commit:
            try:
                await callback()
            except Exception:  # the commit stands; a failed side effect is logged, not raised
                log.exception("after_commit_failed", callback=repr(callback))


class Database:
    """The request-side engine: every transaction it opens runs as the restricted role."""

    def __init__(self, settings: Settings, url: str, bus: EventBus | None = None) -> None:
        self.bus = bus or EventBus()
        self.app_role = settings.db_app_role
        self.statement_timeout = str(settings.db_statement_timeout_ms)
        self.engine: AsyncEngine = create_async_engine(
            async_url(settings.database_app_url or url),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_connect_timeout,
            # Transactions are begun and ended on the asyncpg connection (Database.transaction);
            # SQLAlchemy must not open one of its own around them.
            isolation_level="AUTOCOMMIT",
            connect_args={
                "timeout": settings.db_connect_timeout,
                "server_settings": {"application_name": "leedz-api"},
            },
        )
        event.listen(self.engine.sync_engine, "checkout", _discard_closed_connection)

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(
        self, *, tenant_id: UUID | None = None, user_id: UUID | None = None
    ) -> AsyncIterator[Tx]:
        """One transaction as the application role, scoped to a tenant (or to none).

        Commits when the block ends normally, rolls back when it raises (unless the error has
        `keep_changes`); after a normal commit, runs the callbacks of `Tx.after_commit`.
        """
        async with self.engine.connect() as conn:
            raw = cast(asyncpg.Connection, (await conn.get_raw_connection()).driver_connection)
            tx = Tx(conn, raw, tenant_id, user_id, self.bus)
            transaction = raw.transaction()
            await transaction.start()
            try:
                await raw.execute(
                    SCOPE_TRANSACTION_SQL,
                    self.app_role,
                    str(tenant_id) if tenant_id else "",
                    str(user_id) if user_id else "",
                    self.statement_timeout,
                )
                yield tx
            except BaseException as exc:
                # Some refusals must still leave a trace (a failed login's audit row, a refresh
                # token family revoked on reuse): their error asks to keep what was written.
                if getattr(exc, "keep_changes", False) and not raw.is_closed():
                    await transaction.commit()
                elif not raw.is_closed():
                    await transaction.rollback()
                raise
            else:
                await transaction.commit()
        await tx._run_after_commit()

    async def ping(self, within_seconds: float) -> str | None:
        """The migration revision the database is at, answered within `within_seconds`."""
        async with asyncio.timeout(within_seconds), self.engine.connect() as conn:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()


def _discard_closed_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A connection that died while checked in (a database restart) is replaced, not handed out.

    Statements on `Tx.raw` bypass SQLAlchemy's disconnect detection, so liveness is checked here,
    without a round trip: asyncpg marks a connection closed as soon as its socket drops.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("connection closed while idle")


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _public_tx(request: Request) -> AsyncIterator[Tx]:
    async with database(request).transaction() as tx:
        yield tx


# `scope="function"` ends the transaction (commit or rollback) before the response is sent, so a
# client never sees success for a commit that then fails.
PublicTx = Annotated[Tx, Depends(_public_tx, scope="function")]
"""A transaction with no tenant: RLS shows no tenant-owned row through it."""
