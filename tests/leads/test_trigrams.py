"""pg_trgm on the server the suite runs on (CI: the embedded PostgreSQL 18 and PostgreSQL 15):
Arabic text has trigrams, and the trigram index serves an Arabic LIKE.

Trigram extraction keeps the characters the database's LC_CTYPE calls alphanumeric: under the
plain C locale Arabic letters are not, and Arabic text has no trigrams at all. Each assertion
names the database's LC_CTYPE.

Who may use the index matters as much: LIKE is not leakproof, so under the forced row-level
security of `leads` the request role cannot use it (docs/search.md). The last test pins that
down, so that a change on either side is seen here.
"""

from __future__ import annotations

import asyncpg
import pytest

from tests.factories import bulk_leads
from tests.support.databases import APP_ROLE


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
async def loaded(owner: asyncpg.Connection) -> asyncpg.Connection:
    for label in ("Left", "Right"):
        await bulk_leads.leads(owner, await bulk_leads.tenant(owner, label), 3000)
    await owner.execute("ANALYZE leads")
    return owner


async def _plan(conn: asyncpg.Connection, sql: str) -> str:
    rows = await conn.fetch("EXPLAIN " + sql)
    return "\n".join(r[0] for r in rows)


ARABIC_SEARCH = "SELECT id FROM leads WHERE search_text LIKE '%الرياض%'"


async def test_the_trigram_index_serves_an_arabic_like(loaded: asyncpg.Connection) -> None:
    where = await _where(loaded)
    bypass = await loaded.fetchval(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert bypass, "the suite's owner connection is expected to bypass RLS (a superuser)"
    async with loaded.transaction():
        await loaded.execute("SET LOCAL enable_seqscan = off")
        plan = await _plan(loaded, ARABIC_SEARCH)
    assert "ix_leads_search_text_trgm" in plan, f"{where}:\n{plan}"


async def test_the_request_role_may_use_it_only_if_like_is_leakproof(
    loaded: asyncpg.Connection,
) -> None:
    where = await _where(loaded)
    leakproof = await loaded.fetchval(
        "SELECT proleakproof FROM pg_proc WHERE oid = 'textlike'::regproc"
    )
    tenant = await loaded.fetchval("SELECT tenant_id FROM leads LIMIT 1")
    async with loaded.transaction():
        await loaded.execute(
            "SELECT set_config('role', $1, true), set_config('app.current_tenant_id', $2, true)",
            APP_ROLE,
            str(tenant),
        )
        await loaded.execute("SET LOCAL enable_seqscan = off")
        plan = await _plan(loaded, ARABIC_SEARCH + f" AND tenant_id = '{tenant}'")
    uses = "ix_leads_search_text_trgm" in plan
    assert uses == leakproof, (
        f"{where}: textlike leakproof={leakproof}, index used={uses} as {APP_ROLE}; "
        f"docs/search.md says why it matters:\n{plan}"
    )
