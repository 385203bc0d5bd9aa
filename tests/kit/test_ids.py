"""Time-ordered ids: the app's (`new_id`) and the database's (`leedz_uuid7()`) are UUIDv7s that
sort by creation, whoever made them; the tables a tenant fills by the thousand default to them."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest

from leedz.kit.ids import new_id

TIME_ORDERED = ("leads", "lead_activities", "evidence")


def _millis(value: uuid.UUID) -> int:
    return value.int >> 80


def test_new_ids_are_version_7_rfc_variant_and_increasing() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(20_000)]
    after = time.time_ns() // 1_000_000
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)  # within a millisecond too
    assert len(set(ids)) == len(ids)
    assert before <= _millis(ids[0]) <= _millis(ids[-1]) <= after


async def test_database_ids_are_version_7_and_carry_the_time(owner: asyncpg.Connection) -> None:
    rows = await owner.fetch(
        "SELECT leedz_uuid7() AS id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms"
        " FROM generate_series(1, 2000)"
    )
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    for row in rows:
        assert row["id"].version == 7
        assert row["id"].variant == uuid.RFC_4122
        assert abs(_millis(row["id"]) - row["ms"]) <= 1
    # The random bits are gen_random_uuid()'s: no two ids of one millisecond share them.
    assert len({i.int & ((1 << 74) - 1) for i in ids}) == len(ids)


async def test_app_and_database_ids_interleave_by_time(owner: asyncpg.Connection) -> None:
    first = new_id()
    await asyncio.sleep(0.002)
    made_there = await owner.fetchval("SELECT leedz_uuid7()")
    await asyncio.sleep(0.002)
    last = new_id()
    assert first < made_there < last


@pytest.mark.parametrize("table", TIME_ORDERED)
async def test_bulk_tables_default_to_time_ordered_ids(
    owner: asyncpg.Connection, table: str
) -> None:
    default = await owner.fetchval(
        "SELECT column_default FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = $1 AND column_name = 'id'",
        table,
    )
    assert default == "leedz_uuid7()"
