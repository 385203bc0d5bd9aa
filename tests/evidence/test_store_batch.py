"""store_batch against real PostgreSQL, as the request role under RLS."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest

from leedz.config import Settings
from leedz.errors import NotFound, PayloadTooLarge, ValidationFailed
from leedz.evidence.repository import EvidenceRow, EvidenceRows
from leedz.evidence.schemas import (
    EvidenceBatchIn,
    EvidenceUploadOut,
    LeadAction,
    LeadResolutionOut,
)
from leedz.evidence.service import (
    RAW_DATA_MAX_BYTES,
    RAW_DATA_MAX_DEPTH,
    SNIPPET_MAX_BYTES,
    store_batch,
)
from leedz.kit.db import Database
from tests.factories.jobs import TenantJob, create_tenant_with_job


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def raw_data_of_size(size: int) -> dict[str, Any]:
    """A rawData whose canonical JSON is exactly `size` bytes: {"pad":"xxx…"}."""
    overhead = len(canonical({"pad": ""}))
    value = {"pad": "x" * (size - overhead)}
    assert len(canonical(value)) == size
    return value


def nested(depth: int) -> dict[str, Any]:
    """A rawData of exactly `depth` levels of objects."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"down": value}
    return value


def evidence(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "GOOGLE_MAPS_LISTING",
        "title": "مطعم البيك — العليا",
        "source": "google_maps",
        "url": "https://maps.example.com/place/albaik",
        "snippet": "<p>Open <b>daily</b> 9-5</p>",
        "confidence": "HIGH",
        "rawData": {"rating": 4.6, "reviews": [{"author": "سارة", "stars": 5}]},
        "collectedAt": "2026-11-24T12:00:00+03:00",
    }
    item.update(overrides)
    return item


@pytest.fixture
async def db(
    settings: Settings, database_url: str, owner: asyncpg.Connection
) -> AsyncIterator[Database]:
    database = Database(settings, database_url)
    await database.start()
    yield database
    await database.dispose()


@pytest.fixture
async def mine(owner: asyncpg.Connection) -> TenantJob:
    return await create_tenant_with_job(owner, "mine")


@pytest.fixture
async def theirs(owner: asyncpg.Connection) -> TenantJob:
    return await create_tenant_with_job(owner, "theirs")


async def upload(
    db: Database, tenant: TenantJob, items: list[dict[str, Any]], *, job_id: uuid.UUID | None = None
) -> EvidenceUploadOut:
    async with db.transaction(tenant_id=tenant.tenant_id) as tx:
        return await store_batch(tx, job_id=job_id or tenant.job_id, items=items)


async def count_rows(owner: asyncpg.Connection, job_id: uuid.UUID) -> int:
    count: int = await owner.fetchval("SELECT count(*) FROM evidence WHERE job_id = $1", job_id)
    return count


