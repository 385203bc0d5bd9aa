"""Drain a queue with reference agents that crash and freeze: every job ends exactly once.

One real server (5 s leases, a reaper every 0.5 s), four `leedz agent` processes with
`maxConcurrency` 4. While they drain 500+ jobs the test SIGKILLs agents holding jobs and restarts
them with the same token (their jobs are released at the next handshake), and freezes one with
SIGSTOP past its lease (the reaper requeues its jobs; on SIGCONT its calls must be fenced off).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import on_plan, signup
from tests.factories.agents import register_agent
from tests.support.live import clean_env, running_server

pytestmark = pytest.mark.e2e

AGENTS = 4
MAX_CONCURRENCY = 4
SEARCH_JOBS = 500
SURVEY_JOBS = 12
KILLS = 4
LEASE_SECONDS = 5
DEADLINE_SECONDS = 240
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by SIGKILL
    return found


@dataclass
class AgentProcess:
    """One agent token and the successive processes that ran it."""

    index: int
    token: str
    base: str
    logs: Path
    env: dict[str, str]
    runs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        out = self.logs / f"agent-{self.index}-{len(self.runs)}.jsonl"
        err = self.logs / f"agent-{self.index}-{len(self.runs)}.stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "leedz.cli",
                    "agent",
                    "--url",
                    self.base,
                    "--token",
                    self.token,
                    "--work-seconds",
                    "0.05",
                ],
                env=self.env,
                stdout=stdout,
                stderr=stderr,
            )
        self.runs.append(process)
        self.outputs.append(out)

    @property
    def current(self) -> subprocess.Popen[bytes]:
        return self.runs[-1]

    def holding(self) -> set[str]:
        """Jobs the current process says it is working on."""
        held: set[str] = set()
        for line in _lines(self.outputs[-1]):
            if line["event"] == "claimed":
                held.add(line["jobId"])
            elif line["event"] in ("completed", "lost", "stopped"):
                held.discard(line["jobId"])
        return held

    def kill(self) -> None:
        for process in self.runs:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait(timeout=10)


async def _create_jobs(http: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    bodies: list[dict[str, Any]] = [
        {"type": "SEARCH", "input": {"query": f"bakery {n}", "location": "Riyadh", "maxResults": 3}}
        for n in range(SEARCH_JOBS)
    ] + [
        {"type": "SURVEY", "input": {"urls": [f"https://example.com/{n}", "https://example.org/"]}}
        for n in range(SURVEY_JOBS)
    ]
    ids: list[str] = []
    for start in range(0, len(bodies), 25):
        answers = await asyncio.gather(
            *(http.post("/v1/jobs", json=b, headers=headers) for b in bodies[start : start + 25])
        )
        for answer in answers:
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
    return ids


async def _status_counts(owner: asyncpg.Connection, tenant_id: str) -> dict[str, int]:
    rows = await owner.fetch(
        "SELECT status::text, count(*) FROM jobs WHERE tenant_id = $1::uuid GROUP BY 1", tenant_id
    )
    return {row[0]: row[1] for row in rows}


async def _wait_until_holding(agent: AgentProcess, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if agent.holding():
            return True
        await asyncio.sleep(0.05)
    return False


async def _freeze(agent: AgentProcess, done: dict[str, int]) -> None:
    """SIGSTOP past the lease: the reaper requeues its jobs and others take them."""
    if not await _wait_until_holding(agent, within=20):
        return
    done["frozenHolding"] = len(agent.holding())
    agent.current.send_signal(signal.SIGSTOP)
    try:
        await asyncio.sleep(LEASE_SECONDS + 2.5)
    finally:
        agent.current.send_signal(signal.SIGCONT)
    done["frozen"] = 1


async def _chaos(
    fleet: list[AgentProcess], owner: asyncpg.Connection, tenant_id: str, total: int
) -> dict[str, int]:
    """Kill agents mid-job (and freeze one) while the queue drains; what was done."""
    rng = random.Random()
    done = {"kills": 0, "frozen": 0, "frozenHolding": 0}
    frozen, *killable = rng.sample(fleet, len(fleet))
    deadline = time.monotonic() + DEADLINE_SECONDS
    next_kill = time.monotonic()
    freezing = asyncio.create_task(_freeze(frozen, done))
    try:
        while time.monotonic() < deadline:
            counts = await _status_counts(owner, tenant_id)
            finished = sum(counts.get(s, 0) for s in TERMINAL)
            if finished >= total:
                await freezing
                return done
            holding = [agent for agent in killable if agent.holding()]
            if time.monotonic() >= next_kill and done["kills"] < KILLS and holding:
                victim = rng.choice(holding)  # mid-job
                victim.current.kill()
                victim.current.wait(timeout=10)
                done["kills"] += 1
                victim.start()
                next_kill = time.monotonic() + rng.uniform(0.5, 1.0)
            for agent in fleet:
                code = agent.current.poll()
                assert code is None, f"agent {agent.index} exited with {code}"
            await asyncio.sleep(0.2)
    finally:
        freezing.cancel()
    pytest.fail(f"the queue did not drain in {DEADLINE_SECONDS}s: {counts}")


async def test_crashing_agents_drain_the_queue_exactly_once(
    database_url: str, tmp_path: Path, owner: asyncpg.Connection
) -> None:
    started = time.monotonic()
    logs = tmp_path / "agents"
    logs.mkdir()
    fleet: list[AgentProcess] = []
    with running_server(
        database_url,
        tmp_path,
        LEEDZ_LEASE_SECONDS=str(LEASE_SECONDS),
        LEEDZ_REAPER_INTERVAL_SECONDS="0.5",
    ) as base:
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                account = await signup(http)
                await on_plan(owner, account, "ENTERPRISE")
                handles = [
                    await register_agent(
                        http, account, name=f"drain-{i}", maxConcurrency=MAX_CONCURRENCY
                    )
                    for i in range(AGENTS)
                ]
                job_ids = await _create_jobs(http, account.headers)
            env = clean_env(tmp_path)
            fleet = [
                AgentProcess(index=i, token=h.token, base=base, logs=logs, env=env)
                for i, h in enumerate(handles)
            ]
            for agent in fleet:
                agent.start()
            chaos = await _chaos(fleet, owner, account.tenant_id, len(job_ids))
        finally:
            for agent in fleet:
                agent.kill()

    lines = [line for agent in fleet for path in agent.outputs for line in _lines(path)]
    jobs = {
        str(row["id"]): row
        for row in await owner.fetch(
            "SELECT id, status::text AS status, attempts, max_attempts, lease_id, error"
            " FROM jobs WHERE tenant_id = $1::uuid",
            account.tenant_id,
        )
    }
    assert set(jobs) == set(job_ids)

    # Every job ended: completed, or failed after its last attempt.
    not_done = {
        job_id: (row["status"], row["attempts"], row["max_attempts"])
        for job_id, row in jobs.items()
        if row["status"] != "COMPLETED"
        and not (row["status"] == "FAILED" and row["attempts"] == row["max_attempts"])
    }
    assert not not_done

    # Never two successful completions under two leases; the one that stands is the job's lease.
    completions: dict[str, set[str]] = defaultdict(set)
    refused: list[dict[str, Any]] = []
    for line in lines:
        if line["event"] == "completed":
            if line["ok"]:
                completions[line["jobId"]].add(line["leaseId"])
            else:
                refused.append(line)
    twice = {job_id: leases for job_id, leases in completions.items() if len(leases) > 1}
    assert not twice
    for job_id, leases in completions.items():
        assert jobs[job_id]["status"] == "COMPLETED"
        assert {str(jobs[job_id]["lease_id"])} == leases
    assert all(line["code"] == "lease_stale" for line in refused), refused
    lost = [line for line in lines if line["event"] == "lost"]
    assert all(line["code"] == "lease_stale" for line in lost), lost

    # Evidence: stored once per item, and every completed job has some.
    duplicates = await owner.fetch(
        "SELECT job_id, hash, count(*) FROM evidence WHERE tenant_id = $1::uuid"
        " GROUP BY job_id, hash HAVING count(*) > 1",
        account.tenant_id,
    )
    assert duplicates == []
    without_evidence = await owner.fetchval(
        "SELECT count(*) FROM jobs j WHERE j.tenant_id = $1::uuid AND j.status = 'COMPLETED'"
        " AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.job_id = j.id)",
        account.tenant_id,
    )
    assert without_evidence == 0

    retried = sum(1 for row in jobs.values() if row["attempts"] > 1)
    summary = {
        "seconds": round(time.monotonic() - started, 1),
        "jobs": len(jobs),
        "failed": sum(1 for row in jobs.values() if row["status"] == "FAILED"),
        "retried": retried,
        "completionsRefused": len(refused),
        "lostMidJob": len(lost),
        **chaos,
    }
    print("drain:", json.dumps(summary))  # noqa: T201 - the run's figures, shown with -s
    assert chaos["kills"] == KILLS
    assert retried > 0  # the kills did land mid-job
