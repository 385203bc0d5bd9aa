from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from leedz.access.context import Require, TenantTx
from leedz.access.permissions import Permission
from leedz.audit import service as audit
from leedz.audit.schemas import AuditLogOut
from leedz.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

router = APIRouter(prefix="/audit-logs", tags=["audit"])


@router.get("", dependencies=[Require(Permission.AUDIT_READ)])
async def list_audit_logs(
    tx: TenantTx,
    event_type: Annotated[str | None, Query(alias="eventType", max_length=100)] = None,
    entity_type: Annotated[str | None, Query(alias="entityType", max_length=50)] = None,
    user_id: Annotated[UUID | None, Query(alias="userId")] = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AuditLogOut]:
    """The tenant's audit log, newest first, filtered and paginated (OWNER and ADMIN)."""
    return await audit.list_logs(
        tx,
        limit=limit,
        cursor=cursor,
        event_type=event_type,
        entity_type=entity_type,
        user_id=user_id,
        since=since,
        until=until,
    )
