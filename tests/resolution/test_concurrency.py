"""Resolution under concurrent writers: one business, one lead, and no error."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from leedz.resolution.service import MAX_FINE_LOCKS
from tests.resolution.support import actions, item, lead_ids, live_leads, workspace


async def _waiting_on_a_lock(owner: asyncpg.Connection, within: float = 10.0) -> None:
    """Until some backend of the test database waits on a lock (the upload, on the key)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        waiting = await owner.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the upload never waited for the racing writer")


async def test_two_agents_uploading_one_business_make_one_lead(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    ws = await workspace(client, owner)
    jobs = [await ws.job() for _ in range(4)]
    spellings = ["0501234567", "+966 50 123 4567", "00966501234567", "٠٥٠١٢٣٤٥٦٧"]
    answers = await asyncio.gather(
        *(
            ws.upload(job, [item({"name": "مقهى الركن", "phone": phone, "city": "جدة"},
                                 title=f"agent {n}")])
            for n, (job, phone) in enumerate(zip(jobs, spellings, strict=True))
        )
    )  # fmt: skip
    assert sorted(a for answer in answers for a in actions(answer)) == [
        "created", "joined", "joined", "joined",
    ]  # fmt: skip
    assert len({lead_ids(answer)[0] for answer in answers}) == 1
    assert await live_leads(owner, ws.account) == 1


async def test_batches_sharing_keys_in_other_orders_do_not_deadlock(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    ws = await workspace(client, owner)
    businesses = [{"name": f"محل {n}", "phone": f"05000000{n:02d}"} for n in range(12)]
    jobs = [await ws.job() for _ in range(3)]
    batches = [
        [item(b, title=b["name"]) for b in businesses],
        [item(b, title=b["name"]) for b in reversed(businesses)],
        [item(b, title=b["name"]) for b in businesses[6:] + businesses[:6]],
    ]
    answers = await asyncio.gather(
        *(ws.upload(job, batch) for job, batch in zip(jobs, batches, strict=True))
    )
    assert sum(actions(a).count("created") for a in answers) == 12
    assert await live_leads(owner, ws.account) == 12


async def test_a_person_creating_the_lead_meanwhile_is_joined_not_duplicated(
    client: httpx.AsyncClient, owner: asyncpg.Connection, database_url: str
) -> None:
    ws = await workspace(client, owner)
    job = await ws.job()
    rival = await asyncpg.connect(database_url)
    try:
        manual = rival.transaction()
        await manual.start()
        lead_id = await rival.fetchval(
            "INSERT INTO leads (tenant_id, name, phones, source_type)"
            " VALUES ($1::uuid, 'typed by hand', '{+966501234567}', 'MANUAL') RETURNING id",
            ws.account.tenant_id,
        )
        await rival.execute(
            "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
            " VALUES ($1::uuid, 'PHONE', '+966501234567', $2)",
            ws.account.tenant_id,
            lead_id,
        )
        # The upload does not see the uncommitted lead: it creates one, and its key claim
        # waits for the person's transaction.
        upload = asyncio.create_task(
            ws.upload(job, [item({"name": "من الوكيل", "phone": "0501234567"})])
        )
        await _waiting_on_a_lock(owner)
        await manual.commit()
        answer = await upload
    finally:
        await rival.close()
    assert answer["leads"] == [{"index": 0, "leadId": str(lead_id), "action": "joined"}]
    assert await live_leads(owner, ws.account) == 1


async def test_a_batch_too_large_for_identity_locks_takes_the_tenants_lock(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    """25 records of 20 phones and 5 addresses each need 625 identity locks: the batch takes
    the tenant's resolution lock alone, exclusively, and a small batch on one of its
    businesses waits for it."""
    ws = await workspace(client, owner)
    big, small = await ws.job(), await ws.job()
    prefixes = "01345689"  # Saudi mobiles: 050, 051, 053…
    records = [
        {
            "name": f"متجر {n}",
            "phones": [f"05{prefixes[n % 8]}{n:02d}{m:05d}" for m in range(20)],
            "emails": [f"{m}@shop{n}.sa" for m in range(5)],
        }
        for n in range(25)
    ]
    answers = await asyncio.gather(
        ws.upload(big, [item(r, title=str(n)) for n, r in enumerate(records)]),
        ws.upload(small, [item({"name": "متجر 0", "phone": "0500000007"}, title="again")]),
    )
    assert sorted(actions(answers[0]) + actions(answers[1])).count("created") == 25
    assert await live_leads(owner, ws.account) == 25
    phones = await owner.fetchval(
        "SELECT sum(cardinality(phones)) FROM leads WHERE tenant_id = $1::uuid",
        ws.account.tenant_id,
    )
    assert phones == 500 > MAX_FINE_LOCKS
