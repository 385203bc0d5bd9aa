from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from leedz.kit.schemas import ApiModel


class AuditLogOut(ApiModel):
    id: UUID
    user_id: UUID | None
    event_type: str
    action: str
    entity_type: str | None
    entity_id: str | None
    details: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None
    request_id: str | None
    created_at: datetime
