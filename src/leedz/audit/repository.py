from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from leedz.kit.repository import TenantRepository


@dataclass(frozen=True, slots=True)
class AuditLogRow:
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


class AuditLogs(TenantRepository):
    async def insert(
        self,
        *,
        user_id: UUID | None,
        event_type: str,
        action: str,
        entity_type: str | None,
        entity_id: str | None,
        details: dict[str, Any] | None,
        ip_address: str | None,
        user_agent: str | None,
        request_id: str | None,
    ) -> None:
        await self.execute(
            "INSERT INTO audit_logs (tenant_id, user_id, event_type, action, entity_type,"
            " entity_id, details, ip_address, user_agent, request_id, created_at)"
            # clock_timestamp(), not now(): events of one transaction keep their real order.
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, clock_timestamp())",
            user_id,
            event_type,
            action,
            entity_type,
            entity_id,
            json.dumps(details) if details is not None else None,
            ip_address,
            user_agent,
            request_id,
        )

    async def page(
        self,
        *,
        limit: int,
        before: tuple[datetime, UUID] | None,
        event_type: str | None,
        entity_type: str | None,
        user_id: UUID | None,
        since: datetime | None,
        until: datetime | None,
    ) -> list[AuditLogRow]:
        """Newest first; `before` is the (created_at, id) of the last row already seen."""
        rows = await self.fetch(
            "SELECT id, user_id, event_type, action, entity_type, entity_id, details,"
            " host(ip_address) AS ip_address, user_agent, request_id, created_at FROM audit_logs"
            " WHERE tenant_id = $1"
            " AND ($2::text IS NULL OR event_type = $2)"
            " AND ($3::text IS NULL OR entity_type = $3)"
            " AND ($4::uuid IS NULL OR user_id = $4)"
            " AND ($5::timestamptz IS NULL OR created_at >= $5)"
            " AND ($6::timestamptz IS NULL OR created_at < $6)"
            " AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8::uuid))"
            " ORDER BY created_at DESC, id DESC LIMIT $9",
            event_type,
            entity_type,
            user_id,
            since,
            until,
            before[0] if before else None,
            before[1] if before else None,
            limit + 1,
        )
        return [AuditLogRow(**row) for row in rows]
