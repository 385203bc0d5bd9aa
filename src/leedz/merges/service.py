"""Merging leads into a survivor and undoing it; duplicate suggestions; a lead's provenance.

A merge runs in one transaction: the leads are locked in id order (two merges over shared leads
queue, never deadlock), the survivor's fields are folded (merges/folding.py), the merged leads'
keys, list memberships, timeline and evidence links move to the survivor, and the merged leads
get `merged_into_id` (their rows stay, hidden everywhere). `lead_merges.snapshot` keeps what
undo needs to put everything back (docs/merges.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from leedz.access.context import Actor, RequestMeta
from leedz.audit import service as audit
from leedz.errors import Conflict, NotFound, ValidationFailed
from leedz.kit.db import Tx
from leedz.kit.pagination import Page, decode_cursor, next_cursor
from leedz.leads.events import LeadChange
from leedz.leads.models import ActivityType, LeadKeyKind
from leedz.leads.record import Key, derived_after, name_columns
from leedz.leads.repository import Activities, LeadRow, Leads
from leedz.leads.service import lead_out, publish_change, visible_to
from leedz.merges import duplicates as scoring
from leedz.merges import folding
from leedz.merges.repository import (
    EVIDENCE_LINKS,
    LIST_MEMBERSHIPS,
    Candidate,
    DuplicateCandidates,
    LeadEvidenceRows,
    MergeActivities,
    MergeKeys,
    MergeLeads,
    MergePairs,
    MergeRow,
    Merges,
)
from leedz.merges.schemas import (
    DuplicateOut,
    DuplicateReason,
    DuplicatesOut,
    LeadEvidenceOut,
    MergeIn,
    MergeOut,
    UndoOut,
)

SNAPSHOT_FORMAT = 1
MAX_DUPLICATES = 20
# Candidates read per rule before scoring.
_PER_RULE = 50


class LeadDeleted(Conflict):
    code, title = "lead_deleted", "Lead is in the trash"


class MergeAlreadyUndone(Conflict):
    code, title = "merge_already_undone", "Merge already undone"


class MergeUndoConflict(Conflict):
    code, title = "merge_undo_conflict", "The merge cannot be undone as things stand"


# ---------------------------------------------------------------------------------------------
# Merge


async def _fold_pairs(
    repo: MergePairs, survivor: UUID, ids: list[UUID]
) -> dict[str, list[dict[str, Any]]]:
    """Move each (container, merged lead) row to the survivor, or drop it where the survivor
    (or an earlier merged lead's moved row) is already there. The rows as they were."""
    container = repo.pairs.container
    rows = await repo.of_leads([survivor, *ids])
    taken = {r.data[container] for r in rows if r.data["lead_id"] == str(survivor)}
    moved: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for row in rows:
        if row.data["lead_id"] == str(survivor):
            continue
        if row.data[container] in taken:
            dropped.append(row.data)
        else:
            taken.add(row.data[container])
            moved.append(row.data)
    await repo.move([(UUID(r[container]), UUID(r["lead_id"])) for r in moved], survivor)
    await repo.drop([(UUID(r[container]), UUID(r["lead_id"])) for r in dropped])
    return {"moved": moved, "dropped": dropped}


async def _locked_for_merge(
    tx: Tx, visible: UUID | None, survivor_id: UUID, ids: list[UUID]
) -> dict[UUID, LeadRow]:
    wanted = [survivor_id, *ids]
    rows = {r.id: r for r in await MergeLeads(tx).lock(wanted, visible_to=visible)}
    # Folded into another lead already: gone, as GET /v1/leads/{id} says.
    missing = [i for i in wanted if i not in rows or rows[i].merged_into_id is not None]
    if missing:
        raise NotFound(
            "No such lead" if missing == [survivor_id] else "No such lead among leadIds",
            leadIds=[str(i) for i in missing],
        )
    deleted = [i for i in wanted if rows[i].deleted_at is not None]
    if deleted:
        raise LeadDeleted(
            "A lead in the trash cannot be merged: restore it first",
            leadIds=[str(i) for i in deleted],
        )
    return rows


@dataclass(frozen=True)
class MergedBy:
    """Who merges: a person (`user_id`, with the request's `meta`), or an agent whose upload
    bridged the leads (`agent_id`, entity resolution). `reason` is kept on the merge row,
    `details` added to the survivor's MERGED timeline entry (which rule fired)."""

    user_id: UUID | None = None
    agent_id: UUID | None = None
    meta: RequestMeta | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


async def merge(tx: Tx, actor: Actor, survivor_id: UUID, body: MergeIn) -> MergeOut:
    """Fold `body.lead_ids` into the survivor. 404 for a lead the actor cannot see (or one
    already merged), 409 `lead_deleted` for one in the trash, 422 for the survivor itself."""
    ids = list(body.lead_ids)
    if survivor_id in ids:
        raise ValidationFailed("A lead cannot be merged into itself", field="leadIds")
    return await merge_leads(
        tx,
        MergedBy(user_id=actor.user_id, meta=actor.meta),
        survivor_id,
        ids,
        visible=await visible_to(tx, actor),
    )


async def merge_leads(
    tx: Tx, by: MergedBy, survivor_id: UUID, ids: list[UUID], *, visible: UUID | None = None
) -> MergeOut:
    """`merge` for any caller (a person's request, or resolution on an agent's upload): the
    leads `visible` (a user id, or None for all) may see, `ids` distinct and without the
    survivor."""
    rows = await _locked_for_merge(tx, visible, survivor_id, ids)
    survivor = rows[survivor_id]
    merged = sorted((rows[i] for i in ids), key=lambda r: (r.created_at, str(r.id)))
    full_rows = await MergeLeads(tx).full_rows([survivor_id, *ids])
    before = {str(r.data["id"]): r.data for r in full_rows}

    fold = folding.fold(survivor, merged)
    keys = await MergeKeys(tx).repoint(ids, survivor_id)
    memberships = await _fold_pairs(MergePairs(tx, LIST_MEMBERSHIPS), survivor_id, ids)
    evidence = await _fold_pairs(MergePairs(tx, EVIDENCE_LINKS), survivor_id, ids)
    activities = await MergeActivities(tx).repoint(ids, survivor_id)
    await MergeLeads(tx).mark_merged(ids, survivor_id)

    columns = dict(fold.columns)
    if fold.edited_added:
        columns["edited_fields"] = sorted({*survivor.edited_fields, *fold.edited_added})
    columns |= derived_after(columns, survivor.column)
    updated = await Leads(tx).update(survivor_id, columns)

    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "survivor": before[str(survivor_id)],
        "merged": [before[str(m.id)] for m in merged],
        "changes": fold.changes,
        "editedAdded": fold.edited_added,
        "keys": [k.data for k in keys],
        "memberships": memberships,
        "evidence": evidence,
        "activities": activities,
    }
    record = await Merges(tx).insert(
        survivor_id=survivor_id, merged_ids=ids, snapshot=snapshot, created_by_id=by.user_id,
        reason=by.reason,
    )  # fmt: skip
    named = [{"id": str(m.id), "name": m.name} for m in merged]
    await Activities(tx).add(
        survivor_id,
        ActivityType.MERGED,
        actor_user_id=by.user_id,
        actor_agent_id=by.agent_id,
        details={
            **by.details, "mergeId": str(record.id), "merged": named, "fields": fold.fields,
        },
    )  # fmt: skip
    agent = {"agentId": str(by.agent_id)} if by.agent_id else {}
    await audit.record(
        tx, "lead.merged", user_id=by.user_id, meta=by.meta, entity_type="lead",
        entity_id=survivor_id,
        details={"mergeId": str(record.id), "mergedIds": [str(i) for i in ids], **agent},
    )  # fmt: skip
    publish_change(
        tx, updated, LeadChange.MERGED, previous_owner_id=survivor.owner_id, merged_ids=ids
    )
    return MergeOut(lead=lead_out(updated), merge_id=record.id)


