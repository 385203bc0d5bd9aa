"""`lead_search` and `leedz_search_lead_ids()` (migration 20261201_1700, docs/search.md): what the
function answers and to whom, who may touch what, how the table keeps in step with `leads`, and
that a search read through it finds exactly what the other paths find.

The function trusts `app.current_tenant_id` exactly as the row-level security policies do: the
request role sets it, the function reads it. So the tests compare its answer with what the
request role may read of `leads` under RLS with the same settings, for every setting tried,
including a tenant id the caller has no business naming — the same trust, nothing more.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from leedz.config import Settings
from leedz.kit.db import Database
from leedz.leads import repository
from leedz.leads.repository import LeadSearch, index_probe, like_has_trigram
from leedz.leads.search import q_patterns
from leedz.trash.purge import TrashPurger
from tests.factories.accounts import Account, member, on_plan, signup
from tests.support.databases import APP_ROLE

FUNCTION = "public.leedz_search_lead_ids(text[], integer, text[])"
SYNC = "public.leedz_lead_search_sync()"
COPIED = "owner_id, search_text, name_sort, merged_into_id"  # what lead_search copies of a lead


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="Index")
    await on_plan(owner, account, "PRO")
    return account


async def make(client: httpx.AsyncClient, who: Account, name: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/leads", json={"name": name, **fields}, headers=who.headers)
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def patch(
    client: httpx.AsyncClient, who: Account, lead_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.patch(f"/v1/leads/{lead_id}", json=body, headers=who.headers)
    assert response.status_code == 200, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def found(client: httpx.AsyncClient, who: Account, q: str, **params: Any) -> set[str]:
    response = await client.get("/v1/leads", params={"q": q, **params}, headers=who.headers)
    assert response.status_code == 200, response.text
    return {lead["id"] for lead in response.json()["items"]}


async def assert_in_step(owner: asyncpg.Connection) -> None:
    """`lead_search` holds exactly one row per lead, with its tenant and the columns it copies."""
    missing = await owner.fetch(
        f"SELECT tenant_id, id, {COPIED} FROM leads"
        f" EXCEPT SELECT tenant_id, lead_id, {COPIED} FROM lead_search"
    )
    extra = await owner.fetch(
        f"SELECT tenant_id, lead_id, {COPIED} FROM lead_search"
        f" EXCEPT SELECT tenant_id, id, {COPIED} FROM leads"
    )
    assert [dict(r) for r in missing] == [], "leads without their lead_search row"
    assert [dict(r) for r in extra] == [], "lead_search rows of no lead, or stale"


@asynccontextmanager
async def as_app(
    conn: asyncpg.Connection, tenant: str | None, user: str | None = None
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction as the request role with these settings, rolled back after."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(
            "SELECT set_config('role', $1, true), set_config('app.current_tenant_id', $2, true),"
            " set_config('app.current_user_id', $3, true)",
            APP_ROLE,
            tenant or "",
            user or "",
        )
        yield conn
    finally:
        await tx.rollback()


async def from_function(conn: asyncpg.Connection, patterns: list[str], cap: int = 1000) -> set[Any]:
    rows = await conn.fetch("SELECT * FROM leedz_search_lead_ids($1::text[], $2)", patterns, cap)
    return {r["lead_id"] for r in rows}


async def from_probed(conn: asyncpg.Connection, patterns: list[str], cap: int = 1000) -> set[Any]:
    """The function asked with the probes the repository asks it with."""
    probes = list(dict.fromkeys(map(index_probe, patterns)))
    rows = await conn.fetch(
        "SELECT * FROM leedz_search_lead_ids($1::text[], $2, $3::text[])", patterns, cap, probes
    )
    return {r["lead_id"] for r in rows}


async def from_leads(conn: asyncpg.Connection, patterns: list[str]) -> set[Any]:
    """What the request role may read of `leads` under RLS, the slow way."""
    rows = await conn.fetch(
        "SELECT id FROM leads WHERE search_text LIKE ANY ($1::text[])", patterns
    )
    return {r["id"] for r in rows}


# ---------------------------------------------------------------------------------------------
# What the function answers, and to whom


@pytest.fixture
async def two_tenants(
    client: httpx.AsyncClient, boss: Account
) -> tuple[Account, Account, Account, Account]:
    """The boss's tenant (a SALES member, leads owned by each and unassigned) and another
    tenant whose lead has the same words."""
    sales = await member(client, boss, "SALES")
    colleague = await member(client, boss, "SALES")
    await make(client, boss, "مطعم الامل", phones=["0501112233"], ownerId=sales.user_id)
    await make(client, boss, "مطعم النور", emails=["info@alnoor.com.sa"])
    await make(client, boss, "Cafe Royal", ownerId=colleague.user_id)
    await make(client, boss, "Boss Bakery", ownerId=boss.user_id, phones=["0504445566"])
    stranger = await signup(client, tenant_name="Elsewhere")
    await make(client, stranger, "مطعم الامل الاخر", phones=["0501112233"])
    return boss, sales, colleague, stranger


PATTERN_SETS = [
    ["%مطعم%"],
    ["%501112233%"],
    ["%cafe%", "%bakery%"],
    ["%alnoor%"],
    ["m%", "% m%"],
    ["%مطعم الامل%"],  # probed as %مطعم%الامل%
    ["%info alnoor%", "%info@alnoor%"],  # probed as %info%alnoor%
]


async def test_the_function_answers_what_rls_shows_for_every_setting(
    owner: asyncpg.Connection,
    client: httpx.AsyncClient,
    two_tenants: tuple[Account, Account, Account, Account],
) -> None:
    boss, sales, _, stranger = two_tenants
    response = await client.patch(
        "/v1/tenants/current",
        json={"settings": {"salesSeeAllLeads": False}},
        headers=boss.headers,
    )
    assert response.status_code == 200, response.text
    settings: list[tuple[str | None, str | None]] = [
        (boss.tenant_id, boss.user_id),
        (boss.tenant_id, sales.user_id),  # own and unassigned leads only
        (boss.tenant_id, None),
        (stranger.tenant_id, stranger.user_id),
        # A tenant the caller names without belonging to it: RLS trusts the setting, and so
        # does the function (the request role's transactions set it from a verified token).
        (stranger.tenant_id, boss.user_id),
        (str(uuid.uuid4()), boss.user_id),  # no such tenant
        (None, boss.user_id),  # no tenant: nothing
        (None, None),
    ]
    answered = 0
    for tenant, user in settings:
        for patterns in PATTERN_SETS:
            async with as_app(owner, tenant, user) as conn:
                expected = await from_leads(conn, patterns)
                assert await from_function(conn, patterns) == expected, (tenant, user, patterns)
                assert await from_probed(conn, patterns) == expected, (tenant, user, patterns)
                answered += len(expected)
    assert answered > 10  # not all empty


async def test_the_function_keeps_to_the_tenant_and_the_sales_rule(
    owner: asyncpg.Connection,
    client: httpx.AsyncClient,
    two_tenants: tuple[Account, Account, Account, Account],
) -> None:
    boss, sales, _, stranger = two_tenants
    async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
        mine = await from_function(conn, ["%مطعم%"])
        assert len(mine) == 2
        assert await from_function(conn, ["%الاخر%"]) == set()  # only the stranger's has it
    async with as_app(owner, stranger.tenant_id, stranger.user_id) as conn:
        assert len(await from_function(conn, ["%مطعم%"])) == 1
    for tenant in (None, ""):
        async with as_app(owner, tenant, boss.user_id) as conn:
            assert await from_function(conn, ["%مطعم%"]) == set()
    async with as_app(owner, str(uuid.uuid4()), boss.user_id) as conn:
        assert await from_function(conn, ["%مطعم%"]) == set()
    await client.patch(
        "/v1/tenants/current",
        json={"settings": {"salesSeeAllLeads": False}},
        headers=boss.headers,
    )
    async with as_app(owner, boss.tenant_id, sales.user_id) as conn:
        names = await conn.fetch(
            "SELECT name FROM leads WHERE id = ANY ($1::uuid[])",
            list(await from_function(conn, ["%a%", "%م%"])),
        )
    assert {r["name"] for r in names} == {"مطعم الامل", "مطعم النور"}  # not Cafe Royal, Boss


async def test_the_function_stops_at_max_rows(
    owner: asyncpg.Connection, two_tenants: tuple[Account, Account, Account, Account]
) -> None:
    boss = two_tenants[0]
    async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
        assert len(await from_function(conn, ["%a%", "%م%"], cap=2)) == 2
        assert len(await from_function(conn, ["%a%", "%م%"], cap=0)) == 0
        assert len(await from_function(conn, ["%a%", "%م%"])) == 4


async def test_a_temporary_table_cannot_stand_in_for_lead_search(
    owner: asyncpg.Connection,
    client: httpx.AsyncClient,
    two_tenants: tuple[Account, Account, Account, Account],
) -> None:
    """Both functions name `public.lead_search` and put pg_temp last in their search_path: a
    temporary table of the request role's session is neither read nor written."""
    boss = two_tenants[0]
    fake = uuid.uuid4()
    async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
        await conn.execute(
            "CREATE TEMPORARY TABLE lead_search"
            " (tenant_id uuid, lead_id uuid, owner_id uuid, search_text text)"
        )
        await conn.execute(
            "INSERT INTO lead_search VALUES ($1::uuid, $2, NULL, 'مطعم fake')", boss.tenant_id, fake
        )
        assert fake not in await from_function(conn, ["%مطعم%"])
        assert len(await from_function(conn, ["%مطعم%"])) == 2
        lead = await conn.fetchval(
            "INSERT INTO leads (tenant_id, name, source_type, search_text)"
            " VALUES ($1::uuid, 'x', 'MANUAL', 'zzqqxx') RETURNING id",
            boss.tenant_id,
        )
        assert await from_function(conn, ["%zzqqxx%"]) == {lead}
        assert await conn.fetchval("SELECT count(*) FROM pg_temp.lead_search") == 1


