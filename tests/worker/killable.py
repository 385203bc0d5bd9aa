"""A worker process for the crash tests: `python -m tests.worker.killable DATABASE_URL NAME`.

It runs `leedz worker`'s own process code (worker/process.py: SIGTERM is a clean stop) with a
slow, checkpointing handler for BULK_STATUS_UPDATE jobs that writes leads batch by batch
(tests/worker/support.py LeadWriter), and a 3 s lease.
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import SecretStr

from leedz.config import Environment, Settings
from leedz.jobs.models import JobType
from leedz.kit.logging import configure_logging
from leedz.worker.process import run_worker_process
from tests.worker.support import LeadWriter

ROWS, PER_BATCH, PAUSE = 60, 5, 0.25


def main() -> None:
    url, name = sys.argv[1], sys.argv[2]
    settings = Settings(
        _env_file=None,
        env=Environment.TEST,
        jwt_secret=SecretStr("killable-" + "x" * 40),
        worker_lease_seconds=3,
        worker_poll_seconds=0.1,
        worker_shutdown_grace_seconds=5,
        db_pool_size=4,
    )
    configure_logging("INFO", json=True)
    writer = LeadWriter(rows=ROWS, per_batch=PER_BATCH, pause=PAUSE)
    asyncio.run(
        run_worker_process(
            settings, url, {JobType.BULK_STATUS_UPDATE: writer}, worker_id=f"killable-{name}"
        )
    )


if __name__ == "__main__":
    main()