# ---------------------------------------------------------------------------------------------
# Undo


async def _check_keys(tx: Tx, survivor_id: UUID, key_rows: Sequence[Mapping[str, Any]]) -> None:
    """409 when a key a merged lead needs back belongs to a third lead by now."""
    wanted = {(r["kind"], r["value"]): UUID(str(r["lead_id"])) for r in key_rows}
    holders = await MergeKeys(tx).holders([Key(LeadKeyKind(k), v) for k, v in wanted])
    taken = [h for h in holders if h.lead_id not in (survivor_id, wanted[(h.kind.value, h.value)])]
    if taken:
        raise MergeUndoConflict(
            "A lead to restore needs back "
            + ", ".join(Key(h.kind, h.value).reason for h in taken)
            + ", which another lead holds now: change that lead first",
            conflicts=[
                {"key": Key(h.kind, h.value).reason, "leadId": str(h.lead_id), "name": h.name}
                for h in taken
            ],
        )


async def _locked_for_undo(
    tx: Tx, actor: Actor, merge_id: UUID
) -> tuple[MergeRow, dict[UUID, LeadRow]]:
    merges = Merges(tx)
    record = await merges.get(merge_id, for_update=True)
    if record is None:
        raise NotFound("No such merge")
    if record.undone_at is not None:
        raise MergeAlreadyUndone("This merge was undone already")
    wanted = [record.survivor_id, *record.merged_ids]
    rows = {
        r.id: r for r in await MergeLeads(tx).lock(wanted, visible_to=await visible_to(tx, actor))
    }
    if record.survivor_id not in rows:
        raise NotFound("No such merge")
    newer = await merges.newer_active(record)
    if newer:
        raise MergeUndoConflict(
            "A later merge involves these leads: undo it first",
            mergeIds=[str(i) for i in newer],
        )
    # Without a later merge, nothing else moves them; a lead missing here went with its survivor.
    stray = [
        i
        for i in record.merged_ids
        if i not in rows or rows[i].merged_into_id != record.survivor_id
    ]
    if stray or rows[record.survivor_id].merged_into_id is not None:
        raise MergeUndoConflict(
            "These leads are no longer as the merge left them", leadIds=[str(i) for i in stray]
        )
    return record, rows