# ---------------------------------------------------------------------------------------------
# Privileges


async def test_only_the_request_role_may_call_the_search_function(
    owner: asyncpg.Connection,
) -> None:
    async def can(role: str, function: str) -> bool:
        return bool(
            await owner.fetchval("SELECT has_function_privilege($1, $2, 'EXECUTE')", role, function)
        )

    assert await can(APP_ROLE, FUNCTION)
    for role in ("public", f"{APP_ROLE}_reaper", f"{APP_ROLE}_purger"):
        assert not await can(role, FUNCTION), role
    for role in ("public", APP_ROLE, f"{APP_ROLE}_reaper", f"{APP_ROLE}_purger"):
        assert not await can(role, SYNC), role


async def test_the_request_role_cannot_call_the_trigger_function(
    owner: asyncpg.Connection, boss: Account
) -> None:
    async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"SELECT {SYNC}")


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count(*) FROM lead_search",
        "INSERT INTO lead_search (tenant_id, lead_id, search_text)"
        " VALUES (NULLIF(current_setting('app.current_tenant_id'), '')::uuid,"
        " gen_random_uuid(), 'x')",
        "UPDATE lead_search SET search_text = 'x'",
        "DELETE FROM lead_search",
        "ALTER TABLE lead_search DISABLE ROW LEVEL SECURITY",
        "DROP TRIGGER lead_search_insert ON leads",
        "ALTER TABLE leads DISABLE TRIGGER lead_search_update",
        "CREATE OR REPLACE FUNCTION public.leedz_search_lead_ids(patterns text[],"
        " max_rows integer, probes text[]) RETURNS TABLE (tenant_id uuid, lead_id uuid)"
        " LANGUAGE sql"
        " AS 'SELECT tenant_id, lead_id FROM public.lead_search'",
    ],
)
async def test_the_request_role_cannot_read_write_or_disarm_it(
    owner: asyncpg.Connection, boss: Account, statement: str
) -> None:
    async with as_app(owner, boss.tenant_id, boss.user_id) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)


