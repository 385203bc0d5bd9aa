"""The request-side connection pool, transactions, and the tenant context of a transaction.

Every request (and later every socket event) runs in exactly one transaction. Its first statement
switches to the restricted application role and sets the tenant and user for row-level security,
all with `set_config(..., true)`: the settings die with the transaction, so a pooled connection
never carries one request's tenant into the next (also behind a transaction-mode pooler).

Requests use asyncpg's own pool and plain SQL (`$1` parameters) written in repositories. SQLAlchemy
describes the schema, drives Alembic and seeds the plans; on the request path its statement layer
and its pool cost far more than asyncpg's own (bench tenant_transaction, docs/benchmarks.md), so
the hot path does not go through it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Protocol, cast
from uuid import UUID

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy
from fastapi import Depends, Request

from leedz.config import Settings
from leedz.errors import DatabaseTimeout
from leedz.kit.events import EventBus
from leedz.kit.urls import driver_dsn

log = structlog.get_logger("leedz.db")

SCOPE_TRANSACTION_SQL = (
    "SELECT set_config('role', $1, true),"
    " set_config('app.current_tenant_id', $2, true),"
    " set_config('app.current_user_id', $3, true),"
    " set_config('statement_timeout', $4, true)"
)

AfterCommit = Callable[[], Awaitable[None]]
# A pooled connection (what requests get) or a plain one (tests, scripts).
Connection = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True, slots=True)
class Scope:
    """What a transaction's first statement sets, as `set_config` takes it (text; '' for none)."""

    role: str
    tenant_id: str
    user_id: str
    statement_timeout: str


class FirstStatement(Protocol):
    """Replaces a transaction's first statement (`SCOPE_TRANSACTION_SQL`).

    It must set `scope` with `set_config(..., true)` (an SQL function that does so, then reads
    what the caller needs in the same round trip: a member's role, an agent) and keeps what it
    read on itself for the caller. Features provide them; this module knows none.
    """

    async def __call__(self, conn: Connection, scope: Scope) -> None: ...