async def undo(tx: Tx, actor: Actor, merge_id: UUID) -> UndoOut:
    """Put the merged leads back as they were and take from the survivor what the merge
    brought, keeping what people changed on it since. 409 `merge_already_undone`; 409
    `merge_undo_conflict` when a later merge involves these leads or a key the merged leads
    need is another lead's now (nothing changed)."""
    record, rows = await _locked_for_undo(tx, actor, merge_id)
    snapshot = record.snapshot
    survivor_id = record.survivor_id
    current = rows[survivor_id]
    await _check_keys(tx, survivor_id, snapshot["keys"])

    keys = MergeKeys(tx)
    given = await keys.give_back(snapshot["keys"], held_by=survivor_id)
    if given != len(snapshot["keys"]):  # a key was claimed while we looked: name who holds it
        await _check_keys(tx, survivor_id, snapshot["keys"])
        raise MergeUndoConflict("A key of a lead to restore was just taken; retry")
    await MergeActivities(tx).give_back(snapshot["activities"], held_by=survivor_id)
    for repo, part in (
        (MergePairs(tx, LIST_MEMBERSHIPS), snapshot["memberships"]),
        (MergePairs(tx, EVIDENCE_LINKS), snapshot["evidence"]),
    ):
        await repo.take_back(part["moved"], from_id=survivor_id)
        await repo.put_back([*part["moved"], *part["dropped"]])
    restored_rows = await MergeLeads(tx).restore(snapshot["merged"])
    by_id = {r.id: r for r in restored_rows}
    restored = [by_id[i] for i in record.merged_ids]

    revert = folding.revert(current, snapshot["changes"], snapshot["editedAdded"])
    columns = dict(revert.columns)
    columns |= derived_after(columns, current.column)
    updated = await Leads(tx).update(survivor_id, columns)
    await Merges(tx).mark_undone(record.id, actor.user_id)

    activities = Activities(tx)
    await activities.add(
        survivor_id,
        ActivityType.UNMERGED,
        actor_user_id=actor.user_id,
        details={
            "mergeId": str(record.id),
            "restored": [{"id": str(r.id), "name": r.name} for r in restored],
            "fields": revert.fields,
        },
    )
    for row in restored:
        await activities.add(
            row.id,
            ActivityType.UNMERGED,
            actor_user_id=actor.user_id,
            details={"mergeId": str(record.id), "survivor": {"id": str(survivor_id),
                                                            "name": updated.name}},
        )  # fmt: skip
    await audit.record(
        tx, "lead.unmerged", actor=actor, entity_type="lead", entity_id=survivor_id,
        details={"mergeId": str(record.id), "restoredIds": [str(r.id) for r in restored]},
    )  # fmt: skip
    publish_change(tx, updated, LeadChange.UPDATED, previous_owner_id=current.owner_id)
    for row in restored:
        publish_change(tx, row, LeadChange.CREATED)
    return UndoOut(leads=[lead_out(r) for r in restored])


