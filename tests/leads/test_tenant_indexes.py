"""A large tenant's own trigram index (leads/tenant_indexes.py, migration 20261203_1700): which
tenants a pass indexes and drops, that the search function's statement uses the index, and
that its answers stay what row-level security shows, for every setting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from leedz.app import create_app
from leedz.config import Settings
from leedz.leads import tenant_indexes
from leedz.leads.repository import TenantSearchIndexes
from leedz.leads.tenant_indexes import index_name, index_once
from tests.factories.accounts import Account, member, signup
from tests.leads.test_search_index import (
    PATTERN_SETS,
    as_app,
    from_function,
    from_leads,
    from_probed,
    make,
)
from tests.support.live import clean_env, leedz


@pytest.fixture
async def indexes(owner: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """The owner's connection; every tenant index a test built is dropped after it (the
    database outlives the test's tenants)."""
    yield owner
    await index_once(owner, min_leads=10**9)
    assert await _existing(owner) == {}


async def _existing(conn: asyncpg.Connection) -> dict[uuid.UUID, bool]:
    return await TenantSearchIndexes(conn).existing()


async def _names(conn: asyncpg.Connection) -> set[str]:
    return {index_name(t) for t in await _existing(conn)}


async def _tenant(client: httpx.AsyncClient, name: str, leads: int) -> Account:
    account = await signup(client, tenant_name=name)
    for n in range(leads):
        await make(client, account, f"مطعم الامل {name} {n}", emails=[f"info{n}@{name}.example"])
    return account


async def test_a_pass_indexes_the_large_tenants_and_drops_those_no_longer_large(
    client: httpx.AsyncClient, indexes: asyncpg.Connection
) -> None:
    large = await _tenant(client, "large", 4)
    small = await _tenant(client, "small", 1)
    large_id, small_id = uuid.UUID(large.tenant_id), uuid.UUID(small.tenant_id)

    first = await index_once(indexes, min_leads=3)
    assert first.built == [large_id]
    assert first.dropped == []
    assert await _names(indexes) == {index_name(large_id)}
    definition = await indexes.fetchval(
        "SELECT pg_get_indexdef(to_regclass('public.' || $1))", index_name(large_id)
    )
    assert "gin (search_text gin_trgm_ops)" in definition
    assert f"WHERE (tenant_id = '{large_id}'::uuid)" in definition

    again = await index_once(indexes, min_leads=3)
    assert (again.built, again.dropped) == ([], [])
    # Under the line but not under half of it: kept (no build and drop in turn).
    kept = await index_once(indexes, min_leads=8)
    assert (kept.built, kept.dropped) == ([], [])
    # Under half: dropped. The small tenant never had one.
    dropped = await index_once(indexes, min_leads=10)
    assert dropped.dropped == [large_id]
    assert await _names(indexes) == set()
    assert small_id not in first.built


async def test_a_tenant_gone_loses_its_index_and_an_invalid_one_is_built_again(
    client: httpx.AsyncClient, indexes: asyncpg.Connection
) -> None:
    large = await _tenant(client, "gone", 2)
    large_id = uuid.UUID(large.tenant_id)
    await index_once(indexes, min_leads=2)
    # A build cut short leaves an invalid index behind: the next pass drops and rebuilds it.
    if not await indexes.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        pytest.fail("the test servers' owner is a superuser (marks the index invalid)")
    await indexes.execute(
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass('public.' || $1)",
        index_name(large_id),
    )
    rebuilt = await index_once(indexes, min_leads=2)
    assert rebuilt.built == [large_id]
    assert await _existing(indexes) == {large_id: True}
    # An index left by a deleted tenant is dropped by the next pass.
    await indexes.execute("DELETE FROM tenants WHERE id = $1", large_id)
    gone = await index_once(indexes, min_leads=2)
    assert gone.dropped == [large_id]


async def test_a_second_pass_at_the_same_time_does_nothing(
    client: httpx.AsyncClient, indexes: asyncpg.Connection, database_url: str
) -> None:
    await _tenant(client, "busy", 2)
    other = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await other.fetchval(
            "SELECT pg_try_advisory_lock(hashtext($1))", tenant_indexes.LOCK
        )
        skipped = await index_once(indexes, min_leads=2)
        assert skipped.skipped
        assert skipped.built == []
    finally:
        await other.close()
    assert (await index_once(indexes, min_leads=2)).built != []