# ---------------------------------------------------------------------------------------------
# In step with leads


async def test_create_and_patch_keep_it_in_step(
    owner: asyncpg.Connection, client: httpx.AsyncClient, boss: Account
) -> None:
    lead = await make(client, boss, "Old Name Trading", phones=["0501234567"])
    await assert_in_step(owner)
    assert await found(client, boss, "old name") == {lead["id"]}
    sales = await member(client, boss, "SALES")
    updates: list[dict[str, Any]] = [
        {"name": "مؤسسة الياسمين"},
        {"phones": ["+971551112233"]},
        {"emails": ["hello@yasmin.ae"]},
        {"contactName": "خالد"},
        {"website": "https://yasmin-flowers.ae"},
        {"ownerId": sales.user_id},
        {"status": "WON"},  # not in the search text: no write to lead_search
        {"ownerId": None},
    ]
    for update in updates:
        await patch(client, boss, lead["id"], update)
        await assert_in_step(owner)
    for q in ["الياسمين", "055 111 2233", "hello@yasmin", "خالد", "yasmin-flowers"]:
        assert await found(client, boss, q) == {lead["id"]}, q
    for q in ["old name", "0501234567"]:
        assert await found(client, boss, q) == set(), q


async def test_a_status_change_does_not_write_lead_search(
    owner: asyncpg.Connection, client: httpx.AsyncClient, boss: Account
) -> None:
    lead = await make(client, boss, "Quiet Lead")
    before = await owner.fetchval(
        "SELECT xmin::text FROM lead_search WHERE lead_id = $1::uuid", lead["id"]
    )
    await patch(client, boss, lead["id"], {"status": "CONTACTED"})
    after = await owner.fetchval(
        "SELECT xmin::text FROM lead_search WHERE lead_id = $1::uuid", lead["id"]
    )
    assert before == after


