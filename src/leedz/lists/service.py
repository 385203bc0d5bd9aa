"""Lists of leads: STATIC ones hold the leads put on them, DYNAMIC ones save a lead filter and
hold whatever it matches when read.

Anyone who may read leads reads every list of the tenant; what a list holds, and its
`leadCount`, are the live leads the reader may see (a SALES member under `salesSeeAllLeads`
off: their own and unassigned ones). A lead in the trash (or merged into another) drops out
of every list and count; its membership stays, so it is back on restore (or undo).

`lists:manage` changes any list; `lists:manage_own` only the lists its holder created.
Putting leads on a list and taking them off writes LISTED / UNLISTED on each lead's timeline
(one statement for the whole batch) and one audit row for the call when it changed anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from leedz.access.context import Actor
from leedz.access.permissions import Permission
from leedz.audit import service as audit
from leedz.errors import Conflict, Forbidden, NotFound, ValidationFailed
from leedz.kit.db import Tx
from leedz.kit.pagination import Page, decode_cursor, next_cursor
from leedz.leads import search as lead_search
from leedz.leads import service as leads
from leedz.leads.models import ActivityType, ListKind
from leedz.leads.repository import Activities
from leedz.leads.schemas import LeadFilter, LeadOut
from leedz.lists.repository import ListRow, Lists, Members
from leedz.lists.schemas import (
    ListCreate,
    ListFilter,
    ListLeadIds,
    ListLeadsAdded,
    ListLeadsQuery,
    ListLeadsRemoved,
    ListOut,
    ListUpdate,
)


class ListNotStatic(Conflict):
    code, title = "list_not_static", "Not a STATIC list"


class ListFilterRequired(ValidationFailed):
    code, title = "list_filter_required", "A DYNAMIC list needs a filter"


class ListFilterNotAllowed(ValidationFailed):
    code, title = "list_filter_not_allowed", "A STATIC list has no filter"


class UnknownLeads(ValidationFailed):
    code, title = "unknown_leads", "No such leads"


# ---------------------------------------------------------------------------------------------
# Shapes and counts


def _lead_filter(row: ListRow) -> LeadFilter:
    """A DYNAMIC list's saved filter as the lead search reads it."""
    return LeadFilter.model_validate(row.filter or {})