async def test_the_search_function_reads_the_tenants_own_index(
    client: httpx.AsyncClient, indexes: asyncpg.Connection
) -> None:
    """The statement the function runs, as auto_explain shows it: the tenant's own index."""
    large = await _tenant(client, "planned", 6)
    other = await _tenant(client, "other", 2)
    # Enough rows that an index beats walking the tenant's key: each lead copied 3,000 times
    # under new ids, names and search text (the copies' keys are not claimed; nothing here
    # reads them). The q matches the six leads, not the copies, as a real q matches a few of
    # a tenant's leads. Were it to match them all, any index listing the tenant's rows (the
    # shared trigram index, the similar-names one) would cost about what the tenant's own
    # does, and the planner's pick would turn on the indexes' statistics: it once took the
    # shared index on CI, whose statistics dated from a vacuum of a nearly empty table.
    columns = await indexes.fetch(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = 'leads' AND column_name <> 'id'"
        " AND is_generated = 'NEVER' ORDER BY ordinal_position"
    )
    names = ", ".join(c[0] for c in columns)
    copied = {"name", "name_sort", "search_text"}  # search_text: the service writes it
    values = ", ".join("'copy ' || g" if c[0] in copied else c[0] for c in columns)
    await indexes.execute(
        f"INSERT INTO leads (id, {names}) SELECT gen_random_uuid(), {values}"
        " FROM leads, generate_series(1, 3000) AS g"
    )
    await indexes.execute("VACUUM ANALYZE lead_search")
    await index_once(indexes, min_leads=18_000)
    plans: list[str] = []

    def listen(_: object, message: object) -> None:
        plans.append(str(message))

    indexes.add_log_listener(listen)
    try:
        await indexes.execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;"
            " SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice"
        )
        for account in (large, other):
            async with as_app(indexes, account.tenant_id, account.user_id) as conn:
                found = await from_probed(conn, ["%info alnoor%", "%مطعم الامل%"], 30_000)
                assert len(found) == (6 if account is large else 2)
        for account, expected in ((large, True), (other, False)):
            uses = [p for p in plans if index_name(uuid.UUID(account.tenant_id)) in p]
            scans = [line for p in plans for line in p.splitlines() if "Index" in line]
            assert bool(uses) is expected, scans
    finally:
        await indexes.execute("SET auto_explain.log_min_duration = -1")
        indexes.remove_log_listener(listen)


async def test_the_function_answers_what_rls_shows_with_the_tenants_indexes(
    client: httpx.AsyncClient, indexes: asyncpg.Connection
) -> None:
    boss = await _tenant(client, "boss", 3)
    # A SALES member who may see only their own and unassigned leads: the colleague's two
    # leads must not come back through the tenant's own index either.
    sales = await member(client, boss, "SALES")
    colleague = await member(client, boss, "SALES")
    await make(client, boss, "Cafe Royal", phones=["0501112233"], ownerId=colleague.user_id)
    await make(client, boss, "مطعم الامل الاخر", ownerId=colleague.user_id)
    await make(client, boss, "مطعم الامل لي", ownerId=sales.user_id)
    response = await client.patch(
        "/v1/tenants/current",
        json={"settings": {"salesSeeAllLeads": False}},
        headers=boss.headers,
    )
    assert response.status_code == 200, response.text
    stranger = await _tenant(client, "stranger", 3)
    await index_once(indexes, min_leads=3)
    assert len(await _existing(indexes)) == 2
    async with as_app(indexes, boss.tenant_id, sales.user_id) as conn:
        seen = await from_probed(conn, ["%مطعم الامل%"])
        assert len(seen) == 4  # the three unassigned and their own, not the colleague's
    answered = 0
    for tenant, user in [
        (boss.tenant_id, boss.user_id),
        (boss.tenant_id, sales.user_id),
        (stranger.tenant_id, boss.user_id),
        (str(uuid.uuid4()), boss.user_id),
        (None, None),
    ]:
        for patterns in PATTERN_SETS:
            async with as_app(indexes, tenant, user) as conn:
                expected = await from_leads(conn, patterns)
                assert await from_function(conn, patterns) == expected, (tenant, patterns)
                assert await from_probed(conn, patterns) == expected, (tenant, patterns)
                answered += len(expected)
    assert answered > 10


async def test_the_cli_indexes_too(
    client: httpx.AsyncClient, indexes: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    """`leedz leads index-search`, for operators: the setting's size, or the one given."""
    large = await _tenant(client, "cli", 2)
    env = {**clean_env(tmp_path), "DATABASE_URL": database_url}

    async def cli(*args: str) -> str:
        return await leedz("leads", "index-search", *args, env=env)

    assert "built 0 workspace indexes, dropped 0" in await cli()  # 100,000 leads by default
    assert "built 1 workspace indexes, dropped 0" in await cli("--min-leads", "2")
    assert await _names(indexes) == {index_name(uuid.UUID(large.tenant_id))}


async def test_the_server_indexes_periodically(
    client: httpx.AsyncClient, indexes: asyncpg.Connection, settings: Settings, database_url: str
) -> None:
    large = await _tenant(client, "served", 2)
    quick = settings.model_copy(
        update={"search_tenant_index_interval_seconds": 0.2, "search_tenant_index_min_leads": 2}
    )
    app = create_app(quick, database_url=database_url)
    built = {uuid.UUID(large.tenant_id): True}
    # Until built and valid: CREATE INDEX CONCURRENTLY lists the index, invalid, from the start
    # of its build (CI once saw it there, between the two).
    async with app.router.lifespan_context(app), asyncio.timeout(10):
        while await _existing(indexes) != built:  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.05)
    assert await _existing(indexes) == built
