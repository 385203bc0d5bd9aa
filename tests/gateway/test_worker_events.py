"""Server-run jobs seen live on `/app`, like agent jobs: from `leedz serve`'s in-process worker
(the app's own event bus), and from a worker elsewhere through the gateway's Redis channel."""

from __future__ import annotations

import asyncpg
import pytest
from fastapi import FastAPI

from leedz import app as app_module
from leedz.app import create_app
from leedz.config import Settings
from leedz.jobs.models import JobType
from leedz.kit.db import Database
from leedz.worker import relay
from leedz.worker.handlers import HANDLERS
from leedz.worker.worker import Worker
from tests.factories.accounts import signup
from tests.factories.leads import create_lead
from tests.gateway.conftest import Connect, Live
from tests.worker.support import LeadWriter

BULK = {"type": "BULK_STATUS_UPDATE", "input": {"status": "WON", "filter": {"q": "x"}}}


@pytest.fixture
def test_handlers(monkeypatch: pytest.MonkeyPatch) -> LeadWriter:
    writer = LeadWriter(rows=6, per_batch=2)
    monkeypatch.setattr(app_module, "HANDLERS", {JobType.BULK_STATUS_UPDATE: writer})
    return writer


class TestInProcess:
    @pytest.fixture
    def live_settings(self, settings: Settings, test_handlers: LeadWriter) -> Settings:
        return settings.model_copy(
            update={"reaper_interval_seconds": 300.0, "worker_poll_seconds": 60.0, "worker": True}
        )

    async def test_a_job_created_runs_at_once_and_the_app_sees_it(
        self, live: Live, connect: Connect
    ) -> None:
        boss = await signup(live.http)
        watcher = await connect("/app", {"token": boss.access})
        assert isinstance(live.app.state.worker, Worker)
        created = await live.http.post("/v1/jobs", json=BULK, headers=boss.headers)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        # Woken by the creation (the poll is a minute away), run, announced.
        await watcher.wait_for("job:updated", lambda e: e["status"] == "COMPLETED", within=20)
        seen = [(e["status"], e["progress"]) for e in watcher.events["job:updated"]]
        assert [s for s in seen if s[0] == "RUNNING"] == [
            ("RUNNING", 0),
            ("RUNNING", 33),
            ("RUNNING", 66),
            ("RUNNING", 100),
        ]
        assert seen[0] == ("PENDING", 0)
        job = (await live.http.get(f"/v1/jobs/{job_id}", headers=boss.headers)).json()
        assert (job["status"], job["agentId"], job["attempts"]) == ("COMPLETED", None, 1)
        assert job["output"] == {"written": 6, "resumedAt": 0}


async def test_leedz_worker_off_runs_no_worker(
    settings: Settings, database_url: str, test_handlers: LeadWriter
) -> None:
    for switch, expected in ((False, type(None)), (True, Worker)):
        app: FastAPI = create_app(
            settings.model_copy(update={"worker": switch}), database_url=database_url
        )
        async with app.router.lifespan_context(app):
            assert isinstance(app.state.worker, expected)


class TestElsewhere:
    @pytest.fixture
    def live_settings(self, settings: Settings, redis_url: str) -> Settings:
        return settings.model_copy(
            update={"reaper_interval_seconds": 300.0, "redis_url": redis_url, "worker": False}
        )

    async def test_a_separate_workers_progress_reaches_the_app_through_redis(
        self,
        live: Live,
        connect: Connect,
        settings: Settings,
        database_url: str,
        redis_url: str,
        owner: asyncpg.Connection,
    ) -> None:
        boss = await signup(live.http)
        watcher = await connect(
            "/app", {"token": boss.access}, events=("job:updated", "leads:bulk")
        )
        assert live.app.state.worker is None
        leads = [await create_lead(live.http, boss, name=f"مطعم {i}") for i in range(3)]
        body = {"type": "BULK_STATUS_UPDATE", "input": {"status": "WON", "filter": {}}}
        created = await live.http.post("/v1/jobs", json=body, headers=boss.headers)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        # A worker with a database pool and an event bus of its own, as `leedz worker` has,
        # running the registered handlers.
        database = Database(settings, database_url)
        await database.start()
        try:
            relay.subscribe(database.bus, redis_url)
            worker = Worker(database, settings, HANDLERS)
            await worker.run_until_idle()
            await worker.close()
        finally:
            await database.dispose()
        done = await watcher.wait_for(
            "job:updated", lambda e: e["status"] == "COMPLETED", within=10
        )
        assert done == {"id": job_id, "status": "COMPLETED", "progress": 100}
        assert ("RUNNING", 0) in [
            (e["status"], e["progress"]) for e in watcher.events["job:updated"]
        ]
        bulk = await watcher.wait_for("leads:bulk", within=10)
        assert bulk["jobId"] == job_id
        assert bulk["status"] == "WON"
        assert sorted(bulk["ids"]) == sorted(lead["id"] for lead in leads)
        status = await owner.fetchval("SELECT status FROM jobs WHERE id = $1::uuid", job_id)
        assert status == "COMPLETED"
