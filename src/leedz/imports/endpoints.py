from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from leedz.access.context import CurrentActor, Require, TenantTx
from leedz.access.permissions import Permission
from leedz.imports import service as imports
from leedz.imports.schemas import RevertOut

router = APIRouter(prefix="/jobs", tags=["imports"])


@router.post("/{job_id}/revert", dependencies=[Require(Permission.LEADS_IMPORT)])
async def revert_import(job_id: UUID, tx: TenantTx, actor: CurrentActor) -> RevertOut:
    """Take back a completed import: the leads it created to the trash, the tags and list
    memberships it added removed. 409 `import_already_reverted` the second time."""
    return await imports.revert(tx, actor, job_id)