def list_out(row: ListRow, lead_count: int) -> ListOut:
    return ListOut(
        id=row.id,
        name=row.name,
        description=row.description,
        kind=row.kind,
        filter=ListFilter.model_validate(row.filter) if row.filter is not None else None,
        lead_count=lead_count,
        created_by=row.created_by_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _counts(tx: Tx, actor: Actor, rows: Sequence[ListRow]) -> dict[UUID, int]:
    """Each list's `leadCount` as `actor` sees it: one statement for the STATIC lists, a lead
    count per DYNAMIC one."""
    static = [row.id for row in rows if row.kind is ListKind.STATIC]
    counts = await Members(tx).counts(static, visible_to=await leads.visible_to(tx, actor))
    for row in rows:
        if row.kind is ListKind.DYNAMIC:
            counts[row.id] = await lead_search.count(tx, actor, _lead_filter(row))
    return counts


async def _out(tx: Tx, actor: Actor, row: ListRow) -> ListOut:
    return list_out(row, (await _counts(tx, actor, [row])).get(row.id, 0))


def _saved_filter(kind: ListKind, value: ListFilter | None) -> dict[str, Any] | None:
    """The filter as stored (its wire form, camelCase, unset keys left out), checked against
    the list's kind and by the lead search's own query model."""
    if kind is ListKind.STATIC:
        if value is not None:
            raise ListFilterNotAllowed(
                "A STATIC list holds the leads put on it: it takes no filter", field="filter"
            )
        return None
    if value is None:
        raise ListFilterRequired("A DYNAMIC list needs a filter (`{}`: every lead)", field="filter")
    saved = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    try:
        LeadFilter.model_validate(saved)
    except ValidationError as exc:
        raise ValidationFailed(
            "The filter is not a valid lead query",
            errors=[
                {"loc": ["body", "filter", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ],
        ) from exc
    return saved


# ---------------------------------------------------------------------------------------------
# Access


async def _readable(tx: Tx, list_id: UUID) -> ListRow:
    row = await Lists(tx).get(list_id)
    if row is None:
        raise NotFound("No such list")
    return row


async def _managed(tx: Tx, actor: Actor, list_id: UUID) -> ListRow:
    """The list, locked for the change, if `actor` may change it: any list with `lists:manage`,
    the lists they created with `lists:manage_own` (the route requires that one)."""
    row = await Lists(tx).get(list_id, for_update=True)
    if row is None:
        raise NotFound("No such list")
    if not actor.can(Permission.LISTS_MANAGE) and row.created_by_id != actor.user_id:
        raise Forbidden(
            f"Your role ({actor.role.value}) lacks the permission {Permission.LISTS_MANAGE.value}:"
            " you may only change the lists you created",
            permission=Permission.LISTS_MANAGE.value,
        )
    return row


# ---------------------------------------------------------------------------------------------
# The lists


async def create(tx: Tx, actor: Actor, body: ListCreate) -> ListOut:
    saved = _saved_filter(body.kind, body.filter)
    row = await Lists(tx).insert(
        name=body.name,
        description=body.description,
        kind=body.kind,
        saved_filter=saved,
        created_by=actor.user_id,
    )
    await audit.record(
        tx, "list.created", actor=actor, entity_type="list", entity_id=row.id,
        details={"name": row.name, "kind": row.kind.value},
    )  # fmt: skip
    return await _out(tx, actor, row)


async def get(tx: Tx, actor: Actor, list_id: UUID) -> ListOut:
    return await _out(tx, actor, await _readable(tx, list_id))


async def list_lists(
    tx: Tx, actor: Actor, *, limit: int, cursor: str | None, kind: ListKind | None
) -> Page[ListOut]:
    """A page of the tenant's lists, newest first, each with its `leadCount`."""
    rows = await Lists(tx).page(
        limit=limit, before=decode_cursor(cursor) if cursor else None, kind=kind
    )
    shown = rows[:limit]
    counts = await _counts(tx, actor, shown)
    return Page[ListOut](
        items=[list_out(row, counts.get(row.id, 0)) for row in shown],
        next_cursor=next_cursor([(r.created_at, r.id) for r in rows], limit),
    )


async def update(tx: Tx, actor: Actor, list_id: UUID, body: ListUpdate) -> ListOut:
    """Change the fields present; a STATIC list takes no filter (422)."""
    row = await _managed(tx, actor, list_id)
    present = body.model_fields_set
    if "filter" in present and row.kind is ListKind.STATIC:
        raise ListFilterNotAllowed(
            "A STATIC list holds the leads put on it: it takes no filter", field="filter"
        )
    name = body.name if "name" in present else row.name
    description = body.description if "description" in present else row.description
    saved = _saved_filter(row.kind, body.filter) if "filter" in present else row.filter
    changed = [
        field
        for field, before, after in (
            ("name", row.name, name),
            ("description", row.description, description),
            ("filter", row.filter, saved),
        )
        if before != after
    ]
    if not changed:
        return await _out(tx, actor, row)
    updated = await Lists(tx).update(row.id, name=name, description=description, saved_filter=saved)
    await audit.record(
        tx, "list.updated", actor=actor, entity_type="list", entity_id=row.id,
        details={"fields": changed},
    )  # fmt: skip
    return await _out(tx, actor, updated)


async def delete(tx: Tx, actor: Actor, list_id: UUID) -> None:
    """The list and its memberships; the leads stay, each timeline told (UNLISTED)."""
    row = await _managed(tx, actor, list_id)
    members = await Members(tx).all_of(row.id)
    await Activities(tx).add_many(
        members,
        ActivityType.UNLISTED,
        actor_user_id=actor.user_id,
        details={"listId": str(row.id), "listName": row.name, "reason": "list_deleted"},
    )
    await Lists(tx).delete(row.id)
    await audit.record(
        tx, "list.deleted", actor=actor, entity_type="list", entity_id=row.id,
        details={"name": row.name, "kind": row.kind.value, "members": len(members)},
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Members of a STATIC list


async def _static_for_members(tx: Tx, actor: Actor, list_id: UUID, lead_ids: list[UUID]) -> ListRow:
    """The STATIC list `actor` may change, after checking that every one of `lead_ids` is a
    live lead they may see (else 422 `unknown_leads` naming the others, nothing changed)."""
    row = await _managed(tx, actor, list_id)
    if row.kind is not ListKind.STATIC:
        raise ListNotStatic(
            "The leads of a DYNAMIC list are those its filter matches: change its filter instead"
        )
    found = await Members(tx).live_leads(lead_ids, visible_to=await leads.visible_to(tx, actor))
    missing = [str(lead_id) for lead_id in lead_ids if lead_id not in found]
    if missing:
        raise UnknownLeads(
            f"{len(missing)} of the leads do not exist, are in the trash or are not yours to see;"
            " nothing was changed",
            leadIds=missing,
        )
    return row


async def _static_count(tx: Tx, actor: Actor, row: ListRow) -> int:
    counts = await Members(tx).counts([row.id], visible_to=await leads.visible_to(tx, actor))
    return counts.get(row.id, 0)


async def add_leads(tx: Tx, actor: Actor, list_id: UUID, body: ListLeadIds) -> ListLeadsAdded:
    """Put leads on a STATIC list, all or none; those already on it are left as they are."""
    row = await _static_for_members(tx, actor, list_id, body.lead_ids)
    added = await Members(tx).add(row.id, body.lead_ids, added_by=actor.user_id)
    if added:
        await Activities(tx).add_many(
            added,
            ActivityType.LISTED,
            actor_user_id=actor.user_id,
            details={"listId": str(row.id), "listName": row.name},
        )
        await Lists(tx).touch(row.id)
        await audit.record(
            tx, "list.leads_added", actor=actor, entity_type="list", entity_id=row.id,
            details={"added": len(added), "requested": len(body.lead_ids)},
        )  # fmt: skip
    return ListLeadsAdded(added=len(added), lead_count=await _static_count(tx, actor, row))


async def remove_leads(tx: Tx, actor: Actor, list_id: UUID, body: ListLeadIds) -> ListLeadsRemoved:
    """Take leads off a STATIC list, all or none; those not on it are left as they are."""
    row = await _static_for_members(tx, actor, list_id, body.lead_ids)
    removed = await Members(tx).remove(row.id, body.lead_ids)
    if removed:
        await Activities(tx).add_many(
            removed,
            ActivityType.UNLISTED,
            actor_user_id=actor.user_id,
            details={"listId": str(row.id), "listName": row.name},
        )
        await Lists(tx).touch(row.id)
        await audit.record(
            tx, "list.leads_removed", actor=actor, entity_type="list", entity_id=row.id,
            details={"removed": len(removed), "requested": len(body.lead_ids)},
        )  # fmt: skip
    return ListLeadsRemoved(removed=len(removed), lead_count=await _static_count(tx, actor, row))


async def list_leads(tx: Tx, actor: Actor, list_id: UUID, query: ListLeadsQuery) -> Page[LeadOut]:
    """The lead search with this list as `listId`: a STATIC list's members, a DYNAMIC list's
    saved filter evaluated now; either way AND the query's own filters."""
    row = await _readable(tx, list_id)
    fields = query.model_dump(exclude={"limit", "cursor"})
    within = LeadFilter.model_validate({**fields, "list_id": row.id})
    return await lead_search.search(tx, actor, within, limit=query.limit, cursor=query.cursor)
