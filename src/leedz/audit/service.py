"""The audit log: written in the same transaction as the change it records."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from leedz.access.context import Actor, RequestMeta
from leedz.audit.repository import AuditEntry, AuditLogs
from leedz.audit.schemas import AuditLogOut
from leedz.kit.db import Tx
from leedz.kit.pagination import Page, decode_cursor, next_cursor


def entry(
    event: str,
    *,
    actor: Actor | None = None,
    user_id: UUID | None = None,
    meta: RequestMeta | None = None,
    entity_type: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """The audit row of `event` (e.g. "lead.created"), for a repository that writes it within
    a statement of its own; `record` writes one on its own."""
    meta = meta or (actor.meta if actor else None)
    return AuditEntry(
        user_id=user_id or (actor.user_id if actor else None),
        event_type=event,
        action=event.rsplit(".", 1)[-1],
        entity_type=entity_type,
        details=details,
        ip_address=meta.ip if meta else None,
        user_agent=meta.user_agent if meta else None,
        request_id=meta.request_id if meta else None,
    )


async def record(
    tx: Tx,
    event: str,
    *,
    actor: Actor | None = None,
    user_id: UUID | None = None,
    meta: RequestMeta | None = None,
    entity_type: str | None = None,
    entity_id: UUID | str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append `event` (e.g. "invite.accepted") to the current tenant's audit log."""
    await AuditLogs(tx).insert(
        entry(
            event, actor=actor, user_id=user_id, meta=meta, entity_type=entity_type,
            details=details,
        ),
        entity_id=str(entity_id) if entity_id is not None else None,
    )  # fmt: skip


async def list_logs(
    tx: Tx,
    *,
    limit: int,
    cursor: str | None,
    event_type: str | None,
    entity_type: str | None,
    user_id: UUID | None,
    since: datetime | None,
    until: datetime | None,
) -> Page[AuditLogOut]:
    """A page of the tenant's audit log, newest first."""
    rows = await AuditLogs(tx).page(
        limit=limit,
        before=decode_cursor(cursor) if cursor else None,
        event_type=event_type,
        entity_type=entity_type,
        user_id=user_id,
        since=since,
        until=until,
    )
    return Page[AuditLogOut](
        items=[AuditLogOut.model_validate(r) for r in rows[:limit]],
        next_cursor=next_cursor([(r.created_at, r.id) for r in rows], limit),
    )
