"""Jobs: created with typed input and reserved quota, listed, read, cancelled.

Every type's input is validated by its schema. Agent-executed types (SEARCH, SURVEY,
WHATSAPP_*) are claimed by agents; server-executed types (IMPORT, EXPORT, BULK_*: SERVER_INPUTS)
by the worker (worker/, jobs/work.py), which creation wakes. A server-run job needs its own
permission besides jobs:create (it does what its creator could do by hand), an EXPORT also the
plan's `bulk_export` feature; REPORT_GENERATE is refused until it has a worker. SEARCH reserves
one search and WHATSAPP_* one message per recipient of the month's quota at creation; a job that
ends without running gives them back.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import ValidationError

from leedz.access.context import Actor
from leedz.access.permissions import Permission
from leedz.audit import service as audit
from leedz.errors import Conflict, Forbidden, NotFound, QuotaExceeded, ValidationFailed
from leedz.jobs.events import JobCancelRequested, JobCreated, JobsAvailable, JobUpdated
from leedz.jobs.models import JobStatus, JobType
from leedz.jobs.repository import JobRow, Jobs, UsageCounters, wake_workers
from leedz.jobs.schemas import AGENT_INPUTS, SERVER_INPUTS, EvidenceOut, JobCreate, JobOut
from leedz.kit.db import Tx
from leedz.kit.pagination import Page, decode_cursor, next_cursor
from leedz.plans import repository as plans
from leedz.plans.service import current_period, require_feature


class JobTypeNotAvailable(ValidationFailed):
    code, title = "job_type_not_available", "Job type not available"


class JobNotCancellable(Conflict):
    code, title = "job_not_cancellable", "Job already finished"


def _cost(job_type: JobType, job_input: dict[str, Any]) -> tuple[int, int]:
    """(searches, messages) a job of this type and input reserves."""
    if job_type is JobType.SEARCH:
        return 1, 0
    if job_type is JobType.WHATSAPP_SEND:
        return 0, 1
    if job_type is JobType.WHATSAPP_BULK:
        return 0, len(job_input.get("phones", []))
    return 0, 0


async def _reserve(tx: Tx, searches: int, messages: int) -> None:
    period = current_period()
    totals = await UsageCounters(tx).add(period, searches=searches, messages=messages)
    plan = await plans.Plans(tx).of_current_tenant()
    for quota, used, limit in (
        ("searches", totals.searches, plan.max_searches),
        ("messages", totals.messages, plan.max_messages),
    ):
        if limit is not None and used > limit:
            # The increment rolls back with the request.
            raise QuotaExceeded(
                f"The {plan.name} plan allows {limit} {quota} a month",
                quota=quota,
                limit=limit,
                used=used - (searches if quota == "searches" else messages),
            )


# What a server-run job needs besides jobs:create: the permission of doing it by hand.
SERVER_PERMISSIONS: dict[JobType, Permission] = {
    JobType.IMPORT: Permission.LEADS_IMPORT,
    JobType.EXPORT: Permission.LEADS_EXPORT,
    JobType.BULK_STATUS_UPDATE: Permission.LEADS_WRITE,
    JobType.BULK_DELETE: Permission.LEADS_DELETE,
}
# And the plan features it needs (402 feature_not_in_plan without).
SERVER_FEATURES: dict[JobType, str] = {JobType.EXPORT: "bulk_export"}


async def _may_run_on_server(tx: Tx, actor: Actor, job_type: JobType) -> None:
    permission = SERVER_PERMISSIONS[job_type]
    if not actor.can(permission):
        raise Forbidden(
            f"Your role ({actor.role.value}) lacks the permission {permission.value}",
            permission=permission.value,
        )
    feature = SERVER_FEATURES.get(job_type)
    if feature is not None:
        await require_feature(tx, feature)


async def create(tx: Tx, actor: Actor, body: JobCreate) -> JobOut:
    """A PENDING job with validated input and its quota reserved; a server-run one wakes the
    workers once committed."""
    schema = AGENT_INPUTS.get(body.type) or SERVER_INPUTS.get(body.type)
    if schema is None:
        raise JobTypeNotAvailable(f"{body.type.value} jobs have no worker yet")
    server_run = body.type in SERVER_INPUTS
    if server_run:
        await _may_run_on_server(tx, actor, body.type)
    try:
        job_input = schema.model_validate(body.input).model_dump(mode="json", by_alias=True)
        if job_input.get("country", "") is None:  # optional, and stored only when given
            del job_input["country"]
    except ValidationError as exc:
        raise ValidationFailed(
            f"The input is not valid for a {body.type.value} job",
            errors=[
                {"loc": ["body", "input", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ],
        ) from exc
    searches, messages = _cost(body.type, job_input)
    period = None
    if searches or messages:
        await _reserve(tx, searches, messages)
        period = current_period()
    row = await Jobs(tx).insert(
        job_type=body.type.value,
        job_input=job_input,
        priority=body.priority,
        created_by=actor.user_id,
        quota_period=period,
    )
    await audit.record(
        tx,
        "job.created",
        actor=actor,
        entity_type="job",
        entity_id=row.id,
        details={"type": body.type.value},
    )
    tx.publish(JobCreated(tenant_id=actor.tenant_id, job_id=row.id, job_type=body.type))
    if server_run:
        # This process's worker hears the event, the others' the NOTIFY.
        tx.publish(JobsAvailable(tenant_id=actor.tenant_id, job_types=(body.type,)))
        await wake_workers(tx)
    return JobOut.model_validate(row)


async def get(tx: Tx, job_id: UUID) -> JobOut:
    row = await Jobs(tx).get(job_id)
    if row is None:
        raise NotFound("No such job")
    return JobOut.model_validate(row)


async def list_jobs(
    tx: Tx, *, limit: int, cursor: str | None, status: JobStatus | None, job_type: JobType | None
) -> Page[JobOut]:
    """A page of the tenant's jobs, newest first."""
    rows = await Jobs(tx).page(
        limit=limit,
        before=decode_cursor(cursor) if cursor else None,
        status=status.value if status else None,
        job_type=job_type.value if job_type else None,
    )
    return Page[JobOut](
        items=[JobOut.model_validate(r) for r in rows[:limit]],
        next_cursor=next_cursor([(r.created_at, r.id) for r in rows], limit),
    )


