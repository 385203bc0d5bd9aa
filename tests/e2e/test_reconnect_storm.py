"""A reconnect storm: 1,000 agents lose their server at once and come back.

The server is killed (SIGKILL, a crash) while 1,000 agents hold a job each, and started again on
the same port. Every agent reconnects with jittered exponential backoff (the reference agent's
`reconnect_delay`), honouring `retryAfter` when the per-instance handshake limit refuses it,
and sends the job it holds in `inFlight`. All must be back, the limit must have refused some
(it is what protects the server), and no job may have changed hands.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import pytest
from bench.socket_client import RawSocket, Refused

from leedz.reference_agent.backoff import reconnect_delay
from tests.factories.accounts import on_plan, signup
from tests.support.live import free_port, server_process

pytestmark = pytest.mark.e2e

AGENTS = 1000
SERVER_SETTINGS = {
    # Every test client is 127.0.0.1: the per-IP limit is set out of the way, the per-instance
    # one is what this test is about.
    "LEEDZ_RATE_LIMIT_SOCKET_CONNECT": "1000000/minute",
    "LEEDZ_RATE_LIMIT_SOCKET_CONNECT_INSTANCE": "150/second",
    "LEEDZ_REAPER_INTERVAL_SECONDS": "1",
}


class Swarm:
    """`AGENTS` agents, each keeping one connection up and holding one job."""

    def __init__(self, base: str, tokens: list[str], session: aiohttp.ClientSession) -> None:
        self.base = base
        self.tokens = tokens
        self.session = session
        self.holding: dict[int, str] = {}
        self.connected: set[int] = set()
        self.rate_limited = 0
        self.stopping = False

    async def keep_up(self, index: int) -> None:
        attempt = 0
        while not self.stopping:
            socket = RawSocket(session=self.session)
            try:
                held = [self.holding[index]] if index in self.holding else []
                await socket.connect(self.base, {"token": self.tokens[index], "inFlight": held})
            except Refused as refused:
                wait = reconnect_delay(attempt)
                if refused.code == "rate_limited":
                    self.rate_limited += 1
                    wait = max(wait, float(refused.data["data"].get("retryAfter", 1)))
                await asyncio.sleep(wait)
                attempt += 1
                continue
            except (ConnectionError, OSError, aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(reconnect_delay(attempt))
                attempt += 1
                continue
            attempt = 0
            self.connected.add(index)
            try:
                if index not in self.holding:
                    ack = await socket.call("job:claim", {})
                    self.holding[index] = ack["job"]["id"]
                await socket.wait_closed()
            except (ConnectionError, TimeoutError):
                pass
            finally:
                self.connected.discard(index)
                await socket.close()

    async def until(self, condition: Callable[[], bool], within: float) -> None:
        for _ in range(int(within * 10)):
            if condition():
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"not within {within} s")


async def _tenant_with_agents(base: str, owner: asyncpg.Connection) -> list[str]:
    # No keep-alive: on a starved machine a pooled connection can sit idle past the server's
    # keep-alive timeout and be closed just as the next request goes out on it (httpx.ReadError).
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        boss = await signup(http)
        await on_plan(owner, boss, "ENTERPRISE")
        tokens: list[str] = []
        for start in range(0, AGENTS, 50):
            answers = await asyncio.gather(
                *(
                    http.post("/v1/agents", json={"name": f"a{i}"}, headers=boss.headers)
                    for i in range(start, min(start + 50, AGENTS))
                )
            )
            assert [a.status_code for a in answers] == [201] * len(answers), _failed(answers)
            tokens += [a.json()["token"] for a in answers]
        for start in range(0, AGENTS, 50):
            answers = await asyncio.gather(
                *(
                    http.post(
                        "/v1/jobs",
                        json={"type": "SEARCH", "input": {"query": f"storm {i}"}},
                        headers=boss.headers,
                    )
                    for i in range(start, min(start + 50, AGENTS))
                )
            )
            assert [a.status_code for a in answers] == [201] * len(answers), _failed(answers)
        return tokens


def _failed(answers: list[httpx.Response]) -> list[str]:
    return [f"{a.status_code} {a.text}" for a in answers if a.status_code != 201]


async def test_a_thousand_agents_come_back_and_keep_their_jobs(
    database_url: str, tmp_path: Path, owner: asyncpg.Connection
) -> None:
    port = free_port()
    with server_process(database_url, tmp_path, port=port, environment=SERVER_SETTINGS) as (
        first,
        base,
    ):
        tokens = await _tenant_with_agents(base, owner)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            swarm = Swarm(base, tokens, session)
            agents = [asyncio.create_task(swarm.keep_up(i)) for i in range(AGENTS)]
            try:
                await swarm.until(lambda: len(swarm.holding) == AGENTS, within=120)
                leases = {
                    str(r["id"]): (r["lease_id"], r["agent_id"])
                    for r in await owner.fetch("SELECT id, lease_id, agent_id FROM jobs")
                }
                assert len(leases) == AGENTS

                first.send_signal(signal.SIGKILL)  # the crash: every socket drops at once
                first.wait(timeout=60)  # closing 1,000 sockets is slow on starved cores
                await swarm.until(lambda: not swarm.connected, within=30)
                limited_before = swarm.rate_limited
                with server_process(database_url, tmp_path, port=port, environment=SERVER_SETTINGS):
                    await swarm.until(lambda: len(swarm.connected) == AGENTS, within=120)
                    refused_in_storm = swarm.rate_limited - limited_before
                    rows = await owner.fetch(
                        "SELECT id, status, attempts, lease_id, agent_id FROM jobs"
                    )
                    swarm.stopping = True
            finally:
                swarm.stopping = True
                for task in agents:
                    task.cancel()
                await asyncio.gather(*agents, return_exceptions=True)
    assert refused_in_storm > 0, "the per-instance handshake limit never had to act"
    assert {r["status"] for r in rows} == {"RUNNING"}
    assert {r["attempts"] for r in rows} == {1}
    # Nobody's job changed hands: the same lease, the same agent, for every job.
    assert {str(r["id"]): (r["lease_id"], r["agent_id"]) for r in rows} == leases
