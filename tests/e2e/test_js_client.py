"""The /agent Socket.IO protocol through the official JavaScript client (socket.io-client).

`tests/js/agent-protocol.mjs` is the agent: it connects, prints a "ready" step, and this test then
creates a SEARCH job, so the script proves it is told `job:available`. It claims the job, reports
progress, uploads evidence over the REST twin, completes, and checks the refusals (stale lease,
bad tokens). The database and the app-side API then show what it did.

Node 20+ and npm are required: a missing one fails the test (it is never skipped). The client is
installed with `npm ci` from the committed lock file when `tests/js/node_modules` is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from tests.factories.accounts import PASSWORD, unique_email
from tests.support.live import running_server
from tests.support.node import node_with_packages, read_step

pytestmark = pytest.mark.e2e

JS_DIR = Path(__file__).resolve().parents[1] / "js"
SCRIPT = JS_DIR / "agent-protocol.mjs"
READY_TIMEOUT = 15.0
SCRIPT_TIMEOUT = 40.0  # the script's own hard timeout is 30 s
EVIDENCE_COUNT = 2  # EVIDENCE_COUNT in agent-protocol.mjs


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with socket.io-client installed from the lock file (`npm ci`)."""
    return node_with_packages(JS_DIR, "to run the official socket.io-client against the server")


@pytest.fixture
async def base_url(
    database_url: str, tmp_path: Path, owner: asyncpg.Connection
) -> AsyncIterator[str]:
    # `owner` first: its teardown (truncation) runs after the server has stopped.
    with running_server(database_url, tmp_path / "data") as base:
        yield base


def _step(lines: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [line for line in lines if line["step"] == name]
    assert found, f"no {name!r} step in {lines}"
    return found[-1]


STEPS = [
    "connect",
    "heartbeat",
    "ready",
    "job:available",
    "job:claim",
    "job:progress",
    "job:progress",
    "evidence",
    "evidence:again",
    "job:complete",
    "lease_stale",
    "validation_error",
    "bad_token:malformed",
    "bad_token:wrong_secret",
    "done",
]


async def _run_agent(
    node: str, base_url: str, token: str, http: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[UUID, list[dict[str, Any]]]:
    """Run the script; create the SEARCH job once it is ready. The job id and its steps."""
    script = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        base_url,
        token,
        cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert script.stdout is not None
    lines: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            while (await read_step(script.stdout, lines))["step"] != "ready":
                assert lines[-1]["ok"], lines
        created = await http.post(
            "/v1/jobs",
            json={"type": "SEARCH", "input": {"query": "plumbers in Lyon", "maxResults": 5}},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        job_id = UUID(created.json()["id"])
        async with asyncio.timeout(SCRIPT_TIMEOUT):
            rest, errors = await script.communicate()
    finally:
        if script.returncode is None:
            script.kill()
            await script.wait()
    lines += [json.loads(line) for line in rest.decode().splitlines() if line.strip()]
    failure = f"exit {script.returncode}\n{lines}\n{errors.decode()[-3000:]}"
    assert script.returncode == 0, failure
    assert all(line["ok"] for line in lines), failure
    assert [line["step"] for line in lines] == STEPS, failure
    return job_id, lines


async def test_agent_protocol_through_the_javascript_client(
    node: str, base_url: str, owner: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        email = unique_email("js")
        signup = await http.post(
            "/v1/auth/signup",
            json={"email": email, "password": PASSWORD, "name": "JS", "tenantName": "JS Co"},
        )
        assert signup.status_code == 201, signup.text
        headers = {"authorization": f"Bearer {signup.json()['accessToken']}"}
        registered = await http.post("/v1/agents", json={"name": "js-agent"}, headers=headers)
        assert registered.status_code == 201, registered.text
        agent_id = UUID(registered.json()["agent"]["id"])

        job_id, lines = await _run_agent(node, base_url, registered.json()["token"], http, headers)

        claim = _step(lines, "job:claim")
        assert UUID(claim["jobId"]) == job_id
        # The input as stored (normalized: optional fields present as null).
        assert claim["input"]["query"] == "plumbers in Lyon"
        assert claim["input"]["maxResults"] == 5
        lease_id = UUID(claim["leaseId"])
        stored = {UUID(i) for i in _step(lines, "evidence")["stored"]}
        hashes = set(_step(lines, "evidence:again")["duplicates"])
        assert len(stored) == len(hashes) == EVIDENCE_COUNT

        # The database: completed once, under the lease the script was given.
        job = await owner.fetchrow(
            "SELECT status::text AS status, progress, attempts, agent_id, lease_id,"
            " lease_expires_at, output, started_at, completed_at FROM jobs WHERE id = $1",
            job_id,
        )
        assert job is not None
        assert job["status"] == "COMPLETED"
        assert job["progress"] == 100
        assert job["attempts"] == 1
        assert job["agent_id"] == agent_id
        assert job["lease_id"] == lease_id
        assert job["lease_expires_at"] is None
        output = job["output"]
        assert (json.loads(output) if isinstance(output, str) else output) == {
            "found": EVIDENCE_COUNT,
            "client": "socket.io-client",
            # Search results name no business: no lead (resolution's counters).
            "leadsCreated": 0,
            "leadsJoined": 0,
        }
        assert job["started_at"] is not None
        assert job["completed_at"] is not None
        rows = await owner.fetch("SELECT id, hash FROM evidence WHERE job_id = $1", job_id)
        assert {r["id"] for r in rows} == stored
        assert {r["hash"] for r in rows} == hashes

        # The app side sees the same.
        listed = await http.get(f"/v1/jobs/{job_id}/evidence", headers=headers)
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert {UUID(i["id"]) for i in items} == stored
        assert {i["hash"] for i in items} == hashes
        assert {i["source"] for i in items} == {"js-client-test"}
        shown = await http.get(f"/v1/jobs/{job_id}", headers=headers)
        assert shown.status_code == 200, shown.text
        assert (shown.json()["status"], shown.json()["progress"], shown.json()["attempts"]) == (
            "COMPLETED",
            100,
            1,
        )
