"""The benchmarks' own code, cheaply: every module imports, the lead loader stores leads as the
app would (at 1,000 leads a tenant), the write benchmark's requests are answered 201 by the
app and by its ceiling, and the ceiling finds the app's page for every q of the search mix.
Speed is measured by `make bench`, never here."""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from bench.evidence_ingest import BATCH, NEW_PER_BATCH, Uploads
from fastapi import FastAPI

import bench
from bench import lead_search, lead_write, leads_data
from leedz.config import Settings
from leedz.kit.db import init_connection
from leedz.leads.normalize import normalize_phone
from leedz.leads.record import derived_columns, identity_keys
from tests.resolution.support import workspace
from tests.support.databases import asyncpg_dsn

# Modules that read their settings from the environment when imported (the ceiling servers).
CEILINGS = {"bench.ceiling_app", "bench.ceiling_leads", "bench.ceiling_socketio"}


def test_every_bench_module_imports() -> None:
    names = [f"bench.{m.name}" for m in pkgutil.iter_modules(bench.__path__)]
    assert "bench.lead_search" in names
    assert "bench.lead_write" in names
    for name in names:
        if name not in CEILINGS:
            importlib.import_module(name)


def test_phones_are_valid_distinct_and_never_what_a_load_gives() -> None:
    for country in ("SA", "AE", "EG", "KW"):
        loaded = {leads_data.phone(country, i) for i in range(5_000)}
        fresh = {leads_data.fresh_phone(country, i) for i in range(5_000)}
        assert len(loaded) == len(fresh) == 5_000
        assert not loaded & fresh
        for number in list(loaded)[:200] + list(fresh)[:200]:
            assert normalize_phone(number, country=None, default_country="SA") == number
            for pick in range(6):
                spelled = leads_data.spelling(number, country, pick)
                assert normalize_phone(spelled, country=country, default_country="SA") == number
                abroad = leads_data.spelling(number, "EG" if country != "EG" else "SA", pick)
                assert normalize_phone(abroad, country="EG", default_country="SA") == number


async def _leads(owner: asyncpg.Connection, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await owner.fetch(
        "SELECT * FROM leads WHERE tenant_id = $1 ORDER BY created_at", tenant_id
    )
    return [dict(r) for r in rows]


async def _indexes(owner: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await owner.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('leads', 'lead_keys')"
        " ORDER BY indexname"
    )
    return [(r["indexname"], r["indexdef"]) for r in rows]


async def test_the_loader_stores_leads_as_the_app_does(
    database_url: str, owner: asyncpg.Connection
) -> None:
    dataset = await leads_data.prepare(asyncpg_dsn(database_url), 1_000)

    assert dataset.stats.leads == 2_000
    assert dataset.stats.verified >= 2
    a, b = dataset.owners
    rows = await _leads(owner, a.tenant_id)
    assert len(rows) == 1_000
    assert len(await _leads(owner, b.tenant_id)) == 1_000
    keys = await owner.fetch(
        "SELECT lead_id, kind::text, value FROM lead_keys WHERE tenant_id = $1", a.tenant_id
    )
    by_lead: dict[uuid.UUID, set[tuple[str, str]]] = {}
    for key in keys:
        by_lead.setdefault(key["lead_id"], set()).add((key["kind"], key["value"]))
    for row in rows:
        derived = {k: row[k] for k in ("search_text", "name_sort", "name_key")}
        assert derived == derived_columns(row), row["name"]
        wanted = {
            (k.kind.value, k.value)
            for k in identity_keys(row["phones"], row["emails"], json.loads(row["external_ids"]))
        }
        held = by_lead.get(row["id"], set())
        assert held == (set() if row["merged_into_id"] else wanted), row["name"]
    # Mixed and spread, as the benchmarks need them.
    assert any("\u0600" <= row["name"][0] <= "\u06ff" for row in rows)
    assert any(row["name"][0].isascii() for row in rows)
    assert {row["country"] for row in rows} == {"SA", "AE", "EG", "KW"}
    assert {row["status"] for row in rows} >= {"NEW", "CONTACTED", "WON"}
    assert any(row["rating"] is None for row in rows)
    assert any(row["rating"] is not None for row in rows)
    assert (rows[-1]["created_at"] - rows[0]["created_at"]).days > 600
    assert any(row["deleted_at"] is not None for row in rows)


async def test_a_large_load_rebuilds_the_indexes_it_drops(
    database_url: str, owner: asyncpg.Connection
) -> None:
    (someone,) = await leads_data.signup(asyncpg_dsn(database_url), ["rebuild@bench.example"])
    before = await _indexes(owner)

    stats = await leads_data.load(
        asyncpg_dsn(database_url),
        [leads_data.TenantLoad(someone.tenant_id, someone.user_id, 500, seed=3)],
        rebuild_indexes=True,
    )

    assert stats.leads == 500
    assert await _indexes(owner) == before
    assert "secondary indexes dropped and rebuilt" in " ".join(stats.notes)


async def test_the_lead_benchmark_requests_are_served_alike_by_app_and_ceiling(
    database_url: str,
    owner: asyncpg.Connection,
    client: httpx.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dataset = await leads_data.prepare(asyncpg_dsn(database_url), 1_000)
    login = await client.post(
        "/v1/auth/login", json={"email": dataset.owners[0].email, "password": leads_data.PASSWORD}
    )
    headers = {"authorization": f"Bearer {login.json()['accessToken']}"}
    requests = lead_write.Requests(seed=5)
    for _ in range(20):
        created = await client.post(
            "/v1/leads", json=requests.body(ceiling_for=None), headers=headers
        )
        assert created.status_code == 201, created.text

    assert settings.jwt_secret is not None
    monkeypatch.setenv("DATABASE_URL", asyncpg_dsn(database_url))
    monkeypatch.setenv("LEEDZ_JWT_SECRET", settings.jwt_secret.get_secret_value())
    ceiling = importlib.reload(importlib.import_module("bench.ceiling_leads"))
    app: FastAPI = ceiling.app
    user = str(dataset.owners[0].user_id)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ceiling"
        ) as bare,
    ):
        for _ in range(20):
            body = requests.body(ceiling_for=user)
            answer = await bare.post("/v1/leads", content=json.dumps(body), headers=headers)
            assert answer.status_code == 201, answer.text
            stored = await owner.fetchrow(
                "SELECT * FROM leads WHERE id = $1", uuid.UUID(answer.json()["id"])
            )
            assert stored is not None
            assert stored["phones"] == body["phones"]
            assert stored["search_text"] == derived_columns(dict(stored))["search_text"]
        # The search: the ceiling finds the same page as the app, for every q of the mix.
        for _, q in lead_search.QUERIES:
            path = lead_search._path(q)
            app_page = (await client.get(path, headers=headers)).json()
            bare_page = await bare.get(path, headers=headers)
            assert bare_page.status_code == 200, bare_page.text
            assert [i["id"] for i in bare_page.json()["items"]] == [
                i["id"] for i in app_page["items"]
            ], q
            assert bare_page.json()["nextCursor"] == app_page["nextCursor"], q
    count = await owner.fetchval(
        "SELECT count(*) FROM leads WHERE tenant_id = $1", dataset.owners[0].tenant_id
    )
    assert count == 1_040


