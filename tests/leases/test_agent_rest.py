"""The agent protocol's REST twin: claims under leases, fencing, retries, cancel, reaping."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.leases.reaper import LeaseReaper
from tests.factories.accounts import Account, on_plan, signup
from tests.factories.agents import AgentHandle, claim, create_job, register_agent


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


@pytest.fixture
async def agent(client: httpx.AsyncClient, boss: Account) -> AgentHandle:
    return await register_agent(client, boss)


async def call(
    client: httpx.AsyncClient, agent: AgentHandle, job_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/v1/agent/jobs/{job_id}/{action}", json=body, headers=agent.headers)


async def expire_leases(owner: asyncpg.Connection) -> None:
    await owner.execute(
        "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE status = 'RUNNING'"
    )


async def reap(app: FastAPI, settings_role: str = "leedz_app_reaper") -> None:
    await LeaseReaper(app.state.db, role=settings_role, interval=1).reap_once()


async def job_row(owner: asyncpg.Connection, job_id: str) -> asyncpg.Record:
    row = await owner.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
    assert row is not None
    return row


class TestClaim:
    async def test_nothing_to_claim_is_204(
        self, client: httpx.AsyncClient, agent: AgentHandle
    ) -> None:
        assert await claim(client, agent) is None

    async def test_claim_leases_the_job(
        self, client: httpx.AsyncClient, boss: Account, agent: AgentHandle
    ) -> None:
        job = await create_job(client, boss)
        claimed = await claim(client, agent)
        assert claimed is not None
        assert claimed["job"]["id"] == job["id"]
        assert claimed["job"]["status"] == "RUNNING"
        assert claimed["job"]["attempts"] == 1
        assert claimed["job"]["agentId"] == agent.id
        assert claimed["job"]["startedAt"] is not None
        uuid.UUID(claimed["leaseId"])
        seen = (await client.get(f"/v1/jobs/{job['id']}", headers=boss.headers)).json()
        assert seen["status"] == "RUNNING"
        assert await claim(client, agent) is None

    async def test_priority_then_age(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        fast = await register_agent(client, boss, maxConcurrency=10)
        old_low = await create_job(client, boss, priority=0)
        high = await create_job(client, boss, priority=5)
        new_low = await create_job(client, boss, priority=0)
        order = []
        for _ in range(3):
            claimed = await claim(client, fast)
            assert claimed is not None
            order.append(claimed["job"]["id"])
        assert order == [high["id"], old_low["id"], new_low["id"]]

    async def test_max_concurrency_holds_under_concurrent_claims(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        two = await register_agent(client, boss, maxConcurrency=2)
        for _ in range(6):
            await create_job(client, boss)
        results = await asyncio.gather(*(claim(client, two) for _ in range(6)))
        assert sum(r is not None for r in results) == 2
        running = await owner.fetchval(
            "SELECT count(*) FROM jobs WHERE agent_id = $1::uuid AND status = 'RUNNING'", two.id
        )
        assert running == 2

    async def test_concurrent_agents_never_get_the_same_job(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        agents = [await register_agent(client, boss, maxConcurrency=5) for _ in range(4)]
        for _ in range(10):
            await create_job(client, boss)
        results = await asyncio.gather(*(claim(client, a) for a in agents for _ in range(5)))
        ids = [r["job"]["id"] for r in results if r is not None]
        assert len(ids) == 10
        assert len(set(ids)) == 10

    async def test_only_capable_agents_claim(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        surveyor = await register_agent(client, boss, capabilities=["SURVEY"])
        await create_job(client, boss)
        assert await claim(client, surveyor) is None
        response = await client.post(
            "/v1/agent/jobs/claim", json={"types": ["SEARCH"]}, headers=surveyor.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "capability_missing"


class TestFencing:
    async def test_progress_complete_and_stale_leases(
        self, client: httpx.AsyncClient, boss: Account, agent: AgentHandle
    ) -> None:
        job = await create_job(client, boss)
        claimed = await claim(client, agent)
        assert claimed is not None
        lease = claimed["leaseId"]
        progress = await call(client, agent, job["id"], "progress", leaseId=lease, progress=40)
        assert progress.status_code == 200, progress.text
        assert progress.json()["progress"] == 40
        assert progress.json()["cancelRequested"] is False
        for wrong in (str(uuid.uuid4()),):
            stale = await call(client, agent, job["id"], "progress", leaseId=wrong, progress=50)
            assert stale.status_code == 409
            assert stale.json()["code"] == "lease_stale"
        other = await register_agent(client, boss)
        foreign = await call(client, other, job["id"], "complete", leaseId=lease)
        assert foreign.status_code == 409
        assert foreign.json()["code"] == "lease_stale"
        done = await call(client, agent, job["id"], "complete", leaseId=lease, output={"n": 3})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "COMPLETED"
        assert done.json()["progress"] == 100
        # A SEARCH job's output carries the lead counters of its uploads (none here).
        assert done.json()["output"] == {"n": 3, "leadsCreated": 0, "leadsJoined": 0}
        assert done.json()["completedAt"] is not None
        # The same completion again (its answer was lost) is harmless; progress after it is not.
        again = await call(client, agent, job["id"], "complete", leaseId=lease, output={"n": 3})
        assert again.status_code == 200
        late = await call(client, agent, job["id"], "progress", leaseId=lease, progress=10)
        assert late.status_code == 409

    async def test_expired_lease_is_reaped_and_the_old_lease_refused(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        boss: Account,
        agent: AgentHandle,
        owner: asyncpg.Connection,
    ) -> None:
        job = await create_job(client, boss)
        first = await claim(client, agent)
        assert first is not None
        await expire_leases(owner)
        await reap(app)
        row = await job_row(owner, job["id"])
        assert row["status"] == "PENDING"
        assert row["agent_id"] is None
        assert json.loads(row["error"])["code"] == "lease_expired"
        second_agent = await register_agent(client, boss)
        second = await claim(client, second_agent)
        assert second is not None
        assert second["leaseId"] != first["leaseId"]
        assert second["job"]["attempts"] == 2
        stale = await call(client, agent, job["id"], "complete", leaseId=first["leaseId"])
        assert stale.status_code == 409
        ok = await call(client, second_agent, job["id"], "complete", leaseId=second["leaseId"])
        assert ok.status_code == 200

    async def test_reaping_fails_after_max_attempts(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        boss: Account,
        agent: AgentHandle,
        owner: asyncpg.Connection,
    ) -> None:
        job = await create_job(client, boss)
        for _ in range(3):
            assert await claim(client, agent) is not None
            await expire_leases(owner)
            await reap(app)
        row = await job_row(owner, job["id"])
        assert row["status"] == "FAILED"
        assert row["attempts"] == 3
        assert row["completed_at"] is not None
        assert await claim(client, agent) is None

    async def test_whatsapp_after_delivery_started_is_never_handed_out_again(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        boss: Account,
        agent: AgentHandle,
        owner: asyncpg.Connection,
    ) -> None:
        send = {"phone": "+966501234567", "message": "مرحبا"}
        job = await create_job(client, boss, "WHATSAPP_SEND", send)
        claimed = await claim(client, agent)
        assert claimed is not None
        sent = await call(
            client,
            agent,
            job["id"],
            "progress",
            leaseId=claimed["leaseId"],
            progress=50,
            deliveryStarted=True,
        )
        assert sent.status_code == 200
        await expire_leases(owner)
        await reap(app)
        assert (await job_row(owner, job["id"]))["status"] == "FAILED"
        assert await claim(client, agent) is None

        # Retryable failure after sending: still failed, never requeued.
        again = await create_job(client, boss, "WHATSAPP_SEND", send)
        claimed = await claim(client, agent)
        assert claimed is not None
        lease = claimed["leaseId"]
        await call(
            client, agent, again["id"], "progress", leaseId=lease, progress=1, deliveryStarted=True
        )
        failed = await call(
            client,
            agent,
            again["id"],
            "fail",
            leaseId=lease,
            error={"code": "network", "message": "lost"},
            retryable=True,
        )
        assert failed.json()["status"] == "FAILED"


class TestFail:
    async def test_retryable_failure_requeues_until_attempts_run_out(
        self, client: httpx.AsyncClient, boss: Account, agent: AgentHandle
    ) -> None:
        job = await create_job(client, boss)
        statuses = []
        for _ in range(3):
            claimed = await claim(client, agent)
            assert claimed is not None
            failed = await call(
                client,
                agent,
                job["id"],
                "fail",
                leaseId=claimed["leaseId"],
                error={"code": "captcha", "message": "blocked"},
                retryable=True,
            )
            assert failed.status_code == 200, failed.text
            statuses.append(failed.json()["status"])
        assert statuses == ["PENDING", "PENDING", "FAILED"]
        final = (await client.get(f"/v1/jobs/{job['id']}", headers=boss.headers)).json()
        assert final["error"]["code"] == "captcha"
        assert final["attempts"] == 3

    async def test_final_failure(
        self, client: httpx.AsyncClient, boss: Account, agent: AgentHandle
    ) -> None:
        job = await create_job(client, boss)
        claimed = await claim(client, agent)
        assert claimed is not None
        failed = await call(
            client,
            agent,
            job["id"],
            "fail",
            leaseId=claimed["leaseId"],
            error={"code": "bad_query", "message": "nothing to search"},
        )
        assert failed.json()["status"] == "FAILED"
        assert failed.json()["error"]["code"] == "bad_query"


class TestCancel:
    async def test_running_job_cancel_reaches_the_agent_and_ends_on_its_answer(
        self, client: httpx.AsyncClient, boss: Account, agent: AgentHandle
    ) -> None:
        job = await create_job(client, boss)
        claimed = await claim(client, agent)
        assert claimed is not None
        lease = claimed["leaseId"]
        cancel = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=boss.headers)
        assert cancel.json()["status"] == "RUNNING"
        beat = await client.post(
            "/v1/agent/heartbeat", json={"inFlight": [job["id"]]}, headers=agent.headers
        )
        assert beat.json()["cancel"] == [job["id"]]
        progress = await call(client, agent, job["id"], "progress", leaseId=lease, progress=60)
        assert progress.json()["cancelRequested"] is True
        answer = await call(
            client,
            agent,
            job["id"],
            "fail",
            leaseId=lease,
            error={"code": "cancelled", "message": "stopped"},
            retryable=True,
        )
        assert answer.json()["status"] == "CANCELLED"

    async def test_running_job_cancel_ends_on_lease_expiry(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        boss: Account,
        agent: AgentHandle,
        owner: asyncpg.Connection,
    ) -> None:
        job = await create_job(client, boss)
        assert await claim(client, agent) is not None
        await client.post(f"/v1/jobs/{job['id']}/cancel", headers=boss.headers)
        await expire_leases(owner)
        await reap(app)
        assert (await job_row(owner, job["id"]))["status"] == "CANCELLED"


class TestHeartbeat:
    async def test_extends_leases_and_names_the_ones_to_drop(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        agent: AgentHandle,
        owner: asyncpg.Connection,
    ) -> None:
        job = await create_job(client, boss)
        claimed = await claim(client, agent)
        assert claimed is not None
        before = (await job_row(owner, job["id"]))["lease_expires_at"]
        await asyncio.sleep(0.05)
        ghost = str(uuid.uuid4())
        beat = await client.post(
            "/v1/agent/heartbeat", json={"inFlight": [job["id"], ghost]}, headers=agent.headers
        )
        assert beat.status_code == 200, beat.text
        body = beat.json()
        assert body["leaseSeconds"] == 60
        assert [lease["jobId"] for lease in body["leases"]] == [job["id"]]
        assert body["drop"] == [ghost]
        assert (await job_row(owner, job["id"]))["lease_expires_at"] > before
        listing = (await client.get("/v1/agents", headers=boss.headers)).json()["items"]
        assert listing[0]["online"] is True
        assert listing[0]["runningJobs"] == 1
        assert listing[0]["lastSeenAt"] is not None

    async def test_without_body(self, client: httpx.AsyncClient, agent: AgentHandle) -> None:
        beat = await client.post("/v1/agent/heartbeat", headers=agent.headers)
        assert beat.status_code == 200, beat.text


AGENT_PATHS = [
    ("/v1/agent/heartbeat", {}),
    ("/v1/agent/jobs/claim", {}),
    ("/v1/agent/jobs/{job}/progress", {"leaseId": str(uuid.uuid4()), "progress": 1}),
    ("/v1/agent/jobs/{job}/evidence", {"leaseId": str(uuid.uuid4()), "items": [{}]}),
    ("/v1/agent/jobs/{job}/complete", {"leaseId": str(uuid.uuid4())}),
    (
        "/v1/agent/jobs/{job}/fail",
        {"leaseId": str(uuid.uuid4()), "error": {"code": "x", "message": "y"}},
    ),
]


class TestAgentAuthentication:
    @pytest.mark.parametrize(("path", "body"), AGENT_PATHS)
    async def test_revoked_forged_and_user_tokens_fail_on_every_path(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        agent: AgentHandle,
        path: str,
        body: dict[str, Any],
    ) -> None:
        job = await create_job(client, boss)
        url = path.format(job=job["id"])
        tampered = agent.token[:-2] + ("AA" if not agent.token.endswith("AA") else "BB")
        for token in (tampered, "lza_nonsense", boss.access, "", "lza_" + "A" * 64):
            response = await client.post(
                url, json=body, headers={"authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, (token, response.text)
        revoke = await client.delete(f"/v1/agents/{agent.id}", headers=boss.headers)
        assert revoke.status_code == 204
        response = await client.post(url, json=body, headers=agent.headers)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"


class TestTenantWalls:
    async def test_an_agent_never_sees_claims_or_touches_another_tenants_jobs(
        self, client: httpx.AsyncClient, boss: Account, agent: AgentHandle
    ) -> None:
        job = await create_job(client, boss)
        claimed = await claim(client, agent)
        assert claimed is not None
        await create_job(client, boss)  # a pending one, too
        rival = await signup(client)
        rival_agent = await register_agent(client, rival)
        assert await claim(client, rival_agent) is None
        for action, body in (
            ("progress", {"leaseId": claimed["leaseId"], "progress": 5}),
            ("complete", {"leaseId": claimed["leaseId"]}),
            ("fail", {"leaseId": claimed["leaseId"], "error": {"code": "x", "message": ""}}),
            ("evidence", {"leaseId": claimed["leaseId"], "items": []}),
        ):
            response = await call(client, rival_agent, job["id"], action, **body)
            assert response.status_code in (409, 422), response.text
        beat = await client.post(
            "/v1/agent/heartbeat", json={"inFlight": [job["id"]]}, headers=rival_agent.headers
        )
        assert beat.json()["leases"] == []
        assert beat.json()["drop"] == [job["id"]]
        seen = (await client.get(f"/v1/jobs/{job['id']}", headers=boss.headers)).json()
        assert seen["status"] == "RUNNING"
        assert seen["progress"] == 0


async def as_reaper(owner: asyncpg.Connection, sql: str) -> object:
    """One statement as the reaper role, in a transaction of its own (rolled back)."""
    tx = owner.transaction()
    await tx.start()
    try:
        await owner.execute("SET LOCAL ROLE leedz_app_reaper")
        return await owner.fetchval(sql)
    finally:
        await tx.rollback()


class TestReaperRole:
    async def test_sees_only_expired_leases_and_writes_nothing(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        agent: AgentHandle,
        owner: asyncpg.Connection,
    ) -> None:
        for _ in range(2):
            await create_job(client, boss)
        assert await claim(client, agent) is not None
        assert await as_reaper(owner, "SELECT count(*) FROM jobs") == 0
        await expire_leases(owner)
        assert await as_reaper(owner, "SELECT count(*) FROM jobs") == 1
        for sql in (
            "SELECT count(*) FROM agents",
            "SELECT count(*) FROM evidence",
            "SELECT count(*) FROM users",
            "UPDATE jobs SET progress = 99",
            "DELETE FROM jobs",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await as_reaper(owner, sql)


async def test_a_cancelled_jobs_lease_is_not_extended(
    client: httpx.AsyncClient, boss: Account, agent: AgentHandle, owner: asyncpg.Connection
) -> None:
    job = await create_job(client, boss)
    claimed = await claim(client, agent)
    assert claimed is not None
    await client.post(f"/v1/jobs/{job['id']}/cancel", headers=boss.headers)
    before = (await job_row(owner, job["id"]))["lease_expires_at"]
    await asyncio.sleep(0.05)
    await client.post("/v1/agent/heartbeat", json={}, headers=agent.headers)
    await call(client, agent, job["id"], "progress", leaseId=claimed["leaseId"], progress=9)
    assert (await job_row(owner, job["id"]))["lease_expires_at"] == before


async def test_several_reapers_release_each_lease_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    busy = await register_agent(client, boss, maxConcurrency=40)
    for _ in range(40):
        await create_job(client, boss)
    for _ in range(40):
        assert await claim(client, busy) is not None
    await expire_leases(owner)
    reapers = [LeaseReaper(app.state.db, role="leedz_app_reaper", interval=1) for _ in range(4)]
    released = await asyncio.gather(*(r.reap_once() for r in reapers))
    assert sum(released) == 40
    rows = await owner.fetch("SELECT status, attempts FROM jobs")
    assert {(r["status"], r["attempts"]) for r in rows} == {("PENDING", 1)}


@pytest.mark.parametrize(
    "output",
    [
        '{"n": 123456789012345678901234567890}',
        '{"text": "a\\u0000b"}',
        '{"surrogate": "\\ud800"}',
        '{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}',
    ],
)
async def test_an_unstorable_output_is_422_and_the_job_stays_running(
    client: httpx.AsyncClient,
    boss: Account,
    agent: AgentHandle,
    owner: asyncpg.Connection,
    output: str,
) -> None:
    job = await create_job(client, boss)
    claimed = await claim(client, agent)
    assert claimed is not None
    response = await client.post(
        f"/v1/agent/jobs/{job['id']}/complete",
        content=f'{{"leaseId": "{claimed["leaseId"]}", "output": {output}}}',
        headers={**agent.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "output"
    assert (await job_row(owner, job["id"]))["status"] == "RUNNING"


async def test_delivery_is_not_recorded_once_a_cancel_was_asked(
    client: httpx.AsyncClient, boss: Account, agent: AgentHandle, owner: asyncpg.Connection
) -> None:
    send = {"phone": "+966501234567", "message": "hi"}
    job = await create_job(client, boss, "WHATSAPP_SEND", send)
    claimed = await claim(client, agent)
    assert claimed is not None
    await client.post(f"/v1/jobs/{job['id']}/cancel", headers=boss.headers)
    answer = await call(
        client,
        agent,
        job["id"],
        "progress",
        leaseId=claimed["leaseId"],
        progress=1,
        deliveryStarted=True,
    )
    assert answer.json()["cancelRequested"] is True
    assert (await job_row(owner, job["id"]))["delivery_started_at"] is None
