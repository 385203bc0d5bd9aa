"""Bulk actions on leads: BULK_STATUS_UPDATE and BULK_DELETE, run by the worker (docs/bulk.md).

A job does only what its creator could do by hand: it runs as them (each batch a transaction
under row-level security, the SALES rule included) and narrows to what they may see in its
own SQL too (the lead search's `visible_to`); a status update needs `leads:write`, a delete
`leads:delete`, with the creator's role as it is when the job runs.

The selection (a filter, a list, ids; all that are given apply; none: every live lead the
creator sees) is the lead search's, evaluated again by each batch. Batches walk it in id order
from the last lead done (a keyset): each takes the next `batch_size` leads that match *then*,
changes them in one statement, and commits that with the checkpoint (the last id and the
counts). A lead is taken by at most one batch, since the keyset only moves forward, whether or
not the job's own change makes it stop matching the filter; a crash loses at most the batch
in flight, which the next run does again from the checkpoint. `matched` counts the leads the
batches took, `changed` those they changed (a lead already at the status is matched, not
changed).

Each changed lead gets a new version, `updated_at`, and a timeline entry by the creator naming
the job; a delete sends it to the trash as DELETE /v1/leads/{id} does (restorable). Sockets
hear one `LeadsChangedInBulk` per batch. The job's one audit row is written by its last batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError

from leedz.access.context import Actor
from leedz.access.permissions import Permission
from leedz.audit import service as audit
from leedz.bulk.events import LeadsChangedInBulk
from leedz.bulk.repository import BatchDone, BulkLeads
from leedz.errors import Forbidden, ValidationFailed
from leedz.jobs.schemas import BulkDeleteInput, BulkStatusInput, LeadSelection
from leedz.jobs.work import Cancelled, WorkUnit
from leedz.kit.db import Tx
from leedz.leads import search
from leedz.leads.events import LeadChange
from leedz.leads.models import LeadStatus
from leedz.leads.repository import LeadConditions, LeadQuerySpec
from leedz.leads.schemas import LeadFilter


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a bulk job got, stored with each batch's commit: the last lead done (the
    keyset), the counts so far, the selection's size when the job began (`total`: progress is
    measured against it), and whether the job has ended (its audit row written)."""

    after: UUID | None = None
    matched: int = 0
    changed: int = 0
    total: int | None = None
    done: bool = False
    cancelled: bool = False

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> Checkpoint:
        if not raw:
            return cls()
        after = raw.get("after")
        total = raw.get("total")
        return cls(
            after=UUID(after) if after else None,
            matched=int(raw.get("matched", 0)),
            changed=int(raw.get("changed", 0)),
            total=int(total) if total is not None else None,
            done=bool(raw.get("done", False)),
            cancelled=bool(raw.get("cancelled", False)),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "after": str(self.after) if self.after else None,
            "matched": self.matched,
            "changed": self.changed,
            "total": self.total,
            "done": self.done,
            "cancelled": self.cancelled,
        }

    @property
    def progress(self) -> int:
        """0-100; 100 only once done (a selection that grew meanwhile stays at 99)."""
        if self.done and not self.cancelled:
            return 100
        if not self.total:
            return 0
        return min(99, self.matched * 100 // self.total)

    def output(self) -> dict[str, Any]:
        """The job's output: `{matched, changed}`; a cancelled job's says how far it got
        against the selection's size when it began (`total`)."""
        out: dict[str, Any] = {"matched": self.matched, "changed": self.changed}
        if self.cancelled:
            out["total"] = self.total or 0
        return out


Input = TypeVar("Input", bound=BaseModel)
Apply = Callable[[Tx, LeadQuerySpec, UUID | None], Awaitable[BatchDone]]


@dataclass(frozen=True, slots=True)
class _Action:
    permission: Permission
    audit_event: str
    change: LeadChange
    selection: LeadSelection
    apply: Apply
    status: LeadStatus | None = None


def _input(schema: type[Input], unit: WorkUnit) -> Input:
    """The job's stored input, validated again (it was at creation)."""
    try:
        return schema.model_validate(unit.job.input)
    except ValidationError as exc:
        raise ValidationFailed(
            f"The input is not valid for a {unit.job.type.value} job",
            errors=[{"loc": ["input", *e["loc"]], "msg": e["msg"]} for e in exc.errors()],
        ) from exc


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.can(permission):
        raise Forbidden(
            f"Your role ({actor.role.value}) lacks the permission {permission.value}",
            permission=permission.value,
        )


async def _spec(
    tx: Tx, actor: Actor, selection: LeadSelection, *, created_before: datetime
) -> LeadQuerySpec:
    """The selection as the lead search reads it for `actor`: the filter (GET /v1/leads's),
    AND the list (a STATIC list's members, a DYNAMIC list's saved filter; 404 when there is no
    such list), AND the ids (another tenant's or an unknown id matches nothing), AND created
    before the job (`created_before`): the leads there were when someone asked, never the
    ones an import or an agent adds while the job runs (docs/bulk.md)."""
    query = selection.filter or LeadFilter()
    if query.deleted:
        raise ValidationFailed(
            "A bulk action changes live leads: restore leads from the trash first",
            field="filter.deleted",
        )
    spec = await search.query_spec(tx, actor, query)
    if selection.list_id is not None:
        listed = await search.query_spec(tx, actor, LeadFilter(list_id=selection.list_id))
        spec = replace(spec, conditions=spec.conditions + listed.conditions)
    if selection.lead_ids is not None:
        spec = replace(spec, among=tuple(dict.fromkeys(selection.lead_ids)))
    return replace(spec, conditions=(*spec.conditions, LeadConditions(created_to=created_before)))


def _event(unit: WorkUnit, action: _Action, batch: BatchDone) -> LeadsChangedInBulk:
    by_owner: dict[UUID | None, list[UUID]] = {}
    for lead_id, owner_id in zip(batch.changed_ids, batch.changed_owners, strict=True):
        by_owner.setdefault(owner_id, []).append(lead_id)
    return LeadsChangedInBulk(
        tenant_id=unit.job.tenant_id,
        job_id=unit.job.id,
        change=action.change,
        by_owner={owner: tuple(ids) for owner, ids in by_owner.items()},
        status=action.status,
    )


async def _record(tx: Tx, unit: WorkUnit, action: _Action, state: Checkpoint) -> None:
    details: dict[str, Any] = {
        "matched": state.matched,
        "changed": state.changed,
        "cancelled": state.cancelled,
    }
    if action.status is not None:
        details["status"] = action.status.value
    await audit.record(
        tx, action.audit_event, actor=unit.actor, entity_type="job", entity_id=unit.job.id,
        details=details,
    )  # fmt: skip


async def _run(unit: WorkUnit, action: _Action, *, batch_size: int) -> dict[str, Any] | Cancelled:
    _require(unit.actor, action.permission)
    state = Checkpoint.of(unit.checkpoint)
    while not state.done:
        if unit.cancel_requested:
            # What was done stays done; one more transaction writes the audit row.
            async with unit.batch() as tx:
                state = replace(state, done=True, cancelled=True)
                await _record(tx, unit, action, state)
                unit.save(tx, checkpoint=state.as_json(), progress=state.progress)
            break
        async with unit.batch() as tx:
            spec = await _spec(tx, unit.actor, action.selection, created_before=unit.job.created_at)
            total = state.total
            if total is None:
                total = await BulkLeads(tx).count(spec)
            batch = await action.apply(tx, spec, state.after)
            state = Checkpoint(
                after=batch.last_id or state.after,
                matched=state.matched + batch.matched,
                changed=state.changed + len(batch.changed_ids),
                total=total,
                # Fewer than a batch: the selection has no more leads after this one.
                done=batch.matched < batch_size,
            )
            if state.done:
                await _record(tx, unit, action, state)
            if batch.changed_ids:
                tx.publish(_event(unit, action, batch))
            unit.save(tx, checkpoint=state.as_json(), progress=state.progress)
    return Cancelled(state.output()) if state.cancelled else state.output()


async def update_status(unit: WorkUnit, *, batch_size: int) -> dict[str, Any] | Cancelled:
    """Run a BULK_STATUS_UPDATE job: every selected lead to `status`, `batch_size` leads a
    transaction; `{matched, changed}`."""
    body = _input(BulkStatusInput, unit)
    actor, job = unit.actor, unit.job

    async def apply(tx: Tx, spec: LeadQuerySpec, after: UUID | None) -> BatchDone:
        return await BulkLeads(tx).set_status(
            spec, after=after, limit=batch_size, status=body.status,
            actor_user_id=actor.user_id, job_id=job.id,
        )  # fmt: skip

    action = _Action(
        permission=Permission.LEADS_WRITE,
        audit_event="lead.bulk_status_changed",
        change=LeadChange.UPDATED,
        selection=body,
        apply=apply,
        status=body.status,
    )
    return await _run(unit, action, batch_size=batch_size)


async def delete(unit: WorkUnit, *, batch_size: int) -> dict[str, Any] | Cancelled:
    """Run a BULK_DELETE job: every selected lead to the trash (restorable until purged),
    `batch_size` leads a transaction; `{matched, changed}`."""
    body = _input(BulkDeleteInput, unit)
    actor, job = unit.actor, unit.job

    async def apply(tx: Tx, spec: LeadQuerySpec, after: UUID | None) -> BatchDone:
        return await BulkLeads(tx).trash(
            spec, after=after, limit=batch_size, actor_user_id=actor.user_id, job_id=job.id
        )

    action = _Action(
        permission=Permission.LEADS_DELETE,
        audit_event="lead.bulk_deleted",
        change=LeadChange.DELETED,
        selection=body,
        apply=apply,
    )
    return await _run(unit, action, batch_size=batch_size)
