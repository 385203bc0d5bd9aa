"""`leads:bulk` when the bulk job runs on another instance than the socket's (docs/worker.md,
"Scaling out"): a SALES member of a workspace with `salesSeeAllLeads: false`, connected to
instance A, hears of the leads it may see only, while the job runs on instance B, whose emits
reach A through Redis. B is a `leedz serve` with its in-process worker (the gateway's own
relay), or a `leedz worker` process (worker/relay.py); A runs no worker, so the job cannot run
there."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import socketio

from tests.bulk.support import raw_leads
from tests.factories.accounts import Account
from tests.gateway.test_lead_events import make_team
from tests.support.live import LEEDZ, TEST_JWT_SECRET, clean_env, running_server

pytestmark = pytest.mark.e2e

UNLIMITED = "100000/hour"  # rate-limit counters live in Redis across runs: not this test's topic
BATCH = "2"  # leads per batch on B: the job's events come in several batches
EVENTS = ("leads:bulk", "lead:updated", "lead:hidden", "job:updated")


@contextlib.contextmanager
def worker_process(database_url: str, redis_url: str, data_dir: Path) -> Iterator[None]:
    """`leedz worker` with Redis: its events reach the app sockets of every instance."""
    env = {
        **clean_env(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LEEDZ_JWT_SECRET": TEST_JWT_SECRET,
        "LEEDZ_BULK_BATCH_SIZE": BATCH,
        "LEEDZ_WORKER_POLL_SECONDS": "0.2",
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "worker.log").open("ab") as log:
        process = subprocess.Popen(
            [*LEEDZ, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(params=["serve", "worker"])
def instance_a(
    request: pytest.FixtureRequest,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    owner: asyncpg.Connection,
) -> Iterator[str]:
    """A's base URL; B (a server with its worker, or a worker process) runs meanwhile."""
    with contextlib.ExitStack() as stack:
        base_a = stack.enter_context(
            running_server(
                database_url,
                tmp_path / "a",
                REDIS_URL=redis_url,
                LEEDZ_WORKER="off",
                LEEDZ_RATE_LIMIT_SIGNUP=UNLIMITED,
            )
        )
        if request.param == "serve":
            stack.enter_context(
                running_server(
                    database_url,
                    tmp_path / "b",
                    REDIS_URL=redis_url,
                    LEEDZ_WORKER="on",
                    LEEDZ_BULK_BATCH_SIZE=BATCH,
                    LEEDZ_WORKER_POLL_SECONDS="0.2",
                    LEEDZ_RATE_LIMIT_SIGNUP=UNLIMITED,
                )
            )
        else:
            stack.enter_context(worker_process(database_url, redis_url, tmp_path / "b"))
        yield base_a


class Socket:
    """A Socket.IO client of `/app` recording the events of a bulk job."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        for event in EVENTS:
            self.client.on(
                event, lambda data=None, e=event: self.events[e].append(data), namespace="/app"
            )

    async def connect(self, base: str, account: Account) -> Socket:
        await self.client.connect(
            base, namespaces=["/app"], auth={"token": account.access}, transports=["websocket"]
        )
        return self

    def bulk_ids(self) -> list[str]:
        return sorted(i for payload in self.events["leads:bulk"] for i in payload["ids"])

    async def until(self, predicate: Any, within: float = 30) -> None:
        async with asyncio.timeout(within):
            while True:
                if predicate(self):
                    return
                await asyncio.sleep(0.05)


async def test_a_sales_socket_on_a_hears_only_its_leads_of_a_bulk_job_run_on_b(
    instance_a: str, owner: asyncpg.Connection
) -> None:
    sockets: list[Socket] = []
    async with httpx.AsyncClient(base_url=instance_a) as via_a:
        team = await make_team(via_a, owner)  # salesSeeAllLeads off
        try:
            rep = await Socket().connect(instance_a, team.rep)
            boss = await Socket().connect(instance_a, team.boss)
            sockets += [rep, boss]
            reps = await raw_leads(owner, team.boss, 3, owner_id=team.rep.user_id)
            others = await raw_leads(owner, team.boss, 2, owner_id=team.other_rep.user_id)
            bosses = await raw_leads(owner, team.boss, 1, owner_id=team.boss.user_id)
            free = await raw_leads(owner, team.boss, 2)
            body = {"type": "BULK_STATUS_UPDATE", "input": {"status": "WON", "filter": {}}}
            created = await via_a.post("/v1/jobs", json=body, headers=team.boss.headers)
            assert created.status_code == 201, created.text
            job_id = created.json()["id"]

            def completed(socket: Socket) -> bool:
                return any(
                    e["id"] == job_id and e["status"] == "COMPLETED"
                    for e in socket.events["job:updated"]
                )

            await boss.until(completed)
            everything = sorted(reps + others + bosses + free)
            await boss.until(lambda s: s.bulk_ids() == everything)
            await rep.until(lambda s: s.bulk_ids() == sorted(reps + free))
            await asyncio.sleep(1)  # anything more the rep would hear arrives meanwhile

            job = (await via_a.get(f"/v1/jobs/{job_id}", headers=team.boss.headers)).json()
            assert job["status"] == "COMPLETED"
            assert job["output"] == {"matched": 8, "changed": 8}
            # Run by a worker, and A runs none: B ran it.
            assert await owner.fetchval(
                "SELECT worker_id IS NOT NULL FROM jobs WHERE id = $1::uuid", job_id
            )

            assert boss.bulk_ids() == everything
            # The rep: its own and the unassigned leads, each once, and nothing of others'.
            assert rep.bulk_ids() == sorted(reps + free)
            assert len(rep.events["leads:bulk"]) >= 2  # several batches, several emits
            for payload in rep.events["leads:bulk"]:
                assert payload["jobId"] == job_id
                assert (payload["change"], payload["status"]) == ("lead:updated", "WON")
            for socket in sockets:  # no per-lead events for a bulk job, and nothing hidden
                assert socket.events["lead:updated"] == []
                assert socket.events["lead:hidden"] == []
        finally:
            for socket in sockets:
                with contextlib.suppress(Exception):
                    await socket.client.disconnect()
