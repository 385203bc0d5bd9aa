"""What agents do with jobs: claim under a lease, report progress, complete, fail, heartbeat.

Every call acts under a lease `(job, agent, lease_id)`; a lease that is not the job's current
one — released by the reaper, or another agent's — answers `lease_stale` and changes nothing, so
a job is never completed twice. The same functions serve the REST twin (`/v1/agent/*`) and the
Socket.IO gateway, each call in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from leedz.agents.context import AgentPrincipal
from leedz.errors import Conflict, PayloadTooLarge, ValidationFailed
from leedz.evidence import service as evidence
from leedz.evidence.schemas import EvidenceUploadOut, LeadResolutionOut
from leedz.jobs.events import JobsAvailable, JobUpdated
from leedz.jobs.models import JobStatus, JobType
from leedz.jobs.repository import JobRow
from leedz.jobs.schemas import AGENT_INPUTS, JobOut
from leedz.kit.db import Tx
from leedz.leases.repository import Leases, ProgressRow, ReleasedJobRow
from leedz.leases.schemas import (
    ClaimIn,
    ClaimOut,
    CompleteIn,
    FailIn,
    HeartbeatIn,
    HeartbeatOut,
    LeaseOut,
    ProgressIn,
    ProgressOut,
)
from leedz.resolution import service as resolution

OUTPUT_MAX_BYTES = 51_200


class LeaseStale(Conflict):
    code, title = "lease_stale", "Lease no longer held"


class CapabilityMissing(ValidationFailed):
    code, title = "capability_missing", "Agent cannot run these job types"


def _stale(job_id: UUID) -> LeaseStale:
    return LeaseStale(
        "This agent does not hold the job under that lease (released, reassigned or finished)",
        jobId=str(job_id),
    )


def _job_updated(agent: AgentPrincipal, row: JobRow | ProgressRow) -> JobUpdated:
    return JobUpdated(
        tenant_id=agent.tenant_id,
        job_id=row.id,
        status=row.status,
        progress=row.progress,
    )


def publish_released(tx: Tx, rows: Iterable[ReleasedJobRow]) -> None:
    """Announce jobs whose lease was let go: users see their status, agents the requeued ones."""
    requeued: dict[UUID, set[JobType]] = {}
    for row in rows:
        tx.publish(
            JobUpdated(
                tenant_id=row.tenant_id,
                job_id=row.id,
                status=row.status,
                progress=row.progress,
            )
        )
        if row.status is JobStatus.PENDING:
            requeued.setdefault(row.tenant_id, set()).add(row.type)
    for tenant_id, types in requeued.items():
        tx.publish(JobsAvailable(tenant_id=tenant_id, job_types=tuple(sorted(types))))


async def heartbeat(
    tx: Tx, agent: AgentPrincipal, body: HeartbeatIn, *, lease_seconds: int
) -> HeartbeatOut:
    """Extend the agent's leases (those it lists, or all it holds). The caller's transaction
    marked it seen already (its first statement, `AgentLookup.touch`)."""
    rows = await Leases(tx).extend(
        agent_id=agent.agent_id, job_ids=body.in_flight, lease_seconds=lease_seconds
    )
    held = {row.id for row in rows}
    return HeartbeatOut(
        server_time=datetime.now(UTC),
        lease_seconds=lease_seconds,
        leases=[
            LeaseOut(job_id=r.id, lease_id=r.lease_id, lease_expires_at=r.lease_expires_at)
            for r in rows
        ],
        drop=[job_id for job_id in dict.fromkeys(body.in_flight or []) if job_id not in held],
        cancel=[r.id for r in rows if r.cancel_requested],
    )


async def reconcile(
    tx: Tx, agent: AgentPrincipal, in_flight: list[UUID], *, lease_seconds: int
) -> HeartbeatOut:
    """On (re)connect: the database is the truth. Jobs the agent holds but no longer reports are
    let go at once (requeued, or failed when they may not run twice); the rest are extended."""
    released = await Leases(tx).release_unlisted(agent_id=agent.agent_id, keep=in_flight)
    publish_released(tx, released)
    return await heartbeat(tx, agent, HeartbeatIn(in_flight=in_flight), lease_seconds=lease_seconds)


async def claim(
    tx: Tx, agent: AgentPrincipal, body: ClaimIn, *, lease_seconds: int
) -> ClaimOut | None:
    """The next job this agent may run, under a new lease; None when there is none (or the agent
    already runs `maxConcurrency` jobs)."""
    # Server-run types never reach an agent, whatever its row says (the database refuses them
    # in capabilities and on a job with an agent too: migration 20261201_1800).
    capabilities = agent.capabilities & frozenset(AGENT_INPUTS)
    types = capabilities if body.types is None else capabilities & set(body.types)
    if not types:
        raise CapabilityMissing(
            "None of the requested job types is among this agent's capabilities",
            capabilities=sorted(agent.capabilities),
        )
    leases = Leases(tx)
    if not agent.locked:  # the transaction's first statement may have locked it already
        await leases.lock_agent(agent.agent_id)
    row = await leases.claim(
        agent_id=agent.agent_id,
        types=sorted(types),
        lease_seconds=lease_seconds,
        max_running=agent.max_concurrency,
    )
    if row is None:
        return None
    tx.publish(_job_updated(agent, row))
    return ClaimOut(
        job=JobOut.model_validate(row),
        lease_id=row.lease_id,
        lease_expires_at=row.lease_expires_at,
    )


async def progress(
    tx: Tx, agent: AgentPrincipal, job_id: UUID, body: ProgressIn, *, lease_seconds: int
) -> ProgressOut:
    """Record progress under the lease and extend it; says whether a user asked to cancel."""
    row = await Leases(tx).progress(
        job_id=job_id,
        agent_id=agent.agent_id,
        lease_id=body.lease_id,
        progress=body.progress,
        delivery_started=body.delivery_started,
        lease_seconds=lease_seconds,
    )
    if row is None:
        raise _stale(job_id)
    tx.publish(_job_updated(agent, row))
    return ProgressOut(
        job_id=job_id,
        progress=row.progress,
        lease_expires_at=row.lease_expires_at,
        cancel_requested=row.cancel_requested,
    )


async def upload_evidence(
    tx: Tx,
    agent: AgentPrincipal,
    job_id: UUID,
    *,
    lease_id: UUID,
    items: list[dict[str, Any]],
    resolve: bool = True,
) -> EvidenceUploadOut:
    """Store a batch of evidence for a job this agent holds under `lease_id`, and resolve its
    records into leads (resolution/, in the same transaction): `leads` says, per item, which
    lead it created or joined. Without `resolve` (the setting `resolution=off`), the evidence is
    stored and `leads` is empty, as before resolution existed."""
    job = await Leases(tx).held(job_id=job_id, agent_id=agent.agent_id, lease_id=lease_id)
    if job is None:
        raise _stale(job_id)
    stored = await evidence.store_items(tx, job_id=job_id, items=items)
    if not resolve:
        return stored.out
    resolved = await resolution.resolve_batch(tx, agent=agent, job=job, evidence_rows=stored.items)
    return stored.out.model_copy(
        update={
            "leads": [
                LeadResolutionOut(index=r.index, lead_id=r.lead_id, action=r.action)
                for r in resolved
            ]
        }
    )


def _checked_output(output: dict[str, Any] | None) -> dict[str, Any] | None:
    """The output within the same limits as evidence's rawData, checked before anything is
    written: JSON that parsed may still be unstorable (an integer beyond 64 bits, a lone
    surrogate, a NUL, nesting without end)."""
    if output is None:
        return None
    try:
        size = len(orjson.dumps(output))
    except orjson.JSONEncodeError as exc:
        raise ValidationFailed("The output is not representable as JSON", field="output") from exc
    if size > OUTPUT_MAX_BYTES:
        raise PayloadTooLarge(
            f"A job's output is at most {OUTPUT_MAX_BYTES} bytes of JSON",
            field="output",
            limit=OUTPUT_MAX_BYTES,
        )
    if evidence.deeper_than(output, evidence.RAW_DATA_MAX_DEPTH):
        raise ValidationFailed(
            f"The output nests more than {evidence.RAW_DATA_MAX_DEPTH} levels",
            field="output",
            limit=evidence.RAW_DATA_MAX_DEPTH,
        )
    if evidence.has_nul(output):
        raise ValidationFailed("The output contains a NUL character", field="output")
    return output


async def complete(tx: Tx, agent: AgentPrincipal, job_id: UUID, body: CompleteIn) -> JobOut:
    """COMPLETED under the lease. Repeating the same completion (a lost answer) is harmless."""
    leases = Leases(tx)
    row = await leases.complete(
        job_id=job_id,
        agent_id=agent.agent_id,
        lease_id=body.lease_id,
        output=_checked_output(body.output),
    )
    if row is None:
        current = await leases.state(job_id)
        if (
            current is not None
            and current.status is JobStatus.COMPLETED
            and current.lease_id == body.lease_id
            and current.agent_id == agent.agent_id
        ):
            return JobOut.model_validate(current)
        raise _stale(job_id)
    tx.publish(_job_updated(agent, row))
    return JobOut.model_validate(row)


async def fail(tx: Tx, agent: AgentPrincipal, job_id: UUID, body: FailIn) -> JobOut:
    """The agent gives the job up: CANCELLED if a user asked, PENDING again when retryable and
    attempts remain (never after a message went out), FAILED otherwise."""
    leases = Leases(tx)
    held = await leases.held(job_id=job_id, agent_id=agent.agent_id, lease_id=body.lease_id)
    if held is None:
        raise _stale(job_id)
    error = {**body.error.model_dump(), "attempts": held.attempts}
    if held.cancel_requested_at is not None:
        row = await leases.finish(job_id=job_id, status=JobStatus.CANCELLED.value, error=error)
    elif body.retryable and held.attempts < held.max_attempts and held.delivery_started_at is None:
        row = await leases.requeue(job_id=job_id, error=error)
        tx.publish(JobsAvailable(tenant_id=agent.tenant_id, job_types=(row.type,)))
    else:
        row = await leases.finish(job_id=job_id, status=JobStatus.FAILED.value, error=error)
    tx.publish(_job_updated(agent, row))
    return JobOut.model_validate(row)
