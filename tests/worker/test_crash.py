"""A worker process killed with SIGKILL mid-job: another resumes from the checkpoint, and the
result is that of an uninterrupted run. SIGTERM: a clean stop that gives the job back."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from leedz.jobs.models import JobType
from leedz.kit.db import Database
from leedz.leases.reaper import LeaseReaper
from tests.support.databases import APP_ROLE
from tests.support.live import LEEDZ, clean_env
from tests.worker import killable
from tests.worker.conftest import MakeWorker
from tests.worker.support import (
    LeadWriter,
    add_job,
    create_tenant,
    expected_names,
    job_row,
    lead_names,
)

ROOT = Path(__file__).resolve().parents[2]
Spawn = Callable[[str], "subprocess.Popen[bytes]"]
Row = dict[str, Any]


@pytest.fixture
def spawn(database_url: str) -> Iterator[Spawn]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.worker.killable", database_url, name],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def wait_for(
    owner: asyncpg.Connection, job_id: uuid.UUID, check: Callable[[Row], bool]
) -> Row:
    for _ in range(600):
        row = await job_row(owner, job_id)
        if check(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job never got there: {row}")


def written(row: Row) -> int:
    return int((row["checkpoint"] or {}).get("next", 0))


async def test_sigkill_mid_job_then_another_worker_resumes_exactly_once(
    owner: asyncpg.Connection, db: Database, make_worker: MakeWorker, spawn: Spawn
) -> None:
    crashed = await create_tenant(owner, "crashed")
    job_id = await add_job(owner, crashed)
    first = spawn("first")
    # A few batches committed, and the next one open (each sleeps inside its transaction).
    at_kill = written(await wait_for(owner, job_id, lambda r: written(r) >= 3 * killable.PER_BATCH))
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    row = await job_row(owner, job_id)
    assert (row["status"], row["worker_id"], row["attempts"]) == ("RUNNING", "killable-first", 1)
    killed_at = written(row)
    assert killed_at >= at_kill
    # What the killed batch wrote died with its connection; every committed batch is there.
    assert await lead_names(owner, crashed.tenant_id) == expected_names(job_id, killed_at)

    # The lease, shortened, runs out; the reaper gives the job back with its checkpoint.
    await owner.execute(
        "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", job_id
    )
    assert await LeaseReaper(db, role=f"{APP_ROLE}_reaper", interval=1).reap_once() == 1
    requeued = await job_row(owner, job_id)
    assert (requeued["status"], written(requeued)) == ("PENDING", killed_at)

    second = spawn("second")
    done = await wait_for(
        owner, job_id, lambda r: r["status"] != "PENDING" and r["status"] != "RUNNING"
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0, second.stderr.read() if second.stderr else ""
    assert (done["status"], done["attempts"], done["worker_id"]) == (
        "COMPLETED",
        2,
        "killable-second",
    )
    assert done["output"] == {"written": killable.ROWS, "resumedAt": killed_at}

    # An uninterrupted run of the same job, for comparison: the same leads, once each.
    calm = await create_tenant(owner, "calm")
    calm_job = await add_job(owner, calm)
    writer = LeadWriter(rows=killable.ROWS, per_batch=killable.PER_BATCH)
    await make_worker({JobType.BULK_STATUS_UPDATE: writer}).run_until_idle()
    resumed = await lead_names(owner, crashed.tenant_id)
    uninterrupted = await lead_names(owner, calm.tenant_id)
    assert resumed == expected_names(job_id, killable.ROWS)
    assert [n.split("-")[1] for n in resumed] == [n.split("-")[1] for n in uninterrupted]
    assert (await job_row(owner, calm_job))["output"]["written"] == killable.ROWS


async def test_sigterm_ends_the_batch_and_gives_the_job_back(
    owner: asyncpg.Connection, spawn: Spawn
) -> None:
    member = await create_tenant(owner, "term")
    job_id = await add_job(owner, member)
    process = spawn("term")
    await wait_for(owner, job_id, lambda r: written(r) >= 2 * killable.PER_BATCH)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0, process.stderr.read() if process.stderr else ""
    row = await job_row(owner, job_id)
    assert (row["status"], row["attempts"], row["worker_id"]) == ("PENDING", 0, None)
    assert await lead_names(owner, member.tenant_id) == expected_names(job_id, written(row))
    assert written(row) < killable.ROWS


def test_leedz_worker_runs_until_sigterm(database_url: str, tmp_path: Path) -> None:
    env = {
        **clean_env(tmp_path),
        "DATABASE_URL": database_url,
        "LEEDZ_ENV": "test",
        "LEEDZ_JWT_SECRET": "cli-" + "x" * 40,
        "LEEDZ_WORKER_CONCURRENCY": "2",
    }
    process = subprocess.Popen(
        [*LEEDZ, "worker", "--concurrency", "3"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for raw in process.stdout:  # started: it logs so once its loop runs
            lines.append(raw.decode())
            if "worker_started" in lines[-1]:
                break
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0, "".join(lines) + rest.decode()
        assert "worker_stopped" in rest.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
