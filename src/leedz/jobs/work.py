"""The contract between the worker and the features that run server-type jobs.

A server-type job (IMPORT, EXPORT, BULK_STATUS_UPDATE, BULK_DELETE) is claimed by a worker under
a lease, exactly like an agent job; the worker then calls the job type's `Handler` with a
`WorkUnit`. The handler does its work in batches: each `async with unit.batch() as tx:` is one
transaction in the job's tenant, as the job's creator (so row-level security applies to them,
`salesSeeAllLeads` included), which first checks that the worker still holds the lease (else
`LeaseLost`, and nothing of the batch is stored) and, when the block ends, stores the checkpoint
and progress given to `unit.save` in the same transaction. A worker killed between batches
loses nothing: the next worker is handed the last committed checkpoint in `unit.checkpoint`.

A handler returns the job's output (COMPLETED). When `unit.cancel_requested` turns true it
stops between batches and returns `Cancelled(output)` (CANCELLED, the output saying how far it
got: what was done stays done). A `LeedzError` it raises fails the job with that error's code
and message; anything else is a bug, logged, and the job is retried until its attempts run out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from leedz.access.context import Actor, RequestMeta
from leedz.access.roles import Role
from leedz.errors import Conflict
from leedz.jobs.models import JobType
from leedz.kit.db import Database, Tx


class LeaseLost(Conflict):
    """The worker no longer holds the job (the reaper released it, or it was cancelled and
    finished): the batch is rolled back and the handler must stop."""

    code, title = "lease_stale", "Lease no longer held"


@dataclass(frozen=True, slots=True)
class ServerJob:
    """The job being run, as claimed."""

    id: UUID
    tenant_id: UUID
    type: JobType
    input: dict[str, Any]  # validated at creation (jobs/schemas.py SERVER_INPUTS), camelCase
    created_by_id: UUID
    attempts: int  # this run's attempt, from 1
    created_at: datetime  # when someone asked for it


@dataclass(frozen=True, slots=True)
class Cancelled:
    """What a handler returns when it stopped on a cancel request: the partial output."""

    output: dict[str, Any]


class WorkUnit(Protocol):
    """What a handler gets from the worker (see the module docstring)."""

    @property
    def job(self) -> ServerJob: ...

    @property
    def actor(self) -> Actor:
        """The job's creator with their role read now; the job does only what they could."""
        ...

    @property
    def checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint of the last committed batch (None before the first)."""
        ...

    @property
    def cancel_requested(self) -> bool:
        """Whether a user asked to cancel (refreshed by every batch and lease extension)."""
        ...

    def batch(self) -> AbstractAsyncContextManager[Tx]:
        """One transaction of work under the lease (see the module docstring)."""
        ...

    def save(self, tx: Tx, *, checkpoint: dict[str, Any], progress: int) -> None:
        """Within `batch()`: the checkpoint (JSON) and progress (0-100) its commit stores."""
        ...

    def read(self) -> AbstractAsyncContextManager[Tx]:
        """A transaction for a long read (an export's server-side cursor) in the job's tenant
        as its creator; it does not check the lease and stores nothing of the unit's."""
        ...


Handler = Callable[[WorkUnit], Awaitable[dict[str, Any] | Cancelled]]
"""Runs one server-type job to its end: the output, or `Cancelled`."""


def creator_actor(job: ServerJob, role: Role, worker_id: str | None = None) -> Actor:
    """The job's creator as the actor of its handler, with their role now."""
    return Actor(
        user_id=job.created_by_id,
        tenant_id=job.tenant_id,
        role=role,
        token_id=job.id,
        meta=RequestMeta(
            ip=None,
            user_agent=f"leedz-worker/{worker_id}" if worker_id else "leedz-worker",
            request_id=None,
        ),
    )


class UnitBase:
    """What every `WorkUnit` does alike: it holds the job, its creator as the actor and the
    last committed checkpoint, and opens its transactions in the job's tenant as its creator
    (`read()` is one). A unit adds `batch()`, `save()` and `cancel_requested`."""

    def __init__(
        self,
        database: Database,
        *,
        job: ServerJob,
        actor: Actor,
        checkpoint: dict[str, Any] | None,
    ) -> None:
        self.database = database
        self._job = job
        self._actor = actor
        self._checkpoint = checkpoint

    @property
    def job(self) -> ServerJob:
        return self._job

    @property
    def actor(self) -> Actor:
        return self._actor

    @property
    def checkpoint(self) -> dict[str, Any] | None:
        return self._checkpoint

    def _tx(self) -> AbstractAsyncContextManager[Tx]:
        """A transaction in the job's tenant as its creator."""
        return self.database.transaction(
            tenant_id=self._job.tenant_id, user_id=self._job.created_by_id
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._tx() as tx:
            yield tx
