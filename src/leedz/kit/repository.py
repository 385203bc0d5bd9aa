"""Repository bases. Tenant-owned data is filtered by the code *and* by row-level security.

A `TenantRepository` only runs SQL whose first parameter is the tenant: a statement must filter
on `tenant_id = $1` (or `t.tenant_id = $1`), or be an INSERT whose first column is `tenant_id`
with `$1` as its value; the base passes the transaction's tenant as `$1` itself. A query that
forgets the tenant fails loudly the first time it runs, in tests, instead of leaning on RLS alone.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from leedz.kit.db import Tx

_TENANT_PREDICATE = re.compile(r"\btenant_id\s*=\s*\$1\b")
_TENANT_INSERT = re.compile(
    r"^\s*INSERT\s+INTO\s+\w+\s*\(\s*tenant_id\s*(,[^)]*)?\)\s*(VALUES\s*\(|SELECT\s+)\$1\b",
    re.IGNORECASE | re.DOTALL,
)


class UnscopedQueryError(RuntimeError):
    """A tenant repository ran SQL that does not filter on `tenant_id = $1`: a programming error."""


@lru_cache(maxsize=1024)
def _checked(sql: str) -> str:
    if not (_TENANT_PREDICATE.search(sql) or _TENANT_INSERT.match(sql)):
        raise UnscopedQueryError(f"tenant query without `tenant_id = $1`: {sql!r}")
    return sql


def jsonb_text(value: Any) -> str:
    """`value` as the text of a `::jsonb` parameter. orjson first: an import batch's leads are
    the largest thing a repository encodes, and orjson does it several times faster than the
    standard library (docs/benchmarks-notes.md, "the batch's per-row Python"). Datetimes go
    through `default` as with the standard library; what orjson refuses (an integer over 64
    bits, a lone surrogate, a key that is no string) falls back to the standard library, so
    PostgreSQL reads the same values either way."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value, ensure_ascii=False, default=str)


class TenantRepository:
    """Base of the repositories of tenant-owned tables (memberships, invites, jobs, …)."""

    def __init__(self, tx: Tx) -> None:
        if tx.tenant_id is None:
            raise UnscopedQueryError("a tenant repository needs a tenant-scoped transaction")
        self.tx = tx
        self.tenant_id: UUID = tx.tenant_id

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.tx.raw.fetch(_checked(sql), self.tenant_id, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self.tx.raw.fetchrow(_checked(sql), self.tenant_id, *args)

    async def fetchrow_one(self, sql: str, *args: Any) -> asyncpg.Record:
        """A row that must exist (an INSERT/UPDATE … RETURNING that matched)."""
        row = await self.fetchrow(sql, *args)
        if row is None:
            raise LookupError(f"expected a row from {sql!r}")
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.tx.raw.fetchval(_checked(sql), self.tenant_id, *args)

    async def cursor(self, sql: str, *args: Any) -> asyncpg.cursor.Cursor:
        """A server-side cursor over `sql` (inside the transaction): `await c.fetch(n)` reads
        the next `n` rows, so a long read holds one batch in memory at a time."""
        cursor: asyncpg.cursor.Cursor = await self.tx.raw.cursor(
            _checked(sql), self.tenant_id, *args
        )
        return cursor

    async def execute(self, sql: str, *args: Any) -> str:
        return await self.tx.raw.execute(_checked(sql), self.tenant_id, *args)
