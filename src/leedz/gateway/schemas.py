"""Socket event payloads: the REST twin's bodies, plus the job id that REST has in its path."""

from __future__ import annotations

from uuid import UUID

from leedz.evidence.schemas import EvidenceBatchIn
from leedz.leases.schemas import ClaimIn, CompleteIn, FailIn, HeartbeatIn, ProgressIn

SocketHeartbeatIn = HeartbeatIn
SocketClaimIn = ClaimIn


class SocketProgressIn(ProgressIn):
    job_id: UUID


class SocketEvidenceIn(EvidenceBatchIn):
    job_id: UUID


class SocketCompleteIn(CompleteIn):
    job_id: UUID


class SocketFailIn(FailIn):
    job_id: UUID
