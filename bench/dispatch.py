"""Dispatch through the agent protocol, against ceilings measured in the same run.

dispatch_latency: a steady 100 jobs/s created over REST; an agent on a socket receives
`job:available` and claims (`job:claim`, acked); each job's latency runs from the moment its
POST is sent to the moment its claim is acknowledged. Targets: p50 <= 10 ms, p99 <= 50 ms.
Ceiling: the POST alone (created, answered) at the same rate in the same run; the ratio of p99s
says what dispatch adds to a create.

claim_throughput: 8 agents on sockets claim and complete back to back (`job:claim` then
`job:complete`, each acked) against 8 raw asyncpg connections running the same SQL (the agent's
first statement locking the agent, the SKIP LOCKED claim; then the first statement and the
completion), in interleaved rounds. Target: >= 0.5 x the raw loop.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from tests.support.scratch import asyncpg_dsn

from bench.harness import Check, Result, Sample
from bench.http_load import PYTHON, free_port, server_process
from bench.socket_client import RawSocket
from leedz.agents.repository import BEGIN_AGENT_SQL
from leedz.kit.db import init_connection
from leedz.leases.repository import CLAIM_SQL, COMPLETE_SQL

SECRET = "bench-secret-" + "d" * 40
RATE = 100.0
DISPATCH_SECONDS = 10.0
WORKERS = 8
ROUNDS = 3
ROUND_SECONDS = 5.0
PRELOAD = 60_000


def _env(url: str, port: int) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "LEEDZ_JWT_SECRET": SECRET,
        "LEEDZ_ENV": "development",
        "LEEDZ_PORT": str(port),
        "LEEDZ_LOG_LEVEL": "WARNING",
        "LEEDZ_DB_POOL_SIZE": "10",
        "LEEDZ_DB_MAX_OVERFLOW": "0",
        "LEEDZ_RATE_LIMIT_SOCKET_CONNECT": "100000/minute",
        "LEEDZ_RATE_LIMIT_SOCKET_CONNECT_INSTANCE": "1000000/second",
    }


def _percentiles(latencies: list[float], seconds: float) -> Sample:
    latencies = sorted(latencies)
    return Sample(
        ops_per_second=len(latencies) / seconds,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
    )


async def _tenant(base: str, url: str, agents: int, max_concurrency: int) -> tuple[str, list[str]]:
    """An ENTERPRISE tenant (no quotas) with `agents` agents: (access token, agent tokens)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        email = f"bench-{uuid.uuid4().hex[:8]}@bench.example"
        signup = await http.post(
            "/v1/auth/signup",
            json={"email": email, "password": "bench password 1", "name": "Bench"},
        )
        signup.raise_for_status()
        tokens = signup.json()
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute(
                "UPDATE tenants SET plan_id = (SELECT id FROM plans WHERE name = 'ENTERPRISE')"
                " WHERE id = $1::uuid",
                tokens["tenant"]["id"],
            )
        finally:
            await conn.close()
        headers = {"authorization": f"Bearer {tokens['accessToken']}"}
        agent_tokens = []
        for i in range(agents):
            agent = await http.post(
                "/v1/agents",
                json={"name": f"bench {i}", "maxConcurrency": max_concurrency},
                headers=headers,
            )
            agent.raise_for_status()
            agent_tokens.append(agent.json()["token"])
        return tokens["accessToken"], agent_tokens


async def _agent_socket(base: str, token: str) -> RawSocket:
    client = RawSocket()
    await client.connect(base, {"token": token})
    return client


# --- dispatch_latency ---------------------------------------------------------------------


