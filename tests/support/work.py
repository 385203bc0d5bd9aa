"""Run a server-job handler in-process, without a worker or a lease (jobs/work.py's contract).

For tests of a handler's own rules: each batch is a real transaction in the job's tenant as its
creator; the checkpoint lives in memory (a "crash" is a new unit given the last checkpoint).
The worker's own tests cover leases, fencing and resumption across processes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from leedz.access.roles import Role
from leedz.jobs.models import JobType
from leedz.jobs.work import Cancelled, Handler, ServerJob, UnitBase, creator_actor
from leedz.kit.db import Database, Tx


class InlineUnit(UnitBase):
    """A `WorkUnit` over a database; `cancel_after` batches, it reports a cancel request."""

    def __init__(
        self,
        database: Database,
        *,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        role: Role,
        job_type: JobType,
        job_input: dict[str, Any],
        checkpoint: dict[str, Any] | None = None,
        cancel_after: int | None = None,
        job_id: uuid.UUID | None = None,
        created_at: datetime | None = None,
    ) -> None:
        job = ServerJob(
            id=job_id or uuid.uuid4(),
            tenant_id=tenant_id,
            type=job_type,
            input=job_input,
            created_by_id=user_id,
            attempts=1,
            created_at=created_at or datetime.now(UTC),
        )
        super().__init__(database, job=job, actor=creator_actor(job, role), checkpoint=checkpoint)
        self._pending: dict[str, Any] | None = None
        self.cancel_after = cancel_after
        self.batches = 0
        self.progress: list[int] = []

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_after is not None and self.batches >= self.cancel_after

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Tx]:
        self._pending = None
        async with self._tx() as tx:
            yield tx
        self.batches += 1
        self._checkpoint = self._pending or self._checkpoint

    def save(self, tx: Tx, *, checkpoint: dict[str, Any], progress: int) -> None:
        assert 0 <= progress <= 100
        self._pending = checkpoint
        self.progress.append(progress)


async def run_inline(handler: Handler, unit: InlineUnit) -> dict[str, Any] | Cancelled:
    """The handler's result for this unit."""
    return await handler(unit)
