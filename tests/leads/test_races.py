"""Concurrent writers over real HTTP: one lead per phone, one winner per version.

A real server (uvicorn in the test's loop, its own pool) and a client per writer. The writers
are made to overlap for sure: the test holds a lock each of them needs (the key table, the
lead's row) until PostgreSQL shows every one of them waiting on it, then lets go.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from leedz.app import create_app
from leedz.config import Settings
from tests.factories.accounts import Account, on_plan, signup
from tests.gateway.conftest import serve, shutdown
from tests.support import databases

SPELLINGS = (
    "0501234567",
    "+966501234567",
    "00966501234567",
    "٠٥٠١٢٣٤٥٦٧",  # Arabic-Indic digits
    "(050) 123-4567",
    "966 50 123 4567",
    "+966-50-123-4567",
    "۰۵۰۱۲۳۴۵۶۷",  # Extended Arabic-Indic (Persian) digits
)
WRITERS = len(SPELLINGS)


@pytest.fixture
async def base(
    settings: Settings, database_url: str, owner: asyncpg.Connection
) -> AsyncIterator[str]:
    """A live server whose pool holds every writer at once."""
    roomy = settings.model_copy(update={"db_pool_size": WRITERS + 2, "db_max_overflow": 0})
    server, task, url = await serve(create_app(roomy, database_url=database_url))
    try:
        yield url
    finally:
        await shutdown(server, task)


@pytest.fixture
async def watcher(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own to look at pg_stat_activity (outside the lock's transaction)."""
    conn = await asyncpg.connect(databases.asyncpg_dsn(database_url))
    try:
        yield conn
    finally:
        await conn.close()


async def waiting_writers(watcher: asyncpg.Connection) -> int:
    value = await watcher.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leedz-api'"
        " AND wait_event_type = 'Lock' AND datname = current_database()"
    )
    return int(value)


async def all_waiting(watcher: asyncpg.Connection, count: int) -> None:
    async with asyncio.timeout(10):
        while await waiting_writers(watcher) < count:  # noqa: ASYNC110 - polling the server
            await asyncio.sleep(0.02)


async def concurrently(
    base: str, account: Account, requests: list[tuple[str, str, dict[str, Any], dict[str, str]]]
) -> list[httpx.Response]:
    """Each request from a client (a connection) of its own, all at once."""

    async def one(method: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            return await http.request(
                method, path, json=body, headers={**account.headers, **headers}
            )

    return list(await asyncio.gather(*(one(*r) for r in requests)))


@pytest.fixture
async def account(base: str, owner: asyncpg.Connection) -> Account:
    async with httpx.AsyncClient(base_url=base) as http:
        return await signup(http)


@pytest.mark.parametrize(
    "plan",
    [
        # No lead limit: nothing serializes the writers before the key claim, where they race.
        "ENTERPRISE",
        # A limit: the quota lock lines them up, and the key check after it decides.
        "PRO",
    ],
)
async def test_one_phone_in_eight_spellings_makes_one_lead(
    base: str,
    account: Account,
    owner: asyncpg.Connection,
    watcher: asyncpg.Connection,
    plan: str,
) -> None:
    await on_plan(owner, account, plan)
    body: dict[str, Any] = {"name": "مطعم الوادي", "city": "Riyadh"}
    no_headers: dict[str, str] = {}
    requests = [
        ("POST", "/v1/leads", {**body, "phones": [phone]}, no_headers) for phone in SPELLINGS
    ]
    # Every writer gets past its duplicate check (no key yet) and then waits to write its key.
    lock = owner.transaction()
    await lock.start()
    await owner.execute("LOCK TABLE lead_keys IN SHARE MODE")
    writers = asyncio.ensure_future(concurrently(base, account, requests))
    try:
        await all_waiting(watcher, WRITERS)
    finally:
        await lock.rollback()
    responses = await writers

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (WRITERS - 1), [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert winner["phones"] == ["+966501234567"]
    for response in responses:
        if response.status_code == 409:
            problem = response.json()
            assert problem["code"] == "lead_duplicate"
            assert [d["id"] for d in problem["duplicates"]] == [winner["id"]]
            assert problem["duplicates"][0]["reasons"]
    tenant = account.tenant_id
    assert (
        await owner.fetchval("SELECT count(*) FROM leads WHERE tenant_id = $1::uuid", tenant) == 1
    )
    keys = await owner.fetch(
        "SELECT kind::text, value, lead_id FROM lead_keys WHERE tenant_id = $1::uuid", tenant
    )
    assert [(k["kind"], k["value"], str(k["lead_id"])) for k in keys] == [
        ("PHONE", "+966501234567", winner["id"])
    ]
    # The losers left nothing behind: no timeline, no audit row of theirs.
    assert (
        await owner.fetchval(
            "SELECT count(*) FROM lead_activities WHERE tenant_id = $1::uuid", tenant
        )
        == 1
    )
    assert (
        await owner.fetchval(
            "SELECT count(*) FROM audit_logs WHERE tenant_id = $1::uuid"
            " AND event_type = 'lead.created'",
            tenant,
        )
        == 1
    )


async def test_concurrent_patches_with_one_if_match_make_one_change(
    base: str, account: Account, owner: asyncpg.Connection, watcher: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        created = await http.post("/v1/leads", json={"name": "Al Wadi"}, headers=account.headers)
    assert created.status_code == 201, created.text
    lead = created.json()
    etag = created.headers["ETag"]
    requests = [
        ("PATCH", f"/v1/leads/{lead['id']}", {"name": f"Al Wadi {i}"}, {"If-Match": etag})
        for i in range(WRITERS)
    ]
    # Every writer reads the lead FOR UPDATE: they queue on its row, held here.
    lock = owner.transaction()
    await lock.start()
    await owner.execute("SELECT 1 FROM leads WHERE id = $1::uuid FOR UPDATE", lead["id"])
    writers = asyncio.ensure_future(concurrently(base, account, requests))
    try:
        await all_waiting(watcher, WRITERS)
    finally:
        await lock.rollback()
    responses = await writers

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * (WRITERS - 1), [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["version"] == lead["version"] + 1
    for response in responses:
        if response.status_code == 412:
            problem = response.json()
            assert problem["code"] == "version_conflict"
            assert problem["version"] == lead["version"] + 1
    stored = await owner.fetchrow("SELECT name, version FROM leads WHERE id = $1::uuid", lead["id"])
    assert stored is not None
    assert (stored["name"], stored["version"]) == (winner["name"], lead["version"] + 1)