async def _dispatch(base: str, url: str) -> tuple[Sample, Sample, int]:
    access, (agent_token,) = await _tenant(base, url, 1, 100)
    agent = await _agent_socket(base, agent_token)
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    claimed: dict[str, float] = {}
    background: set[asyncio.Task[Any]] = set()

    async def claim_one(_: object = None) -> None:
        ack = await agent.call("job:claim", {})
        if ack.get("job") is None:
            return
        claimed[ack["job"]["input"]["query"]] = time.perf_counter()
        await agent.call("job:complete", {"jobId": ack["job"]["id"], "leaseId": ack["leaseId"]})

    def on_event(event: str, _: object) -> None:
        if event != "job:available":
            return
        task = asyncio.create_task(claim_one())
        background.add(task)
        task.add_done_callback(background.discard)

    agent.on_event = on_event
    headers = {"authorization": f"Bearer {access}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=httpx.Limits(max_connections=50)
    ) as http:

        async def create(name: str) -> None:
            sent[name] = time.perf_counter()
            response = await http.post(
                "/v1/jobs", json={"type": "SEARCH", "input": {"query": name, "maxResults": 1}}
            )
            response.raise_for_status()
            answered[name] = time.perf_counter()

        async def paced(prefix: str, seconds: float) -> list[str]:
            names, tasks = [], []
            start = time.perf_counter()
            n = 0
            while (elapsed := time.perf_counter() - start) < seconds:
                name = f"{prefix}-{n}"
                names.append(name)
                tasks.append(asyncio.create_task(create(name)))
                n += 1
                await asyncio.sleep(max(0.0, n / RATE - elapsed))
            await asyncio.gather(*tasks)
            return names

        await paced("warmup", 2.0)
        measured = await paced("bench", DISPATCH_SECONDS)
        for _ in range(200):  # up to 10 s for the last claims
            if all(n in claimed for n in measured):
                break
            await asyncio.sleep(0.05)
    await asyncio.gather(*background, return_exceptions=True)
    await agent.close()
    missing = sum(n not in claimed for n in measured)
    dispatch = [claimed[n] - sent[n] for n in measured if n in claimed]
    creates = [answered[n] - sent[n] for n in measured]
    return (
        _percentiles(dispatch, DISPATCH_SECONDS),
        _percentiles(creates, DISPATCH_SECONDS),
        missing,
    )


def dispatch_latency(url: str) -> Result:
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="leedz-bench-"))
    result = Result(
        name="dispatch_latency",
        subject="POST /v1/jobs -> job:available -> job:claim acked, 100 jobs/s",
        ceiling="POST /v1/jobs answered (the create alone), same run",
        target_ratio=3.0,
        compare="p99",
    )
    command = [PYTHON, "-m", "leedz.cli", "serve", "--port", str(port)]
    with server_process(command, env=_env(url, port), port=port, log=logs / "server.log"):
        dispatch, creates, missing = asyncio.run(_dispatch(f"http://127.0.0.1:{port}", url))
    result.subject_samples.append(dispatch)
    result.ceiling_samples.append(creates)
    result.checks += [
        Check("dispatch p50", dispatch.p50_ms, 10.0, "ms"),
        Check("dispatch p99", dispatch.p99_ms, 50.0, "ms"),
        Check("jobs never claimed", float(missing), 0.0, "jobs"),
    ]
    result.notes.append(f"server log in {logs}")
    return result


# --- claim_throughput ---------------------------------------------------------------------


