"""SQL of lists and their members. Every statement is scoped to the tenant (`$1`).

Counts and member checks read `leads` through the request's transaction, so row-level security
already hides from a SALES member the leads they may not see; `visible_to` (a user id, or
None) says the same in the code (leads/repository.py has the rule).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self
from uuid import UUID

import asyncpg

from leedz.kit.repository import TenantRepository
from leedz.leads.models import ListKind

LIST_COLUMNS = "id, name, description, kind, filter, created_by_id, created_at, updated_at"

# A lead (aliased `l`) that shows on lists: neither in the trash nor folded into another lead,
# and visible to the user in the given parameter (None: to everyone).
_LIVE_VISIBLE = (
    " l.deleted_at IS NULL AND l.merged_into_id IS NULL"
    " AND (${p}::uuid IS NULL OR l.owner_id IS NULL OR l.owner_id = ${p}::uuid)"
)


def _live_visible(param: int) -> str:
    return _LIVE_VISIBLE.replace("{p}", str(param))


@dataclass(frozen=True, slots=True)
class ListRow:
    id: UUID
    name: str
    description: str | None
    kind: ListKind
    filter: dict[str, Any] | None
    created_by_id: UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**row, "kind": ListKind(row["kind"])})


class Lists(TenantRepository):
    async def insert(
        self,
        *,
        name: str,
        description: str | None,
        kind: ListKind,
        saved_filter: dict[str, Any] | None,
        created_by: UUID,
    ) -> ListRow:
        row = await self.fetchrow_one(
            "INSERT INTO lists (tenant_id, name, description, kind, filter, created_by_id)"
            f" VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING {LIST_COLUMNS}",
            name,
            description,
            kind.value,
            json.dumps(saved_filter, ensure_ascii=False) if saved_filter is not None else None,
            created_by,
        )
        return ListRow.of(row)

    async def get(self, list_id: UUID, *, for_update: bool = False) -> ListRow | None:
        row = await self.fetchrow(
            f"SELECT {LIST_COLUMNS} FROM lists WHERE tenant_id = $1 AND id = $2"
            + (" FOR UPDATE" if for_update else ""),
            list_id,
        )
        return ListRow.of(row) if row is not None else None

    async def page(
        self, *, limit: int, before: tuple[datetime, UUID] | None, kind: ListKind | None
    ) -> list[ListRow]:
        """Newest first; `before` is the (created_at, id) of the last row already seen."""
        rows = await self.fetch(
            f"SELECT {LIST_COLUMNS} FROM lists WHERE tenant_id = $1"
            " AND ($2::list_kind IS NULL OR kind = $2)"
            " AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))"
            " ORDER BY created_at DESC, id DESC LIMIT $5",
            kind.value if kind else None,
            before[0] if before else None,
            before[1] if before else None,
            limit + 1,
        )
        return [ListRow.of(row) for row in rows]

    async def update(
        self,
        list_id: UUID,
        *,
        name: str,
        description: str | None,
        saved_filter: dict[str, Any] | None,
    ) -> ListRow:
        row = await self.fetchrow_one(
            "UPDATE lists SET name = $3, description = $4, filter = $5::jsonb, updated_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {LIST_COLUMNS}",
            list_id,
            name,
            description,
            json.dumps(saved_filter, ensure_ascii=False) if saved_filter is not None else None,
        )
        return ListRow.of(row)

    async def touch(self, list_id: UUID) -> None:
        """Its members changed: `updated_at` is now."""
        await self.execute(
            "UPDATE lists SET updated_at = now() WHERE tenant_id = $1 AND id = $2", list_id
        )

    async def delete(self, list_id: UUID) -> None:
        """The list; its members go with it (the leads stay)."""
        await self.execute("DELETE FROM lists WHERE tenant_id = $1 AND id = $2", list_id)


class Members(TenantRepository):
    """The leads of STATIC lists (`list_members`)."""

    async def counts(self, list_ids: Sequence[UUID], *, visible_to: UUID | None) -> dict[UUID, int]:
        """Live leads on each list that `visible_to` may see; a list without any is absent."""
        if not list_ids:
            return {}
        rows = await self.fetch(
            "SELECT m.list_id, count(*) AS n FROM list_members m"
            " JOIN leads l ON l.tenant_id = m.tenant_id AND l.id = m.lead_id"
            " WHERE m.tenant_id = $1 AND m.list_id = ANY($2::uuid[]) AND"
            + _live_visible(3)
            + " GROUP BY m.list_id",
            list(list_ids),
            visible_to,
        )
        return {r["list_id"]: int(r["n"]) for r in rows}

    async def live_leads(self, lead_ids: Sequence[UUID], *, visible_to: UUID | None) -> set[UUID]:
        """Those of `lead_ids` that are live leads of the tenant `visible_to` may see."""
        rows = await self.fetch(
            "SELECT l.id FROM leads l WHERE l.tenant_id = $1 AND l.id = ANY($2::uuid[]) AND"
            + _live_visible(3),
            list(lead_ids),
            visible_to,
        )
        return {r["id"] for r in rows}

    async def add(self, list_id: UUID, lead_ids: Sequence[UUID], *, added_by: UUID) -> list[UUID]:
        """Put the leads on the list; returns those newly put (the others already were)."""
        rows = await self.fetch(
            "INSERT INTO list_members (tenant_id, list_id, lead_id, added_by_id)"
            " SELECT $1, $2, unnest($3::uuid[]), $4"
            " ON CONFLICT (list_id, lead_id) DO NOTHING RETURNING lead_id",
            list_id,
            list(lead_ids),
            added_by,
        )
        return [r["lead_id"] for r in rows]

    async def remove(self, list_id: UUID, lead_ids: Sequence[UUID]) -> list[UUID]:
        """Take the leads off the list; returns those that were on it."""
        rows = await self.fetch(
            "DELETE FROM list_members WHERE tenant_id = $1 AND list_id = $2"
            " AND lead_id = ANY($3::uuid[]) RETURNING lead_id",
            list_id,
            list(lead_ids),
        )
        return [r["lead_id"] for r in rows]

    async def all_of(self, list_id: UUID) -> list[UUID]:
        """Every lead on the list, live or not (a list's deletion tells each timeline)."""
        rows = await self.fetch(
            "SELECT lead_id FROM list_members WHERE tenant_id = $1 AND list_id = $2"
            " ORDER BY lead_id",
            list_id,
        )
        return [r["lead_id"] for r in rows]