async def test_the_statements_pgbench_runs_are_the_ones_the_app_runs(
    database_url: str, owner: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement of the search mix, its parameters written in as literals, finds what
    it finds with them; and pgbench runs the mix's transactions without a failure."""
    dataset = await leads_data.prepare(asyncpg_dsn(database_url), 1_000)
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    await init_connection(conn)
    try:
        for _, q in lead_search.QUERIES:
            async with conn.transaction():
                statements = await lead_search._recorded(conn, dataset, q)
                assert statements, q
                for sql, args in statements:
                    literal = await lead_search.inline(conn, sql, args)
                    assert "$" not in literal, literal
                    # Some read ids with ANY and no order: compare the rows, not their order.
                    expected = sorted(map(repr, await conn.fetch(sql, *args)))
                    assert sorted(map(repr, await conn.fetch(literal))) == expected, sql
    finally:
        await conn.close()
    scripts = await lead_search.sql_scripts(dataset)
    assert len(scripts) == len(lead_search.QUERIES)
    assert all(s.startswith("BEGIN;\n") and s.endswith("COMMIT;\n") for s in scripts)
    monkeypatch.setattr(lead_search, "SQL_ALONE_SECONDS", 1)
    measured = await asyncio.to_thread(lead_search._sql_alone, dataset)
    assert measured is not None, "pgbench ships with the embedded PostgreSQL"
    sample, _ = measured
    assert sample.ops_per_second > 0


async def test_the_evidence_ingest_batches_are_stored_and_resolved(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    """Every batch evidence_ingest sends is a 200, its 20 listings new leads and its 5 contact
    pages joins (of the batch before's businesses; the first batch's, of its own)."""
    ws = await workspace(client, owner)
    job = await ws.job()
    uploads = Uploads(seed=9)
    for n in range(3):
        answer = await ws.upload(job, json.loads(uploads.batch()))
        actions = [entry["action"] for entry in answer["leads"]]
        assert len(answer["stored"]) == BATCH
        assert actions[:NEW_PER_BATCH] == ["created"] * NEW_PER_BATCH
        assert actions[NEW_PER_BATCH:] == ["joined"] * (BATCH - NEW_PER_BATCH), n
