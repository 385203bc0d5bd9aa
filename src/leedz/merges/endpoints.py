from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from leedz.access.context import CurrentActor, Require, TenantTx
from leedz.access.permissions import Permission
from leedz.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from leedz.merges import service as merges
from leedz.merges.schemas import DuplicatesOut, LeadEvidenceOut, MergeIn, MergeOut, UndoOut

router = APIRouter(tags=["leads"])


@router.post("/leads/{lead_id}/merge", dependencies=[Require(Permission.LEADS_MERGE)])
async def merge_leads(
    lead_id: UUID, body: MergeIn, tx: TenantTx, actor: CurrentActor, response: Response
) -> MergeOut:
    """Fold `leadIds` into this lead: its fields win, its empty ones are filled, phones, emails,
    tags and ids are joined; their keys, lists, timeline and evidence move to it. The merged
    leads disappear (404) until the merge is undone with `mergeId`."""
    merged = await merges.merge(tx, actor, lead_id, body)
    response.headers["ETag"] = f'"{merged.lead.version}"'
    return merged


@router.post("/lead-merges/{merge_id}/undo", dependencies=[Require(Permission.LEADS_MERGE)])
async def undo_lead_merge(merge_id: UUID, tx: TenantTx, actor: CurrentActor) -> UndoOut:
    """The merged leads back as they were; the survivor loses what the merge brought, and
    keeps what people changed on it since."""
    return await merges.undo(tx, actor, merge_id)


@router.get("/leads/{lead_id}/duplicates", dependencies=[Require(Permission.LEADS_READ)])
async def list_lead_duplicates(lead_id: UUID, tx: TenantTx, actor: CurrentActor) -> DuplicatesOut:
    """Leads that may be the same business, scored 0..1 with their reasons, best first (20)."""
    return await merges.duplicates(tx, actor, lead_id)


@router.get("/leads/{lead_id}/evidence", dependencies=[Require(Permission.LEADS_READ)])
async def list_lead_evidence(
    lead_id: UUID,
    tx: TenantTx,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[LeadEvidenceOut]:
    """Provenance: the evidence items that fed the lead and the fields each supplied, newest
    first."""
    return await merges.evidence(tx, actor, lead_id, limit=limit, cursor=cursor)