async def _top_up(url: str, access_tenant: str, pending: int) -> None:
    """Pending jobs back up to `pending`: every pair of rounds starts from the same queue (and a
    faster machine cannot run the queue dry)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        have = await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE tenant_id = $1::uuid AND status = 'PENDING'",
            access_tenant,
        )
        if have >= pending:
            return
        await conn.execute(
            "INSERT INTO jobs (tenant_id, type, input, created_by_id)"
            " SELECT t.id, 'SEARCH', jsonb_build_object('query', 'q' || n, 'maxResults', 1),"
            " m.user_id FROM tenants t JOIN memberships m ON m.tenant_id = t.id,"
            " generate_series(1, $2) n WHERE t.id = $1::uuid",
            access_tenant,
            pending - have,
        )
        # Statistics for the planner, as autovacuum would gather them after a bulk load: without
        # them a prepared claim may settle on a plan that scans every pending job.
        await conn.execute("ANALYZE jobs")
    finally:
        await conn.close()


async def _agents_of(url: str, tenant: str) -> list[uuid.UUID]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM agents WHERE tenant_id = $1::uuid ORDER BY created_at", tenant
            )
        ]
    finally:
        await conn.close()


async def _socket_round(agents: list[RawSocket]) -> Sample:
    latencies: list[float] = []
    deadline = time.perf_counter() + ROUND_SECONDS

    async def loop(agent: RawSocket) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            ack = await agent.call("job:claim", {})
            if not ack.get("ok") or ack.get("job") is None:
                raise RuntimeError(f"claim failed: {ack}")
            done = await agent.call(
                "job:complete",
                {"jobId": ack["job"]["id"], "leaseId": ack["leaseId"], "output": {"n": 1}},
            )
            if not done.get("ok"):
                raise RuntimeError(f"complete failed: {done}")
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop(a) for a in agents))
    return _percentiles(latencies, time.perf_counter() - started)


async def _raw_round(pool: asyncpg.Pool, tenant: uuid.UUID, agent_ids: list[uuid.UUID]) -> Sample:
    latencies: list[float] = []
    deadline = time.perf_counter() + ROUND_SECONDS
    scope = ("leedz_app", str(tenant), "15000", None)

    async def loop(agent_id: uuid.UUID) -> None:
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                # The server's statements, verbatim: the agent's first statement (locking the
                # agent for a claim), the claim returning the job; then the completion.
                async with conn.transaction():
                    await conn.fetchrow(BEGIN_AGENT_SQL, *scope, agent_id, True, False)
                    row = await conn.fetchrow(CLAIM_SQL, tenant, agent_id, ["SEARCH"], 60, 1)
                if row is None:
                    raise RuntimeError("the raw loop ran out of jobs")
                async with conn.transaction():
                    await conn.fetchrow(BEGIN_AGENT_SQL, *scope, agent_id, False, False)
                    await conn.fetchrow(
                        COMPLETE_SQL,
                        tenant,
                        row["id"],
                        agent_id,
                        row["lease_id"],
                        json.dumps({"n": 1}),
                    )
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop(a) for a in agent_ids))
    return _percentiles(latencies, time.perf_counter() - started)


async def _throughput(base: str, url: str, result: Result) -> None:
    access, tokens = await _tenant(base, url, WORKERS * 2, 1)
    async with httpx.AsyncClient(base_url=base) as http:
        me = (await http.get("/v1/auth/me", headers={"authorization": f"Bearer {access}"})).json()
    tenant = uuid.UUID(me["tenant"]["id"])
    agent_ids = await _agents_of(url, str(tenant))
    # Socket agents use the first half of the agents, the raw loop the second: neither ever
    # finds the other's lease in its way (each runs one job at a time).
    sockets = [await _agent_socket(base, token) for token in tokens[:WORKERS]]
    # The server's connection set-up too (JSON columns decoded), so a claim returns the same job.
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url), min_size=WORKERS, max_size=WORKERS, init=init_connection
    )
    try:
        await _top_up(url, str(tenant), PRELOAD)
        await _socket_round(sockets)  # warm-up, both sides
        await _raw_round(pool, tenant, agent_ids[WORKERS:])
        for _ in range(ROUNDS):
            await _top_up(url, str(tenant), PRELOAD)
            result.subject_samples.append(await _socket_round(sockets))
            result.ceiling_samples.append(await _raw_round(pool, tenant, agent_ids[WORKERS:]))
    finally:
        await pool.close()
        for socket in sockets:
            await socket.close()


def claim_throughput(url: str) -> Result:
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="leedz-bench-"))
    result = Result(
        name="claim_throughput",
        subject=f"{WORKERS} socket agents: job:claim + job:complete, acked",
        ceiling=f"{WORKERS} raw asyncpg loops, same SQL (SKIP LOCKED)",
        target_ratio=0.5,
    )
    command = [PYTHON, "-m", "leedz.cli", "serve", "--port", str(port)]
    with server_process(command, env=_env(url, port), port=port, log=logs / "server.log"):
        asyncio.run(_throughput(f"http://127.0.0.1:{port}", url, result))
    result.notes.append(
        "jobs/s = claim-and-complete cycles per second; median of"
        f" {ROUNDS} x {ROUND_SECONDS:.0f} s rounds; server log in {logs}"
    )
    return result