async def test_merge_and_undo_keep_it_in_step(
    owner: asyncpg.Connection, client: httpx.AsyncClient, boss: Account
) -> None:
    survivor = await make(client, boss, "Survivor Co", phones=["0501111111"])
    merged = await make(client, boss, "Folded Co", phones=["0502222222"], emails=["f@folded.sa"])
    response = await client.post(
        f"/v1/leads/{survivor['id']}/merge",
        json={"leadIds": [merged["id"]]},
        headers=boss.headers,
    )
    assert response.status_code == 200, response.text
    await assert_in_step(owner)
    # The merged lead's row stays (its lead does, for undo); the search never shows it.
    assert await found(client, boss, "folded co") == set()
    assert await found(client, boss, "0502222222") == {survivor["id"]}  # the phone moved
    response = await client.post(
        f"/v1/lead-merges/{response.json()['mergeId']}/undo", headers=boss.headers
    )
    assert response.status_code == 200, response.text
    await assert_in_step(owner)
    assert await found(client, boss, "folded co") == {merged["id"]}
    assert await found(client, boss, "0502222222") == {merged["id"]}


@pytest.fixture
async def database(settings: Settings, database_url: str) -> AsyncIterator[Database]:
    db = Database(settings, database_url)
    await db.start()
    try:
        yield db
    finally:
        await db.dispose()


async def test_trash_restore_purge_and_tenant_deletion(
    owner: asyncpg.Connection,
    client: httpx.AsyncClient,
    boss: Account,
    settings: Settings,
    database: Database,
) -> None:
    lead = await make(client, boss, "Trashed Trading")
    other = await make(client, boss, "Kept Trading")
    response = await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
    assert response.status_code == 204, response.text
    await assert_in_step(owner)  # the row stays while the lead is in the trash
    assert await found(client, boss, "trashed") == set()
    assert await found(client, boss, "trashed", deleted="true") == {lead["id"]}
    response = await client.post(f"/v1/leads/{lead['id']}/restore", headers=boss.headers)
    assert response.status_code == 200, response.text
    assert await found(client, boss, "trashed") == {lead["id"]}

    await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
    await owner.execute(
        "UPDATE leads SET deleted_at = now() - interval '31 days' WHERE id = $1::uuid", lead["id"]
    )
    purger = TrashPurger(database, role=settings.db_purger_role, retention_days=30, interval=3600)
    assert (await purger.purge_once()).leads >= 1
    await assert_in_step(owner)
    assert not await owner.fetchval(
        "SELECT count(*) FROM lead_search WHERE lead_id = $1::uuid", lead["id"]
    )

    # A member leaving unassigns their leads (ON DELETE SET NULL): the copy follows.
    sales = await member(client, boss, "SALES")
    await patch(client, boss, other["id"], {"ownerId": sales.user_id})
    await owner.execute("DELETE FROM memberships WHERE user_id = $1::uuid", sales.user_id)
    await assert_in_step(owner)
    assert (
        await owner.fetchval(
            "SELECT owner_id FROM lead_search WHERE lead_id = $1::uuid", other["id"]
        )
        is None
    )

    await owner.execute("DELETE FROM tenants WHERE id = $1::uuid", boss.tenant_id)
    assert not await owner.fetchval(
        "SELECT count(*) FROM lead_search WHERE tenant_id = $1::uuid", boss.tenant_id
    )


