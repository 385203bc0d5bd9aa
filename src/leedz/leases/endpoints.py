"""`/v1/agent/*`: the REST twin of the agent socket protocol, for agents that cannot hold a
socket. Authenticated with the agent token, not a user's."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, status

from leedz.agents.context import AgentCall, ClaimingAgentCall, HeartbeatAgentCall
from leedz.evidence.schemas import EvidenceBatchIn, EvidenceUploadOut
from leedz.jobs.schemas import JobOut
from leedz.kit.deps import settings_of
from leedz.leases import service as leases
from leedz.leases.schemas import (
    ClaimIn,
    ClaimOut,
    CompleteIn,
    FailIn,
    HeartbeatIn,
    HeartbeatOut,
    ProgressIn,
    ProgressOut,
)

router = APIRouter(prefix="/agent", tags=["agent-protocol"])


async def _lease_seconds(request: Request) -> int:
    return settings_of(request).lease_seconds


LeaseSeconds = Annotated[int, Depends(_lease_seconds)]


@router.post("/heartbeat")
async def agent_heartbeat(
    call: HeartbeatAgentCall, lease_seconds: LeaseSeconds, body: HeartbeatIn | None = None
) -> HeartbeatOut:
    """The agent is alive; its leases are extended (those it lists, or all it holds)."""
    return await leases.heartbeat(
        call.tx, call.agent, body or HeartbeatIn(), lease_seconds=lease_seconds
    )


@router.post(
    "/jobs/claim",
    response_model=ClaimOut,
    responses={204: {"description": "No job to claim now"}},
)
async def claim_job(
    call: ClaimingAgentCall, lease_seconds: LeaseSeconds, body: ClaimIn | None = None
) -> ClaimOut | Response:
    """The next job this agent may run, under a new lease; 204 when there is none."""
    claimed = await leases.claim(
        call.tx, call.agent, body or ClaimIn(), lease_seconds=lease_seconds
    )
    return claimed if claimed is not None else Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/jobs/{job_id}/progress")
async def report_job_progress(
    job_id: UUID, body: ProgressIn, call: AgentCall, lease_seconds: LeaseSeconds
) -> ProgressOut:
    return await leases.progress(call.tx, call.agent, job_id, body, lease_seconds=lease_seconds)


@router.post("/jobs/{job_id}/evidence")
async def upload_job_evidence(
    job_id: UUID, body: EvidenceBatchIn, call: AgentCall, request: Request
) -> EvidenceUploadOut:
    """Evidence for a held job; a batch uploaded again stores nothing new."""
    return await leases.upload_evidence(
        call.tx,
        call.agent,
        job_id,
        lease_id=body.lease_id,
        items=body.items,
        resolve=settings_of(request).resolution == "on",
    )


@router.post("/jobs/{job_id}/complete")
async def complete_job(job_id: UUID, body: CompleteIn, call: AgentCall) -> JobOut:
    return await leases.complete(call.tx, call.agent, job_id, body)


@router.post("/jobs/{job_id}/fail")
async def fail_job(job_id: UUID, body: FailIn, call: AgentCall) -> JobOut:
    return await leases.fail(call.tx, call.agent, job_id, body)