class TestStore:
    async def test_returns_the_ids_of_the_rows_it_stored(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        items = [
            evidence(),
            evidence(
                type="WEBSITE_CONTENT",
                title="About us",
                url=None,
                snippet='<script>alert(1)</script><a href="javascript:x" onclick="y">hi</a>',
                confidence="LOW",
                rawData=None,
            ),
        ]
        out = await upload(db, mine, items)
        assert len(out.stored) == 2
        assert out.duplicates == []
        rows = {
            r["id"]: r
            for r in await owner.fetch(
                "SELECT * FROM evidence WHERE job_id = $1 ORDER BY created_at", mine.job_id
            )
        }
        assert set(rows) == set(out.stored)
        first, second = rows[out.stored[0]], rows[out.stored[1]]
        assert first["tenant_id"] == mine.tenant_id
        assert first["title"] == "مطعم البيك — العليا"
        assert first["snippet"] == "<p>Open <b>daily</b> 9-5</p>"
        assert orjson.loads(first["raw_data"]) == items[0]["rawData"]
        assert first["collected_at"] == datetime(2026, 11, 24, 9, tzinfo=UTC)
        assert first["size_bytes"] == len(first["snippet"].encode()) + len(
            canonical(items[0]["rawData"])
        )
        assert len(first["hash"]) == 64
        assert second["snippet"] == '<a rel="noopener noreferrer nofollow">hi</a>'
        assert second["url"] is None
        assert second["raw_data"] is None
        assert second["size_bytes"] == len(second["snippet"].encode())

    async def test_the_hash_covers_the_content_but_not_the_collection_time(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        item = evidence()
        await upload(db, mine, [item])
        stored_hash = await owner.fetchval(
            "SELECT hash FROM evidence WHERE job_id = $1", mine.job_id
        )
        expected = {
            "type": item["type"],
            "title": item["title"],
            "source": item["source"],
            "url": item["url"],
            "snippet": item["snippet"],
            "confidence": item["confidence"],
            "rawData": item["rawData"],
        }
        assert stored_hash == hashlib.sha256(canonical(expected)).hexdigest()

    async def test_the_same_batch_twice_stores_nothing_new(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        items = [evidence(title=f"Place {n}") for n in range(3)]
        await upload(db, mine, items)
        again = await upload(db, mine, items)
        assert again.stored == []
        hashes = await owner.fetch(
            "SELECT hash FROM evidence WHERE job_id = $1 ORDER BY title", mine.job_id
        )
        assert again.duplicates == [r["hash"] for r in hashes]
        assert await count_rows(owner, mine.job_id) == 3

    async def test_a_repeat_inside_one_batch_is_a_duplicate(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        first = evidence(collectedAt="2026-11-24T08:00:00Z")
        other = evidence(title="Another place")
        seen_again = evidence(collectedAt="2026-11-24T09:30:00Z")
        out = await upload(db, mine, [first, other, seen_again])
        assert len(out.stored) == 2
        assert len(out.duplicates) == 1
        row = await owner.fetchrow(
            "SELECT id, hash, collected_at FROM evidence WHERE hash = $1", out.duplicates[0]
        )
        assert row is not None
        assert row["id"] == out.stored[0]
        assert row["collected_at"] == datetime(2026, 11, 24, 8, tzinfo=UTC)
        assert await count_rows(owner, mine.job_id) == 2

    async def test_raw_and_already_sanitized_snippets_are_the_same_evidence(
        self, db: Database, mine: TenantJob
    ) -> None:
        hostile = evidence(snippet='<b onclick="x()">bold</b><script>alert(1)</script>')
        clean = evidence(snippet="<b>bold</b>")
        out = await upload(db, mine, [hostile, clean])
        assert len(out.stored) == 1
        assert len(out.duplicates) == 1

    async def test_the_same_item_in_another_job_is_stored_again(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        other_job: uuid.UUID = await owner.fetchval(
            "INSERT INTO jobs (tenant_id, type, created_by_id) VALUES ($1, 'SEARCH', $2)"
            " RETURNING id",
            mine.tenant_id,
            mine.user_id,
        )
        await upload(db, mine, [evidence()])
        out = await upload(db, mine, [evidence()], job_id=other_job)
        assert len(out.stored) == 1


class TestLimits:
    @pytest.mark.parametrize(
        "snippet",
        [
            "a" * SNIPPET_MAX_BYTES,
            "م" * (SNIPPET_MAX_BYTES // 2),  # two bytes each in UTF-8
            "😀" * (SNIPPET_MAX_BYTES // 4),  # four bytes each
        ],
        ids=["ascii", "arabic", "emoji"],
    )
    async def test_a_snippet_of_exactly_the_limit_is_stored(
        self, db: Database, mine: TenantJob, snippet: str
    ) -> None:
        assert len(snippet.encode()) == SNIPPET_MAX_BYTES
        out = await upload(db, mine, [evidence(snippet=snippet)])
        assert len(out.stored) == 1

    @pytest.mark.parametrize(
        "snippet",
        ["a" * (SNIPPET_MAX_BYTES + 1), "م" * (SNIPPET_MAX_BYTES // 2) + "a"],
        ids=["ascii", "arabic"],
    )
    async def test_one_byte_more_is_413(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection, snippet: str
    ) -> None:
        assert len(snippet.encode()) == SNIPPET_MAX_BYTES + 1
        with pytest.raises(PayloadTooLarge) as refused:
            await upload(db, mine, [evidence(), evidence(snippet=snippet)])
        assert refused.value.status == 413
        assert refused.value.extra == {"item": 1, "field": "snippet", "limit": 10_240}
        assert await count_rows(owner, mine.job_id) == 0

    async def test_the_snippet_limit_applies_to_what_was_sent(
        self, db: Database, mine: TenantJob
    ) -> None:
        """A script that sanitizing would remove still counts: the limit is on the input."""
        snippet = "<script>" + "x" * SNIPPET_MAX_BYTES + "</script>"
        with pytest.raises(PayloadTooLarge):
            await upload(db, mine, [evidence(snippet=snippet)])

    async def test_raw_data_of_exactly_the_limit_is_stored(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        out = await upload(db, mine, [evidence(rawData=raw_data_of_size(RAW_DATA_MAX_BYTES))])
        assert len(out.stored) == 1
        size = await owner.fetchval("SELECT size_bytes FROM evidence WHERE id = $1", out.stored[0])
        assert size == RAW_DATA_MAX_BYTES + len(b"<p>Open <b>daily</b> 9-5</p>")

    async def test_raw_data_one_byte_over_is_413(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        with pytest.raises(PayloadTooLarge) as refused:
            await upload(db, mine, [evidence(rawData=raw_data_of_size(RAW_DATA_MAX_BYTES + 1))])
        assert refused.value.extra == {"item": 0, "field": "rawData", "limit": 51_200}
        assert await count_rows(owner, mine.job_id) == 0

    async def test_raw_data_size_is_measured_canonically(
        self, db: Database, mine: TenantJob
    ) -> None:
        """Indentation the agent adds does not count; non-ASCII counts in UTF-8 bytes."""
        arabic = {"pad": "م" * ((RAW_DATA_MAX_BYTES - 10) // 2)}
        assert len(canonical(arabic)) == RAW_DATA_MAX_BYTES
        out = await upload(db, mine, [evidence(rawData=arabic)])
        assert len(out.stored) == 1
        arabic["pad"] += "x"
        with pytest.raises(PayloadTooLarge):
            await upload(db, mine, [evidence(rawData=arabic)])

    async def test_raw_data_at_the_depth_limit_is_stored(
        self, db: Database, mine: TenantJob
    ) -> None:
        out = await upload(db, mine, [evidence(rawData=nested(RAW_DATA_MAX_DEPTH))])
        assert len(out.stored) == 1

    @pytest.mark.parametrize("depth", [RAW_DATA_MAX_DEPTH + 1, 300, 100_000])
    async def test_deeper_raw_data_is_422(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection, depth: int
    ) -> None:
        with pytest.raises(ValidationFailed) as refused:
            await upload(db, mine, [evidence(), evidence(rawData=nested(depth))])
        assert refused.value.extra["item"] == 1
        assert refused.value.extra["field"] == "rawData"
        assert await count_rows(owner, mine.job_id) == 0

    async def test_lists_count_as_levels(self, db: Database, mine: TenantJob) -> None:
        value: Any = 1
        for _ in range(RAW_DATA_MAX_DEPTH):
            value = [value]
        with pytest.raises(ValidationFailed):
            await upload(db, mine, [evidence(rawData={"list": value})])


BAD_ITEMS: dict[str, Any] = {
    "not an object": ["a", "list"],
    "missing title": {k: v for k, v in evidence().items() if k != "title"},
    "blank title": evidence(title="   "),
    "long title": evidence(title="t" * 501),
    "long source": evidence(source="s" * 101),
    "javascript url": evidence(url="javascript:alert(1)"),
    "data url": evidence(url="data:text/html,<script>alert(1)</script>"),
    "relative url": evidence(url="/place/1"),
    "long url": evidence(url="https://example.com/" + "a" * 2030),
    "url with a user and password": evidence(url="https://admin:hunter2@example.com/place"),
    "url with a user name": evidence(url="https://token@example.com/place"),
    "url with an empty password": evidence(url="http://user:@example.com/"),
    "naive collectedAt": evidence(collectedAt="2026-11-24T12:00:00"),
    "out of range collectedAt": evidence(collectedAt="9999-12-31T23:00:00-05:00"),
    "unknown type": evidence(type="RUMOUR"),
    "unknown confidence": evidence(confidence="CERTAIN"),
    "unknown field": evidence(extra=1),
    "NUL in snippet": evidence(snippet="a\x00b"),
    "lone surrogate in snippet": evidence(snippet="a\udc00"),
    "rawData not an object": evidence(rawData=["x"]),
    "NUL in rawData": evidence(rawData={"k": "a\x00b"}),
    "lone surrogate in rawData": evidence(rawData={"k": "\ud800"}),
    "integer beyond 64 bits in rawData": evidence(rawData={"n": 2**70}),
}


class TestAllOrNothing:
    @pytest.mark.parametrize("bad", BAD_ITEMS.values(), ids=BAD_ITEMS.keys())
    async def test_a_bad_item_names_its_index_and_nothing_is_stored(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection, bad: Any
    ) -> None:
        items = [evidence(title=f"Place {n}") for n in range(5)]
        items[3] = bad
        with pytest.raises(ValidationFailed) as refused:
            await upload(db, mine, items)
        problem = refused.value
        assert problem.status == 422
        assert problem.extra["item"] == 3
        assert problem.extra["errors"]
        assert all(e["loc"][:3] == ["body", "items", 3] for e in problem.extra["errors"])
        assert "Item 3" in problem.detail
        assert await count_rows(owner, mine.job_id) == 0

    async def test_an_oversized_item_at_index_3_stores_nothing(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        items = [evidence(title=f"Place {n}") for n in range(5)]
        items[3] = evidence(rawData=raw_data_of_size(RAW_DATA_MAX_BYTES + 1))
        with pytest.raises(PayloadTooLarge) as refused:
            await upload(db, mine, items)
        assert refused.value.extra["item"] == 3
        assert await count_rows(owner, mine.job_id) == 0

    async def test_more_items_than_a_batch_holds_is_422(
        self, db: Database, mine: TenantJob, owner: asyncpg.Connection
    ) -> None:
        items = [evidence(title=f"Place {n}") for n in range(101)]
        with pytest.raises(ValidationFailed):
            await upload(db, mine, items)
        assert await count_rows(owner, mine.job_id) == 0


class TestOtherTenants:
    async def test_another_tenants_job_is_not_found_and_gets_nothing(
        self, db: Database, mine: TenantJob, theirs: TenantJob, owner: asyncpg.Connection
    ) -> None:
        with pytest.raises(NotFound):
            await upload(db, mine, [evidence()], job_id=theirs.job_id)
        assert await count_rows(owner, theirs.job_id) == 0
        assert await owner.fetchval("SELECT count(*) FROM evidence") == 0

    async def test_the_database_refuses_it_even_without_the_check(
        self, db: Database, mine: TenantJob, theirs: TenantJob, owner: asyncpg.Connection
    ) -> None:
        """Below the service: the composite (tenant_id, job_id) key admits no foreign job."""
        row = EvidenceRow(
            type="REVIEW",
            title="t",
            source="s",
            url=None,
            snippet="s",
            confidence="LOW",
            raw_data=None,
            hash="0" * 64,
            size_bytes=1,
            collected_at=datetime.now(UTC),
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            async with db.transaction(tenant_id=mine.tenant_id) as tx:
                await EvidenceRows(tx).insert_new(theirs.job_id, [row])
        assert await owner.fetchval("SELECT count(*) FROM evidence") == 0

    async def test_a_job_that_does_not_exist_is_not_found(
        self, db: Database, mine: TenantJob
    ) -> None:
        with pytest.raises(NotFound):
            await upload(db, mine, [evidence()], job_id=uuid.uuid4())


class TestBatchSchema:
    def test_items_stay_raw_and_are_bounded(self) -> None:
        lease = str(uuid.uuid4())
        body = EvidenceBatchIn.model_validate({"leaseId": lease, "items": [{"anything": 1}]})
        assert body.items == [{"anything": 1}]
        for items in ([], [evidence()] * 101):
            with pytest.raises(ValueError, match="items"):
                EvidenceBatchIn.model_validate({"leaseId": lease, "items": items})

    def test_the_answer_is_camel_case(self) -> None:
        lead = uuid.uuid4()
        out = EvidenceUploadOut(
            stored=[],
            duplicates=["a" * 64],
            leads=[LeadResolutionOut(index=0, lead_id=lead, action=LeadAction.OVER_QUOTA)],
        )
        assert out.model_dump(by_alias=True, mode="json") == {
            "stored": [],
            "duplicates": ["a" * 64],
            "leads": [{"index": 0, "leadId": str(lead), "action": "over_quota"}],
        }