class Tx:
    """One database transaction, already running as the request role with its RLS context.

    `raw` is the asyncpg connection (plain SQL, `$1` parameters). Side effects outside the
    database (socket emits, mail) are registered with `after_commit` or published as events, and
    run only once the transaction has committed.
    """

    __slots__ = ("_after_commit", "_bus", "raw", "tenant_id", "user_id")

    def __init__(
        self,
        raw: Connection,
        tenant_id: UUID | None,
        user_id: UUID | None,
        bus: EventBus,
    ) -> None:
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

    def savepoint(self) -> AbstractAsyncContextManager[object]:
        """A nested transaction (SAVEPOINT): rolled back on an exception, the outer one goes on."""
        return cast(AbstractAsyncContextManager[object], self.raw.transaction())

    def publish(self, event: object) -> None:
        """Announce a domain event; subscribers receive it only if this transaction commits."""
        self._bus.publish(self, event)

    async def set_context(self, *, tenant_id: UUID | None, user_id: UUID | None) -> None:
        """Move this transaction to another tenant/user context (sign-in picks the tenant)."""
        if (tenant_id, user_id) == (self.tenant_id, self.user_id):
            return
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


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """On release: roll back a transaction left open, nothing more.

    asyncpg's default reset costs a round trip per request (RESET ALL, UNLISTEN *, …). Request
    transactions keep no session state — role and context are transaction-local — so there is
    nothing else to undo.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def init_connection(conn: asyncpg.Connection) -> None:
    # JSON in: repositories pass serialized text. JSON out: Python objects.
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=str, decoder=json.loads, schema="pg_catalog", format="text"
        )


class Database:
    """The request-side pool: every transaction it opens runs as the restricted role."""

    def __init__(self, settings: Settings, url: str, bus: EventBus | None = None) -> None:
        self.bus = bus or EventBus()
        self.app_role = settings.db_app_role
        self.statement_timeout = str(settings.db_statement_timeout_ms)
        self._statement_seconds = settings.db_statement_timeout_ms / 1000
        self.acquire_timeout = settings.db_connect_timeout
        self._dsn = driver_dsn(settings.database_app_url or url)
        self._max_size = settings.db_pool_size + settings.db_max_overflow
        self._statement_cache_size = settings.db_statement_cache_size
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        """Create the pool. It connects lazily: the app starts even while the database is down."""
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=self._max_size,
            timeout=self.acquire_timeout,
            init=init_connection,
            reset=_reset_connection,
            statement_cache_size=self._statement_cache_size,
            server_settings={"application_name": "leedz-api"},
        )

    @property
    def max_size(self) -> int:
        """The most connections the pool opens (LEEDZ_DB_POOL_SIZE + LEEDZ_DB_MAX_OVERFLOW)."""
        return self._max_size

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("Database.start() has not run (the app lifespan starts it)")
        return self._pool

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def connect(self, application_name: str) -> asyncpg.Connection:
        """A connection of its own, outside the pool, for a long-lived session (the worker's
        LISTEN): it runs as the login role until a transaction switches, like the pool's."""
        return await asyncpg.connect(
            self._dsn,
            timeout=self.acquire_timeout,
            statement_cache_size=self._statement_cache_size,
            server_settings={"application_name": application_name},
        )

    async def _acquire(self) -> PoolConnectionProxy:
        """A pooled connection, waiting at most `acquire_timeout` for one to be free."""
        # asyncio.timeout rather than acquire(timeout=…), which spawns a task per call.
        async with asyncio.timeout(self.acquire_timeout):
            return await self.pool.acquire()

    @asynccontextmanager
    async def transaction(
        self,
        *,
        tenant_id: UUID | None = None,
        user_id: UUID | None = None,
        first: FirstStatement | None = None,
        role: str | None = None,
    ) -> AsyncIterator[Tx]:
        """One transaction as the application role, scoped to a tenant (or to none).

        `first` replaces the first statement (it sets the same scope and reads more in the same
        round trip: access/context.py's member session, agents/context.py's agent). `role`
        replaces the request role (the lease reaper's). Commits when the block ends
        normally, rolls back when it raises (unless the error has `keep_changes`); after a
        commit, runs the callbacks of `Tx.after_commit` — a kept refusal's too (a family
        revoked on refresh-token reuse closes its sockets), then raises it.
        """
        kept: BaseException | None = None
        raw = await self._acquire()
        try:
            tx = Tx(raw, tenant_id, user_id, self.bus)
            transaction = raw.transaction()
            await transaction.start()
            try:
                scope = Scope(
                    role=role or self.app_role,
                    tenant_id=str(tenant_id) if tenant_id else "",
                    user_id=str(user_id) if user_id else "",
                    statement_timeout=self.statement_timeout,
                )
                if first is not None:
                    await first(raw, scope)
                else:
                    await raw.execute(
                        SCOPE_TRANSACTION_SQL,
                        scope.role,
                        scope.tenant_id,
                        scope.user_id,
                        scope.statement_timeout,
                    )
                yield tx
            except BaseException as exc:
                # Some refusals must still leave a trace (a failed login's audit row, a refresh
                # token family revoked on reuse): their error asks to keep what was written.
                if getattr(exc, "keep_changes", False) and not raw.is_closed():
                    await transaction.commit()
                    kept = exc
                else:
                    if not raw.is_closed():
                        await transaction.rollback()
                    raise
            else:
                await transaction.commit()
        finally:
            await self.pool.release(raw)
        await tx._run_after_commit()
        if kept is not None:
            raise kept

    async def fetchrow_as_app(self, sql: str, *args: object) -> asyncpg.Record | None:
        """One statement on its own (implicit) transaction, outside any request transaction.

        For SQL functions that switch to the request role themselves (their `set_config` ends
        with the statement): a quick read that must not keep a connection while the caller then
        does slow work, such as verifying a password. A `statement_timeout` set inside would
        only apply from the next statement, so the statement timeout is kept from this side:
        asyncpg cancels the statement, answered as PostgreSQL's own timeout is (503
        `database_timeout`).
        """
        raw = await self._acquire()
        try:
            try:
                return await raw.fetchrow(sql, *args, timeout=self._statement_seconds)
            except TimeoutError as exc:
                raise DatabaseTimeout("The database took too long to answer; retry") from exc
        finally:
            await self.pool.release(raw)

    async def ping(self, within_seconds: float) -> str | None:
        """The migration revision the database is at, answered within `within_seconds`."""
        async with asyncio.timeout(within_seconds), self.pool.acquire() as conn:
            revision: str | None = await conn.fetchval("SELECT version_num FROM alembic_version")
            return revision


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
