"""`LeasedUnit`: the worker's `WorkUnit` (jobs/work.py) over one claimed job and its lease."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import orjson

from leedz.access.context import Actor
from leedz.errors import Forbidden, ValidationFailed
from leedz.jobs.events import JobUpdated
from leedz.jobs.models import JobStatus
from leedz.jobs.work import LeaseLost, ServerJob, UnitBase, creator_actor
from leedz.kit.db import Database, Tx
from leedz.worker.repository import WorkerLeases

CHECKPOINT_MAX_BYTES = 65_536


class CreatorNotMember(Forbidden):
    """The job's creator left the tenant (or was removed): nothing more is done in their name."""

    code, title = "creator_not_member", "Job creator no longer a member"


class WorkerStopping(Exception):
    """The worker is shutting down: no new batch starts (the job goes back to PENDING)."""


class LeasedUnit(UnitBase):
    """One run of a server-run job under the lease `lease_id`.

    `batch()` opens a transaction in the job's tenant as its creator, whose first statement
    locks the job if the lease is still held (else `LeaseLost`) and reads whether a user asked
    to cancel and the creator's role now (gone: `CreatorNotMember`); when the block ends, the
    checkpoint and progress given to `save` are written in the same transaction, which also
    extends the lease. The checkpoint the handler sees moves on only once that commit is done.
    """

    def __init__(
        self,
        database: Database,
        *,
        job: ServerJob,
        lease_id: UUID,
        actor: Actor,
        worker_id: str,
        checkpoint: dict[str, Any] | None,
        cancel_requested: bool,
        lease_seconds: int,
    ) -> None:
        super().__init__(database, job=job, actor=actor, checkpoint=checkpoint)
        self.lease_id = lease_id
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self._cancel_requested = cancel_requested
        self._batch: Tx | None = None
        self._pending: tuple[dict[str, Any], int] | None = None
        self.stopping = False  # set by the worker on shutdown: no new batch starts
        self.batches = 0

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    def cancel_seen(self, requested: bool) -> None:
        """What the lease extension read (a cancel request is never taken back)."""
        self._cancel_requested = self._cancel_requested or requested

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Tx]:
        if self.stopping:
            raise WorkerStopping
        if self._batch is not None:
            raise RuntimeError("batches do not nest")
        self._pending = None
        async with self._tx() as tx:
            leases = WorkerLeases(tx)
            held = await leases.hold(job_id=self._job.id, lease_id=self.lease_id)
            if held is None:
                raise LeaseLost("The worker no longer holds this job", jobId=str(self._job.id))
            if held.creator_role is None:
                raise CreatorNotMember(
                    "The member who created this job is no longer in the workspace"
                )
            self.cancel_seen(held.cancel_requested)
            if held.creator_role is not self._actor.role:
                self._actor = creator_actor(self._job, held.creator_role, self.worker_id)
            self._batch = tx
            try:
                yield tx
            finally:
                self._batch = None
            pending = self._take_pending()
            saved = await leases.save(
                job_id=self._job.id,
                lease_id=self.lease_id,
                lease_seconds=self.lease_seconds,
                checkpoint=pending[0] if pending else None,
                progress=pending[1] if pending else None,
            )
            if saved is None:  # cannot happen while the row is locked; never commit blind
                raise LeaseLost("The worker no longer holds this job", jobId=str(self._job.id))
            self.cancel_seen(saved.cancel_requested)
            if pending is not None:
                tx.publish(
                    JobUpdated(
                        tenant_id=self._job.tenant_id,
                        job_id=self._job.id,
                        status=JobStatus.RUNNING,
                        progress=saved.progress,
                    )
                )
        self.batches += 1
        if pending is not None:
            self._checkpoint = pending[0]

    def _take_pending(self) -> tuple[dict[str, Any], int] | None:
        pending, self._pending = self._pending, None
        return pending

    def save(self, tx: Tx, *, checkpoint: dict[str, Any], progress: int) -> None:
        if tx is not self._batch or self._batch is None:
            raise RuntimeError("save() belongs inside its own unit's batch()")
        if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
            raise ValueError("progress is an integer from 0 to 100")
        stored = json_within(checkpoint, CHECKPOINT_MAX_BYTES, "checkpoint")
        # A copy through JSON: what is stored is what the next worker gets back.
        self._pending = (orjson.loads(stored), progress)


def json_within(value: object, limit: int, what: str) -> bytes:
    """`value` as JSON of at most `limit` bytes, else `validation_error` naming `what`."""
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise ValidationFailed(f"The {what} is not representable as JSON") from exc
    if len(encoded) > limit:
        raise ValidationFailed(f"A {what} is at most {limit} bytes of JSON")
    return encoded
