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


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit row to write, but for its entity id (which a statement may only know as it
    runs: a lead inserted by the same statement, leads/repository.py `Leads.create`)."""

    user_id: UUID | None
    event_type: str
    action: str
    entity_type: str | None
    details: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None
    request_id: str | None

    def args(self) -> list[Any]:
        """The parameters `insert_sql` numbers, in its order."""
        return [
            self.user_id,
            self.event_type,
            self.action,
            self.entity_type,
            json.dumps(self.details) if self.details is not None else None,
            self.ip_address,
            self.user_agent,
            self.request_id,
        ]


def insert_sql(first: int, *, entity_id: str, source: str = "") -> str:
    """An INSERT of one audit row of the tenant `$1`: `AuditEntry.args()` as `$first`… (eight
    parameters), `entity_id` an SQL expression of text, `source` what it is selected from (a
    CTE of the same statement, say)."""
    p = [f"${first + i}" for i in range(8)]
    return (
        "INSERT INTO audit_logs (tenant_id, user_id, event_type, action, entity_type,"
        " entity_id, details, ip_address, user_agent, request_id, created_at)"
        # clock_timestamp(), not now(): events of one transaction keep their real order.
        f" SELECT $1, {p[0]}::uuid, {p[1]}::text, {p[2]}::text, {p[3]}::text, {entity_id},"
        f" {p[4]}::jsonb, {p[5]}::inet, {p[6]}::text, {p[7]}::text, clock_timestamp()"
        + (f" FROM {source}" if source else "")
    )


class AuditLogs(TenantRepository):
    async def insert(self, entry: AuditEntry, *, entity_id: str | None) -> None:
        await self.execute(insert_sql(3, entity_id="$2::text"), entity_id, *entry.args())

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