# ---------------------------------------------------------------------------------------------
# Reads


async def _visible_lead(tx: Tx, actor: Actor, lead_id: UUID) -> tuple[LeadRow, UUID | None]:
    visible = await visible_to(tx, actor)
    row = await Leads(tx).get(lead_id, visible_to=visible)
    if row is None:
        raise NotFound("No such lead")
    return row, visible


async def duplicates(tx: Tx, actor: Actor, lead_id: UUID) -> DuplicatesOut:
    """Live leads the actor may see that may be the same business, best first (at most 20)."""
    lead, visible = await _visible_lead(tx, actor, lead_id)
    repo = DuplicateCandidates(tx)
    scope: dict[str, Any] = {
        "lead_id": lead.id, "city": lead.city, "visible_to": visible, "limit": _PER_RULE,
    }  # fmt: skip
    found: dict[UUID, tuple[LeadRow, float | None]] = {}

    def add(candidates: Sequence[Candidate]) -> None:
        for c in candidates:
            known = found.get(c.lead.id)
            if known is None or (c.similarity is not None and known[1] is None):
                found[c.lead.id] = (c.lead, c.similarity)

    web = scoring.website_domain(lead)
    mail = scoring.mail_domains(lead.emails)
    add(await repo.with_domains(sorted(mail | ({web} if web else set())), **scope))
    for domain in sorted(mail | ({web} if web else set())):
        add(await repo.mentioning(domain, **scope))
    names = name_columns(lead.name)
    if names["name_key"]:
        add(await repo.same_name(names["name_key"], **scope))
    if lead.city and names["name_sort"]:
        add(
            await repo.similar_names(
                names["name_sort"],
                lead_id=lead.id,
                city=lead.city,
                threshold=scoring.SIMILARITY_THRESHOLD,
                visible_to=visible,
                limit=_PER_RULE,
            )
        )
    ranked = scoring.rank(lead, found.values(), limit=MAX_DUPLICATES)
    return DuplicatesOut(
        items=[
            DuplicateOut(
                lead=lead_out(s.lead),
                score=s.score,
                reasons=[
                    DuplicateReason(type=r.type, value=r.value, similarity=r.similarity)
                    for r in s.reasons
                ],
            )
            for s in ranked
        ]
    )


async def evidence(
    tx: Tx, actor: Actor, lead_id: UUID, *, limit: int, cursor: str | None
) -> Page[LeadEvidenceOut]:
    """Every evidence item linked to the lead (and which fields it supplied), newest first."""
    await _visible_lead(tx, actor, lead_id)
    rows = await LeadEvidenceRows(tx).page(
        lead_id, limit=limit, before=decode_cursor(cursor) if cursor else None
    )
    return Page[LeadEvidenceOut](
        items=[LeadEvidenceOut.model_validate(r) for r in rows[:limit]],
        next_cursor=next_cursor([(r.collected_at, r.id) for r in rows], limit),
    )
