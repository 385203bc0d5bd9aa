"""The socket twin: `job:evidence` resolves like the REST upload, and /app hears of the leads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from tests.factories.accounts import Account, on_plan, signup
from tests.factories.agents import create_job, register_agent
from tests.gateway.conftest import Connect, Live, connect, live, live_database_url, live_settings
from tests.resolution.support import item

__all__ = ["connect", "live", "live_database_url", "live_settings"]  # the gateway's fixtures

EVENTS = ("lead:created", "lead:updated", "lead:merged")


@pytest.fixture
async def boss(live: Live, owner: asyncpg.Connection) -> Account:
    account = await signup(live.http)
    await on_plan(owner, account, "PRO")
    return account


async def test_job_evidence_over_the_socket_creates_joins_and_merges(
    live: Live, connect: Connect, boss: Account
) -> None:
    agent = await register_agent(live.http, boss, maxConcurrency=2)
    worker = await connect("/agent", {"token": agent.token})
    watcher = await connect("/app", {"token": boss.access}, events=EVENTS)
    rival = await signup(live.http)
    rival_watcher = await connect("/app", {"token": rival.access}, events=EVENTS)
    job = await create_job(live.http, boss)
    claimed = await worker.call("job:claim", {})
    lease = claimed["leaseId"]

    async def evidence(*items: dict[str, object]) -> list[dict[str, object]]:
        answer = await worker.call(
            "job:evidence", {"jobId": job["id"], "leaseId": lease, "items": list(items)}
        )
        assert answer["ok"] is True, answer
        leads: list[dict[str, object]] = answer["leads"]
        return leads

    first = await evidence(
        item({"name": "صيدلية النهدي", "phone": "0126543210", "city": "جدة"}, title="a"),
        item({"name": "Nahdi", "email": "care@nahdi.sa"}, title="b"),
    )
    assert [e["action"] for e in first] == ["created", "created"]
    a_id, b_id = (str(e["leadId"]) for e in first)

    def about(lead_id: str) -> Callable[[Any], bool]:
        return lambda event: bool(event["lead"]["id"] == lead_id)

    for lead_id in (a_id, b_id):
        created = await watcher.wait_for("lead:created", about(lead_id))
        assert created["lead"]["source"] == {"type": "SEARCH", "jobId": job["id"]}

    bridge = await evidence(
        item({"name": "صيدلية النهدي", "phone": "+966126543210", "email": "CARE@nahdi.sa"},
             title="c")
    )  # fmt: skip
    assert bridge == [{"index": 0, "leadId": a_id, "action": "joined"}]
    merged = await watcher.wait_for("lead:merged")
    assert merged["lead"]["id"] == a_id
    assert merged["mergedIds"] == [b_id]
    await asyncio.sleep(0.2)
    assert all(not rival_watcher.events[e] for e in EVENTS)
