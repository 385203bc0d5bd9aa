"""How many statements a lead's creation sends to PostgreSQL (each a round trip).

Not a timing: a count, read with asyncpg's query logger on the app's own connections. Each
round trip costs the event loop and PostgreSQL a wake-up on both sides; the lead_write
benchmark (docs/benchmarks.md) sets its ceiling at five — BEGIN, the member's first statement,
the insert, the key claim, COMMIT — and a creation should not need more than that. A lead
with a country of its own needs no default country for its phones: the tenant's settings and
plan are then read by the creating statement itself, and an unlimited plan's creation takes
four.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.kit.db import Database
from tests.factories.accounts import Account, on_plan, signup


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The statements sent on the app's pooled connections while the block runs."""
    sent: list[str] = []

    def log(record: Any) -> None:
        query = " ".join(record.query.split())
        # asyncpg's own, once per connection: the type introspection of a custom type.
        if "typeinfo_tree" not in query and "'jit'" not in query:
            sent.append(query)

    acquire = database._acquire
    logged_on: list[Any] = []

    async def logged() -> Any:
        conn = await acquire()
        raw = getattr(conn, "_con", conn)  # the pooled proxy's connection outlives the proxy
        raw.add_query_logger(log)
        logged_on.append(raw)
        return conn

    database._acquire = logged  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        database._acquire = acquire  # type: ignore[method-assign]
        for raw in logged_on:
            raw.remove_query_logger(log)


@pytest.fixture
async def boss(client: httpx.AsyncClient) -> Account:
    return await signup(client)


@pytest.fixture
def database(app: FastAPI, client: httpx.AsyncClient) -> Database:
    """The app's Database (its pool runs once `client` started the lifespan)."""
    db: Database = app.state.db
    return db


BODY = {
    "name": "مؤسسة الأمل للتجارة",
    "phones": ["050 123 4567", "+966 55 222 3333"],
    "emails": ["Info@Alamal.com.sa"],
    "website": "https://www.alamal.com.sa/contact",
    "city": "Riyadh",
    "externalIds": {"googleMapsId": "ChIJ123"},
    "tags": ["vip"],
}


# The same lead with a country: its phones are read there, whatever the tenant's default.
WITH_COUNTRY = {**BODY, "country": "SA"}


class TestCreateRoundTrips:
    @pytest.mark.parametrize(
        ("body", "count"),
        [(BODY, 5), (WITH_COUNTRY, 4)],
        ids=["five-without-a-country", "four-with-a-country"],
    )
    async def test_a_create_on_an_unlimited_plan_takes_five_statements_at_most(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        database: Database,
        body: dict[str, object],
        count: int,
    ) -> None:
        await on_plan(owner, boss, "ENTERPRISE")
        with statements(database) as sent:
            response = await client.post("/v1/leads", json=body, headers=boss.headers)
        assert response.status_code == 201, response.text
        assert response.json()["phones"] == ["+966501234567", "+966552223333"]
        assert [sent[0], sent[-1]] == ["BEGIN;", "COMMIT;"], sent
        assert len(sent) == count, "\n".join(sent)
        assert not any("leedz_quota_leads" in statement for statement in sent), sent

    async def test_a_create_on_a_limited_plan_adds_one_for_the_lock_and_the_count(
        self, client: httpx.AsyncClient, boss: Account, database: Database
    ) -> None:
        with statements(database) as sent:
            response = await client.post("/v1/leads", json=BODY, headers=boss.headers)
        assert response.status_code == 201, response.text
        assert len(sent) == 6, "\n".join(sent)
        assert any("leedz_quota_leads" in statement for statement in sent), sent

    async def test_a_lead_with_a_country_on_a_limited_plan_is_counted_first(
        self, client: httpx.AsyncClient, boss: Account, database: Database
    ) -> None:
        # The creating statement finds the plan limited and writes nothing; the count under the
        # lock, then the creation: six, as without a country.
        with statements(database) as sent:
            response = await client.post("/v1/leads", json=WITH_COUNTRY, headers=boss.headers)
        assert response.status_code == 201, response.text
        assert len(sent) == 6, "\n".join(sent)
        quota = next(i for i, s in enumerate(sent) if "leedz_quota_leads" in s)
        assert "WITH tenant AS" in sent[quota - 1]
        assert "WITH tenant AS" not in sent[quota + 1]