async def _release(tx: Tx, row: JobRow) -> None:
    if row.quota_period is None:
        return
    searches, messages = _cost(row.type, row.input or {})
    await UsageCounters(tx).add(row.quota_period, searches=-searches, messages=-messages)


async def cancel(tx: Tx, actor: Actor, job_id: UUID) -> JobOut:
    """PENDING: cancelled at once, quota released. RUNNING: its agent (or the worker, at its
    next batch or lease extension) is asked to stop."""
    jobs = Jobs(tx)
    row = await jobs.get(job_id, for_update=True)
    if row is None:
        raise NotFound("No such job")
    status = row.status
    if status is JobStatus.PENDING:
        row = await jobs.cancel_pending(job_id)
        await _release(tx, row)
        tx.publish(
            JobUpdated(
                tenant_id=actor.tenant_id,
                job_id=job_id,
                status=JobStatus.CANCELLED,
                progress=row.progress,
            )
        )
    elif status is JobStatus.RUNNING:
        row = await jobs.request_cancel(job_id)
        if row.agent_id is not None:
            tx.publish(
                JobCancelRequested(tenant_id=actor.tenant_id, job_id=job_id, agent_id=row.agent_id)
            )
    else:
        raise JobNotCancellable(f"The job is already {status.value}")
    await audit.record(
        tx,
        "job.cancelled",
        actor=actor,
        entity_type="job",
        entity_id=job_id,
        details={"from": status.value},
    )
    return JobOut.model_validate(row)


async def evidence(tx: Tx, job_id: UUID) -> Page[EvidenceOut]:
    """Everything agents uploaded for a job (one page: evidence is bounded per job)."""
    if await Jobs(tx).get(job_id) is None:
        raise NotFound("No such job")
    rows = await Jobs(tx).evidence(job_id)
    return Page[EvidenceOut](items=[EvidenceOut.model_validate(r) for r in rows])
