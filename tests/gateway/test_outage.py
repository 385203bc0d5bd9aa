"""PostgreSQL goes away while clients call: fast 503s, sockets stay up, everything recovers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from leedz.config import Settings
from tests.factories.accounts import signup
from tests.factories.agents import create_job, register_agent
from tests.gateway.conftest import Connect, Live
from tests.support.proxy import OutageProxy


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[OutageProxy]:
    proxy = OutageProxy(database_url)
    await proxy.start()
    yield proxy
    await proxy.cut()


@pytest.fixture
def live_database_url(database_url: str, proxy: OutageProxy) -> str:
    return proxy.url_for(database_url)


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reaper_interval_seconds": 300.0, "db_connect_timeout": 1.0})


async def test_calls_fail_fast_sockets_stay_and_all_recovers(
    live: Live, connect: Connect, proxy: OutageProxy, owner: asyncpg.Connection
) -> None:
    boss = await signup(live.http)
    agent = await register_agent(live.http, boss)
    job = await create_job(live.http, boss)
    worker = await connect("/agent", {"token": agent.token})
    watcher = await connect("/app", {"token": boss.access})
    claimed = await worker.call("job:claim", {})
    lease = claimed["leaseId"]

    await proxy.cut()
    started = time.monotonic()
    answer = await worker.call(
        "job:progress", {"jobId": job["id"], "leaseId": lease, "progress": 5}
    )
    assert time.monotonic() - started < 1.5
    assert answer["ok"] is False
    assert answer["error"]["code"] == "database_unavailable"
    for request in (
        live.http.post(
            "/v1/jobs",
            json={"type": "SEARCH", "input": {"query": "during the outage"}},
            headers=boss.headers,
        ),
        live.http.get("/v1/jobs", headers=boss.headers),
        live.http.post(
            f"/v1/agent/jobs/{job['id']}/complete", json={"leaseId": lease}, headers=agent.headers
        ),
    ):
        started = time.monotonic()
        response = await request
        assert time.monotonic() - started < 1.5
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "database_unavailable"
        assert "Traceback" not in response.text
    assert (await live.http.get("/readyz")).status_code == 503
    assert (await live.http.get("/healthz")).status_code == 200
    await asyncio.sleep(0.5)
    assert worker.client.connected
    assert watcher.client.connected

    await proxy.restore()
    for _ in range(30):
        if (await live.http.get("/readyz")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("/readyz did not recover")
    done = await worker.call("job:complete", {"jobId": job["id"], "leaseId": lease})
    assert done["ok"] is True, done
    await watcher.wait_for("job:updated", lambda e: e["status"] == "COMPLETED")
    # Nothing half-written: the job created during the outage does not exist.
    queries = await owner.fetch("SELECT input->>'query' AS q FROM jobs")
    assert [r["q"] for r in queries] == [job["input"]["query"]]