# ---------------------------------------------------------------------------------------------
# The index path finds what the other paths find

_TINY_WALK = {"WALK_FIRST_ROWS": (1, 1), "WALK_MAX_ROWS": 0, "WALK_INDEXED_ROWS": 0}
PATHS: dict[str, dict[str, Any]] = {
    # Straight to the index after one lead walked: the probe answers.
    "index": _TINY_WALK,
    # The probe finds more than one match, the walk goes on (no further here), the second ask
    # answers.
    "second ask": {**_TINY_WALK, "INDEX_PROBE_IDS": 1},
    # The index never asked (a cap of 0 asks nothing): walk on, then read every candidate, as
    # before there was an index.
    "scan": {**_TINY_WALK, "INDEX_PROBE_IDS": 0, "INDEX_MAX_IDS": 0},
    "default": {},
}

WORLD: list[tuple[str, dict[str, Any]]] = [
    ("مؤسسة الأمل", {"phones": ["0501234567"], "emails": ["Sales@Royal.com.sa"]}),
    ("مكتبة إقرأ", {"website": "https://www.royal.com.sa/ar/"}),
    ("Café Royal", {"contactName": "Khalid أحمد"}),
    ("Blue Cat", {"phones": ["+971551112233"]}),
    ("Deca Store", {"emails": ["a_b@alpha.com.sa"]}),
    ("مطعم الامل", {"phones": ["010 9876 5432"], "country": "EG"}),
    ("متجر ٣٦٥", {}),
    ("100% Natural", {}),
]
QUERIES = [
    "الامل", "الإمل", "مؤسسه", "050 123 4567", "+966501234567", "٠٥٠١٢٣٤٥٦٧", "123 4567",
    "0551112233", "+20 10 9876 5432", "sales@royal", "@royal.com", "www.royal.com.sa",
    "https://royal.com.sa/contact", "khalid", "CAFE", "oya", "ca", "C", "أل", "st", "a_b@",
    "a%b", "100%", "%", "_", "365", "٣٦٥", "zzqx", "ثثثخخ", "com.sa", "e",
]  # fmt: skip


async def _answers(client: httpx.AsyncClient, boss: Account) -> dict[Any, tuple[list[str], int]]:
    """For every q and a few sorts: the ids of every page (two leads a page), and the count."""
    answers: dict[Any, tuple[list[str], int]] = {}
    for q in QUERIES:
        response = await client.get("/v1/leads/count", params={"q": q}, headers=boss.headers)
        total = response.json()["count"]
        for sort in ("-createdAt", "name", "-rating"):
            ids: list[str] = []
            params: dict[str, Any] = {"q": q, "sort": sort, "limit": 2}
            for _ in range(20):
                body = (await client.get("/v1/leads", params=params, headers=boss.headers)).json()
                ids += [lead["id"] for lead in body["items"]]
                if body["nextCursor"] is None:
                    break
                params["cursor"] = body["nextCursor"]
            answers[(q, sort)] = (ids, total)
    return answers


