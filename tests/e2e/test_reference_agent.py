"""`leedz agent` against a real server: WhatsApp delivery flag, cancel, revocation."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import on_plan, signup
from tests.factories.agents import register_agent
from tests.support.live import clean_env, running_server

pytestmark = pytest.mark.e2e


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


async def _until(check: Any, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    pytest.fail("condition not met in time")


def _start_agent(base: str, token: str, out: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "leedz.cli", "agent", "--url", base, "--token", token]
    with out.open("wb") as stdout:
        return subprocess.Popen(
            [*command, "--work-seconds", "3"],
            env=clean_env(data_dir),
            stdout=stdout,
            stderr=subprocess.PIPE,
        )


async def test_cancel_whatsapp_and_revocation(
    database_url: str, tmp_path: Path, owner: asyncpg.Connection
) -> None:
    out = tmp_path / "agent.jsonl"
    with running_server(database_url, tmp_path) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            account = await signup(http)
            await on_plan(owner, account, "ENTERPRISE")
            agent = await register_agent(http, account, maxConcurrency=2)
            whatsapp = await http.post(
                "/v1/jobs",
                json={
                    "type": "WHATSAPP_SEND",
                    "input": {"phone": "+966500000001", "message": "hi"},
                },
                headers=account.headers,
            )
            search = await http.post(
                "/v1/jobs",
                json={"type": "SEARCH", "input": {"query": "cafes", "maxResults": 2}},
                headers=account.headers,
            )
            assert whatsapp.status_code == search.status_code == 201
            process = _start_agent(base, agent.token, out, tmp_path)
            try:
                search_id = search.json()["id"]

                async def running() -> bool:
                    job = (await http.get(f"/v1/jobs/{search_id}", headers=account.headers)).json()
                    return bool(job["status"] == "RUNNING")

                await _until(running)
                cancel = await http.post(f"/v1/jobs/{search_id}/cancel", headers=account.headers)
                assert cancel.status_code == 200, cancel.text

                async def settled() -> bool:
                    rows = await owner.fetch(
                        "SELECT status::text FROM jobs WHERE tenant_id = $1::uuid",
                        account.tenant_id,
                    )
                    return sorted(r[0] for r in rows) == ["CANCELLED", "COMPLETED"]

                await _until(settled)
                sent = await owner.fetchrow(
                    "SELECT status::text AS status, delivery_started_at FROM jobs"
                    " WHERE id = $1::uuid",
                    whatsapp.json()["id"],
                )
                assert sent is not None
                assert sent["status"] == "COMPLETED"
                assert sent["delivery_started_at"] is not None

                revoke = await http.delete(f"/v1/agents/{agent.id}", headers=account.headers)
                assert revoke.status_code == 204
                code = process.wait(timeout=20)
                assert process.stderr is not None
                stderr = process.stderr.read()
                assert code == 3, stderr.decode(errors="replace")[-3000:]
                assert b"revoked" in stderr
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()

    events = _events(out)
    failed = [e for e in events if e["event"] == "failed"]
    assert [(e["jobId"], e["ok"], e["code"]) for e in failed] == [(search_id, True, "cancelled")]
    assert any(e["event"] == "revoked" for e in events)
    assert events[-1]["event"] == "exit"
