from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from leedz.access.context import CurrentActor, Require, RequireVerifiedEmail, TenantTx
from leedz.access.permissions import Permission
from leedz.jobs import service as jobs
from leedz.jobs.models import JobStatus, JobType
from leedz.jobs.schemas import EvidenceOut, JobCreate, JobOut
from leedz.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Require(Permission.JOBS_CREATE), RequireVerifiedEmail()],
)
async def create_job(body: JobCreate, tx: TenantTx, actor: CurrentActor) -> JobOut:
    """A job for the tenant's agents; its input is validated for its type, its quota reserved."""
    return await jobs.create(tx, actor, body)


@router.get("", dependencies=[Require(Permission.JOBS_READ)])
async def list_jobs(
    tx: TenantTx,
    job_status: Annotated[JobStatus | None, Query(alias="status")] = None,
    job_type: Annotated[JobType | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[JobOut]:
    return await jobs.list_jobs(
        tx, limit=limit, cursor=cursor, status=job_status, job_type=job_type
    )


@router.get("/{job_id}", dependencies=[Require(Permission.JOBS_READ)])
async def get_job(job_id: UUID, tx: TenantTx) -> JobOut:
    return await jobs.get(tx, job_id)


@router.post("/{job_id}/cancel", dependencies=[Require(Permission.JOBS_CANCEL)])
async def cancel_job(job_id: UUID, tx: TenantTx, actor: CurrentActor) -> JobOut:
    """Cancel: a pending job at once; a running one is asked to stop through its agent."""
    return await jobs.cancel(tx, actor, job_id)


@router.get("/{job_id}/evidence", dependencies=[Require(Permission.JOBS_READ)])
async def list_job_evidence(job_id: UUID, tx: TenantTx) -> Page[EvidenceOut]:
    return await jobs.evidence(tx, job_id)
