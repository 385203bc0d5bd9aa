"""SQL of bulk actions: one statement per batch over the leads of a search's spec.

Each batch takes the next leads of the selection in id order after the last one done (a keyset),
locks them, changes those that need it, and writes their timeline entries, all in one statement:
the cost per lead is the row update and the timeline insert, never a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from leedz.kit.repository import TenantRepository
from leedz.leads.models import ActivityType, LeadStatus
from leedz.leads.repository import LeadQuerySpec, where_sql


@dataclass(frozen=True, slots=True)
class BatchDone:
    """What one batch did: how many leads of the selection it took (`matched`), the last one's
    id (the keyset's next start; None when it took none), and the leads it changed, with their
    owners (None: unassigned), in id order."""

    matched: int
    last_id: UUID | None
    changed_ids: list[UUID]
    changed_owners: list[UUID | None]


class _Numbered:
    """Parameters after the spec's own: `$n` numbers continue where `where_sql` stopped."""

    def __init__(self, values: list[Any]) -> None:
        self.values = list(values)

    def __call__(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values) + 1}::{cast}"


def _picked(
    spec: LeadQuerySpec, after: UUID | None, limit: int, columns: str
) -> tuple[str, _Numbered]:
    """The next `limit` leads of the selection after `after`, in id order (a walk of the
    (tenant_id, id) index), locked until the batch commits; the parameters so far. Locks are
    taken in id order, so two bulk jobs over the same leads wait for each other, never
    deadlock."""
    where, values = where_sql(spec)
    p = _Numbered(values)
    keyset = f" AND id > {p(after, 'uuid')}" if after is not None else ""
    return (
        f"SELECT {columns} FROM leads WHERE {where}{keyset}"
        f" ORDER BY id LIMIT {p(limit, 'int4')} FOR UPDATE OF leads"
    ), p


# The batch's answer: one row whether it changed anything or not.
_RESULT = (
    " SELECT (SELECT count(*) FROM picked) AS matched,"
    " (SELECT id FROM picked ORDER BY id DESC LIMIT 1) AS last_id,"
    " ARRAY(SELECT id FROM changed ORDER BY id) AS changed_ids,"
    " ARRAY(SELECT owner_id FROM changed ORDER BY id) AS changed_owners"
)


class BulkLeads(TenantRepository):
    async def count(self, spec: LeadQuerySpec) -> int:
        """How many leads the selection holds now (the job's progress is measured against it)."""
        where, args = where_sql(spec)
        return int(await self.fetchval(f"SELECT count(*) FROM leads WHERE {where}", *args))

    async def set_status(
        self,
        spec: LeadQuerySpec,
        *,
        after: UUID | None,
        limit: int,
        status: LeadStatus,
        actor_user_id: UUID,
        job_id: UUID,
    ) -> BatchDone:
        """The next batch of the selection to `status`: those not at it already get it, a new
        version, `status` among the fields a person set (as a PATCH does) and a STATUS_CHANGED
        entry `{from, to, jobId}` by the actor."""
        picked, p = _picked(spec, after, limit, "id, status")
        new = p(status.value, "lead_status")
        user, job = p(actor_user_id, "uuid"), p(str(job_id), "text")
        sql = (
            f"WITH picked AS MATERIALIZED ({picked}),"
            " changed AS (UPDATE leads l SET"
            f" status = {new}, version = l.version + 1,"
            " updated_at = now(), last_activity_at = now(),"
            " edited_fields = CASE WHEN 'status' = ANY (l.edited_fields) THEN l.edited_fields"
            " ELSE ARRAY(SELECT f FROM unnest(l.edited_fields || 'status'::text) AS f"
            ' ORDER BY f COLLATE "C") END'
            f" FROM picked WHERE l.tenant_id = $1 AND l.id = picked.id AND picked.status <> {new}"
            " RETURNING l.id, l.owner_id, picked.status AS previous),"
            " logged AS (INSERT INTO lead_activities"
            " (tenant_id, lead_id, type, actor_user_id, details)"
            f" SELECT $1, id, '{ActivityType.STATUS_CHANGED.value}', {user},"
            f" jsonb_build_object('from', previous, 'to', {new}, 'jobId', {job})"
            " FROM changed)" + _RESULT
        )
        return _done(await self.fetchrow_one(sql, *p.values))

    async def trash(
        self, spec: LeadQuerySpec, *, after: UUID | None, limit: int, actor_user_id: UUID,
        job_id: UUID,
    ) -> BatchDone:  # fmt: skip
        """The next batch of the selection to the trash, as DELETE /v1/leads/{id} sends one
        (restorable until purged): `deleted_at`, a new version, a DELETED entry `{jobId}` by
        the actor."""
        picked, p = _picked(spec, after, limit, "id")
        user, job = p(actor_user_id, "uuid"), p(str(job_id), "text")
        sql = (
            f"WITH picked AS MATERIALIZED ({picked}),"
            " changed AS (UPDATE leads l SET deleted_at = now(), version = l.version + 1,"
            " updated_at = now(), last_activity_at = now()"
            " FROM picked WHERE l.tenant_id = $1 AND l.id = picked.id"
            " RETURNING l.id, l.owner_id),"
            " logged AS (INSERT INTO lead_activities"
            " (tenant_id, lead_id, type, actor_user_id, details)"
            f" SELECT $1, id, '{ActivityType.DELETED.value}', {user},"
            f" jsonb_build_object('jobId', {job}) FROM changed)" + _RESULT
        )
        return _done(await self.fetchrow_one(sql, *p.values))


def _done(row: Any) -> BatchDone:
    return BatchDone(
        matched=int(row["matched"]),
        last_id=row["last_id"],
        changed_ids=list(row["changed_ids"]),
        changed_owners=list(row["changed_owners"]),
    )