async def test_every_path_finds_the_same_leads_in_the_same_order(
    client: httpx.AsyncClient,
    boss: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, fields in WORLD:
        await make(client, boss, name, **fields)
    asked: list[int] = []
    real = LeadSearch.matching_ids

    async def spy(self: LeadSearch, patterns: Any, *, cap: int) -> Any:
        asked.append(cap)
        return await real(self, patterns, cap=cap)

    monkeypatch.setattr(LeadSearch, "matching_ids", spy)
    answers = {}
    for path, constants in PATHS.items():
        with monkeypatch.context() as patched:
            for constant, value in constants.items():
                patched.setattr(repository, constant, value)
            answers[path] = await _answers(client, boss)
    for path in PATHS:
        assert answers[path] == answers["default"], path
    assert {1, repository.INDEX_PROBE_IDS, repository.INDEX_MAX_IDS} <= set(asked)
    for key, (ids, total) in answers["default"].items():
        assert len(ids) == total, key
    assert sum(bool(ids) for ids, _ in answers["default"].values()) > len(QUERIES)


def test_which_patterns_have_a_trigram() -> None:
    """Mirrors pg_trgm's reading of a LIKE pattern: a word padded where it is not next to a
    wildcard; 3 characters or more is a trigram."""
    assert like_has_trigram("%مطعم%")
    assert like_has_trigram("%abc%")
    assert like_has_trigram("ca%")
    assert like_has_trigram("% ca%")
    assert like_has_trigram("c%")
    assert like_has_trigram("% c%")
    assert like_has_trigram("%ab cd%")  # 'ab ' and '  c'
    assert like_has_trigram("%@royal%")  # '@' bounds the word
    assert not like_has_trigram("%@@@%")
    assert not like_has_trigram("%\\%\\_%")  # escaped wildcards are punctuation
    assert not like_has_trigram("%ab%")  # unbounded on both sides
    assert not like_has_trigram("%a.%")  # 'a ' only
    assert like_has_trigram("%a.b%")  # '  b'
    for q in ["الامل", "050 123", "sales@royal", "ca", "365", "a_b@", "100%"]:
        assert all(like_has_trigram(p) for p in q_patterns(q, default_country="SA")), q


async def test_pg_trgm_agrees_about_which_patterns_have_a_trigram(
    owner: asyncpg.Connection,
) -> None:
    """A pattern without a trigram makes a GIN index scan read the whole index; the index
    says so by reading it all (show the pattern to the planner: it picks no index for it)."""
    async with owner.transaction():
        await owner.execute("CREATE TEMPORARY TABLE t (s text) ON COMMIT DROP")
        await owner.execute("INSERT INTO t SELECT 'word ' || g FROM generate_series(1, 2000) g")
        await owner.execute("CREATE INDEX ON t USING gin (s gin_trgm_ops)")
        await owner.execute("ANALYZE t")
        await owner.execute("SET LOCAL enable_seqscan = off")
        patterns = ["%مطعم%", "%abc%", "ca%", "% c%", "%@royal%", "%@@@%", "%ab%", "%a.%", "%a.b%"]
        for pattern in patterns:
            literal = await owner.fetchval("SELECT quote_literal($1::text)", pattern)
            plan = "\n".join(
                r[0]
                for r in await owner.fetch(
                    f"EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM t WHERE s LIKE {literal}"
                )
            )
            # Without a trigram the index hands over every row for the recheck.
            reads_all = re.search(r"Bitmap Index Scan on \S+ \(actual [^)]*rows=2000(\.00)? ", plan)
            assert like_has_trigram(pattern) != bool(reads_all), f"{pattern}:\n{plan}"


# ---------------------------------------------------------------------------------------------
# Probes: what the index is asked for (migration 20261201_1910)


def test_a_probe_drops_the_padding_between_long_words() -> None:
    assert index_probe("%info@alnoor%") == "%info%alnoor%"
    assert index_probe("%info alnoor%") == "%info%alnoor%"
    assert index_probe("%alamal-trading%") == "%alamal%trading%"
    assert index_probe("%مطعم الريان%") == "%مطعم%الريان%"
    assert index_probe("%@royal.com%") == "%royal%com%"
    assert index_probe("%alfajr-bakery1234.com.sa%") == "%alfajr%bakery1234%com.sa%"
    # A short word keeps its padding: it is all that narrows there.
    assert index_probe("%al noor%") == "%al noor%"
    assert index_probe("%cafe de paris%") == "%cafe de paris%"
    assert index_probe("% ca%") == "% ca%"
    # So does a word of digits (a digit word's start is rare: a phone's digits are one word).
    assert index_probe("%966 55 12%") == "%966 55 12%"
    assert index_probe("%050 123%") == "%050 123%"
    # Escaped wildcards stay literal; nothing is left without a trigram.
    assert index_probe("%100\\%%") == "%100\\%%"
    assert index_probe("%a\\_b@%") == "%a\\_b@%"
    assert index_probe("%@@@%") == "%@@@%"
    assert index_probe("abc def%") == "abc%def%"  # still anchored at the start
    for q in ["الامل", "050 123", "sales@royal", "ca", "365", "a_b@", "100%", "info@alnoor"]:
        assert all(like_has_trigram(index_probe(p)) for p in q_patterns(q, default_country="SA"))


TEXTS = [
    "info alnoor | info@alnoor.com.sa",
    "alnoor info | sales@alnoor.sa",  # both words, neither in order
    "مطعم الريان | 966501234567",
    "الريان مطعم",
    "مطعمالريان",
    "alamal trading | ops@alamal-trading.com",
    "alamaltrading",
    "100% natural",
    "100 natural",
    "a_b@alpha.com.sa",
    "axb@alpha.com.sa",
    "cafe de paris",
]
PATTERNS = [
    "%info@alnoor%", "%info alnoor%", "%مطعم الريان%", "%alamal-trading%", "%alamal trading%",
    "%100\\%%", "%a\\_b@%", "%cafe de paris%", "%@alpha.com.sa%", "abc def%", "%natural",
]  # fmt: skip


async def test_a_probe_matches_every_text_its_pattern_matches(owner: asyncpg.Connection) -> None:
    """A superset, checked by PostgreSQL's own LIKE: the function then keeps exactly the
    pattern's matches."""
    rows = await owner.fetch(
        "SELECT t, p, t LIKE p AS hit, t LIKE q AS probed"
        " FROM unnest($1::text[]) t, unnest($2::text[], $3::text[]) AS x(p, q)",
        TEXTS,
        PATTERNS,
        [index_probe(p) for p in PATTERNS],
    )
    assert all(r["probed"] for r in rows if r["hit"]), [dict(r) for r in rows if r["hit"]]
    assert sum(r["hit"] for r in rows) >= 8
    # And the probes are wider: some texts only they match (which the function filters out).
    assert any(r["probed"] and not r["hit"] for r in rows)


async def test_a_probed_q_pages_like_the_scan(
    client: httpx.AsyncClient, boss: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the API, with the walk cut short so that the index answers: a probed q held by
    more leads than a page and one held by a single lead page exactly as reading every
    candidate does, look-alikes the probe lets through (the words apart or reversed) left out."""
    for i in range(7):
        await make(client, boss, f"مطعم الريان {i}", emails=[f"info{i}@alnoor{i}.com"])
    for i, name in enumerate(("الريان مطعم", "مطعمالريان", "مطعم الامل الريان")):
        await make(client, boss, name, emails=[f"alnoor{i}@info.com"])
    await make(client, boss, "Alnoor Info", emails=["info@alnoor.com.sa"])

    async def pages(q: str) -> list[str]:
        ids: list[str] = []
        params: dict[str, Any] = {"q": q, "limit": 3}
        for _ in range(10):
            body = (await client.get("/v1/leads", params=params, headers=boss.headers)).json()
            ids += [lead["name"] for lead in body["items"]]
            if body["nextCursor"] is None:
                return ids
            params["cursor"] = body["nextCursor"]
        raise AssertionError("too many pages")

    asked: list[Any] = []
    real = LeadSearch.matching_ids

    async def spy(self: LeadSearch, patterns: Any, *, cap: int) -> Any:
        asked.append(list(patterns))
        return await real(self, patterns, cap=cap)

    monkeypatch.setattr(LeadSearch, "matching_ids", spy)
    answers = {}
    for path in ("index", "scan"):
        with monkeypatch.context() as patched:
            for constant, value in PATHS[path].items():
                patched.setattr(repository, constant, value)
            answers[path] = {q: await pages(q) for q in ("مطعم الريان", "info@alnoor.com")}
    assert answers["index"] == answers["scan"]
    assert answers["index"]["مطعم الريان"] == [f"مطعم الريان {i}" for i in reversed(range(7))]
    assert answers["index"]["info@alnoor.com"] == ["Alnoor Info"]
    assert any(index_probe(p) != p for patterns in asked for p in patterns)
