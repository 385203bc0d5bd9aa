"""pg_trgm on the server the suite runs on (CI: the embedded PostgreSQL 18 and PostgreSQL 15):
Arabic text has trigrams, and the trigram index serves an Arabic LIKE — for the request role
too, through `leedz_search_lead_ids()`.

Trigram extraction keeps the characters the database's LC_CTYPE calls alphanumeric: under the
plain C locale Arabic letters are not, and Arabic text has no trigrams at all. Each assertion
names the database's LC_CTYPE.

Who may use the index matters as much: LIKE is not leakproof, so under the forced row-level
security of `leads` the request role could never use an index on `leads.search_text`
(docs/search.md). The index it uses is on `lead_search`, which has no forced RLS and which only
its owner reads, inside the SECURITY DEFINER function. The tests below pin down each condition
that makes that work, without timing anything.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, cast

import asyncpg
import pytest

from leedz.kit.db import Tx
from leedz.kit.events import EventBus
from leedz.leads.repository import LeadConditions, LeadQuerySpec, LeadSearch, index_probe
from leedz.leads.search import q_patterns
from tests.factories import bulk_leads
from tests.support.databases import APP_ROLE

INDEX = "ix_lead_search_tenant_id_search_text_trgm"
FUNCTION = "public.leedz_search_lead_ids(text[], integer, text[])"


async def _where(conn: asyncpg.Connection) -> str:
    row = await conn.fetchrow(
        "SELECT datctype AS ctype, datlocprovider::text AS provider,"
        " current_setting('server_version') AS v"
        " FROM pg_database WHERE datname = current_database()"
    )
    assert row is not None
    return f"PostgreSQL {row['v']}, LC_CTYPE {row['ctype']!r} (locale provider {row['provider']})"


async def test_arabic_text_has_trigrams(owner: asyncpg.Connection) -> None:
    where = await _where(owner)
    trigrams = await owner.fetchval("SELECT show_trgm('مؤسسة الأمل')")
    assert trigrams, f"no trigrams for Arabic text on {where}"
    assert len(trigrams) >= 8, f"{trigrams} on {where}"  # two words' worth
    similarity = await owner.fetchval("SELECT similarity('مؤسسة الأمل', 'مؤسسه الامل')")
    assert similarity > 0, f"similarity {similarity} on {where}"
    assert await owner.fetchval("SELECT similarity('مؤسسة الأمل', 'مطعم النور')") < similarity


@pytest.fixture
async def loaded(owner: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    tenants = []
    for label in ("Left", "Right"):
        tenant = await bulk_leads.tenant(owner, label)
        await bulk_leads.leads(owner, tenant, 20_000)
        tenants.append(tenant)
    await owner.execute("ANALYZE leads")
    # As autovacuum would after a bulk load: the trigram index's pending list merged into the
    # index proper (an index still holding 40,000 pending entries is costed as one to avoid),
    # and the statistics fresh.
    await owner.execute("VACUUM ANALYZE lead_search")
    return tenants[0], tenants[1]


async def _function_plan(
    conn: asyncpg.Connection, patterns: list[str], probes: list[str] | None = None
) -> str:
    """EXPLAIN of the statement the function runs, taken from its stored body, planned as the
    function has it planned (with its parameters' values, under its own settings): without
    probes the first statement, with them the second (migration 20261201_1910); the tenant
    written in as the function writes it (migration 20261203_1700)."""
    row = await conn.fetchrow(
        f"SELECT prosrc, proconfig FROM pg_proc WHERE oid = '{FUNCTION}'::regprocedure"
    )
    assert row is not None
    statements = re.findall(
        r"EXECUTE format\(\$q\$(.*?)\$q\$, tenant\) USING patterns, max_rows", row["prosrc"], re.S
    )
    assert len(statements) == 2, row["prosrc"]
    async with conn.transaction():
        for setting in row["proconfig"]:
            name, value = setting.split("=", 1)
            await conn.execute("SELECT set_config($1, $2, true)", name, value)
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        tenant = await conn.fetchval(
            "SELECT quote_nullable(NULLIF(current_setting('app.current_tenant_id', true), ''))"
        )
        statement = statements[0 if probes is None else 1].replace("%L", tenant)
        await conn.execute(f"PREPARE search_ids (text[], integer, text[]) AS {statement}")
        try:
            literal = await conn.fetchval("SELECT quote_literal($1::text[])", patterns)
            probed = await conn.fetchval("SELECT quote_nullable($1::text[])", probes)
            rows = await conn.fetch(f"EXPLAIN EXECUTE search_ids ({literal}, 10001, {probed})")
        finally:
            await conn.execute("DEALLOCATE search_ids")
    return "\n".join(r[0] for r in rows)


async def test_the_functions_query_uses_the_trigram_index(
    owner: asyncpg.Connection, loaded: tuple[uuid.UUID, uuid.UUID]
) -> None:
    where = await _where(owner)
    left, _ = loaded
    await owner.execute("SELECT set_config('app.current_tenant_id', $1, false)", str(left))
    try:
        for q in ("الرياض 1234", "مطعم الامل 99", "966500001234", "zq", "info@alnoor"):
            patterns = list(q_patterns(q, default_country="SA"))
            for probes in (None, list(dict.fromkeys(map(index_probe, patterns)))):
                plan = await _function_plan(owner, patterns, probes)
                assert f"Bitmap Index Scan on {INDEX}" in plan, f"q={q!r} on {where}:\n{plan}"
                assert "Index Cond: ((tenant_id = " in plan, plan  # the tenant is in the index
                assert "Seq Scan" not in plan, plan
                if probes is not None:
                    # The index is asked for the probes only; the patterns are a filter.
                    cond = next(line for line in plan.splitlines() if "Index Cond" in line)
                    assert all(p in cond for p in probes), plan
                    assert "(search_text || ''::text) ~~ ANY" in plan, plan
    finally:
        await owner.execute("RESET app.current_tenant_id")


async def test_the_function_runs_as_the_owner_of_a_table_without_forced_rls(
    owner: asyncpg.Connection,
) -> None:
    """The conditions under which the index can be used inside the function: it runs as its
    owner, who owns `lead_search`, on which RLS is not forced (so its owner, superuser or
    not, bypasses it; a forced policy would put LIKE behind its quals again)."""
    function = await owner.fetchrow(
        "SELECT prosecdef, provolatile::text, proowner::regrole::text AS owner, proconfig"
        f" FROM pg_proc WHERE oid = '{FUNCTION}'::regprocedure"
    )
    table = await owner.fetchrow(
        "SELECT relowner::regrole::text AS owner, relrowsecurity, relforcerowsecurity"
        " FROM pg_class WHERE oid = 'public.lead_search'::regclass"
    )
    assert function is not None
    assert table is not None
    assert function["prosecdef"], "leedz_search_lead_ids must be SECURITY DEFINER"
    assert function["provolatile"] == "s"  # STABLE
    assert function["owner"] == table["owner"]
    assert table["relrowsecurity"]
    assert not table["relforcerowsecurity"]
    assert "search_path=pg_catalog, public, pg_temp" in function["proconfig"]
    assert not await owner.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = 'public.leads'::regclass"
        " AND pg_get_indexdef(indexrelid) LIKE '%search_text%')"
    ), "an index on leads.search_text is dead weight: the request role cannot use it"


class _Recorder:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements: list[str] = []

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.statements.append(sql)
        return await self.conn.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return await self.conn.fetchval(sql, *args)


async def _leads_read(conn: asyncpg.Connection) -> int:
    """The rows of `leads` this transaction has read so far (statistics of the transaction)."""
    return int(
        await conn.fetchval(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_xact_user_tables WHERE relid = 'public.leads'::regclass"
        )
        or 0
    )


@pytest.mark.parametrize("q", ["966500001234", "ثثثخخ", "مطعم الامل 1234"])
async def test_a_rare_q_reads_only_the_leads_the_index_names(
    owner: asyncpg.Connection, loaded: tuple[uuid.UUID, uuid.UUID], q: str
) -> None:
    """As the request role: a page and a count of a rare (or absent) q ask the function and
    read a few hundred leads at most (the walk's first step and the matches), not the
    tenant's 3,000, nor anything of the other tenant's."""
    left, _ = loaded
    spec = LeadQuerySpec(conditions=(LeadConditions(patterns=q_patterns(q, default_country="SA")),))
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('role', $1, true), set_config('app.current_tenant_id', $2, true)",
            APP_ROLE,
            str(left),
        )
        recorder = _Recorder(owner)
        search = LeadSearch(Tx(cast(Any, recorder), left, None, EventBus()))
        before = await _leads_read(owner)
        hits = await search.page(spec, column="created_at", descending=True, after=None, limit=10)
        count = await LeadSearch(Tx(cast(Any, recorder), left, None, EventBus())).count(spec)
        read = await _leads_read(owner) - before
    assert len(hits) == min(count, 10)
    assert sum("leedz_search_lead_ids" in s for s in recorder.statements) == 2
    # The walk's first step reads 1,000 leads; the rest is what the index named.
    assert read <= 1000 + 3 * count + 10, f"{read} rows of leads read for q={q!r}"


async def test_a_common_q_is_not_read_through_the_index(
    owner: asyncpg.Connection, loaded: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """A q held by one lead in ten fills its page from the walk: the index is not asked."""
    left, _ = loaded
    spec = LeadQuerySpec(
        conditions=(LeadConditions(patterns=q_patterns("مطعم", default_country="SA")),)
    )
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('role', $1, true), set_config('app.current_tenant_id', $2, true)",
            APP_ROLE,
            str(left),
        )
        recorder = _Recorder(owner)
        hits = await LeadSearch(Tx(cast(Any, recorder), left, None, EventBus())).page(
            spec, column="created_at", descending=True, after=None, limit=50
        )
    assert len(hits) == 50
    assert not any("leedz_search_lead_ids" in s for s in recorder.statements)
