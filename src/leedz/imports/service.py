"""Imports: spreadsheet rows become leads under the resolution rules, and can be taken back.

`import_batch` handles one batch of rows (job.py feeds it 1,000 at a time, each batch one
transaction) (docs/imports.md, "The job half"):

1. the batch takes the resolution locks of all its identities (resolution/service.lock_names,
   the same locks an agent's upload takes, so the two never make one business twice), then
   reads and locks every candidate lead at once (resolution/repository.Candidates);
2. each row is resolved in memory, in order, against the leads as they stand, the leads the
   earlier rows of the batch created or changed included: the rules are resolution's
   (`rules.matches`, `rules.decide`), the fields follow resolution's policy
   (`policy.create`, `policy.join`) with an import's own precedence (below);
3. what the batch decided is written in a few statements (repository.py), inside a savepoint:
   a key another writer took meanwhile rolls the savepoint back and the batch is resolved
   again, seeing that writer's lead.

Precedence. A row that matches a lead that existed before the import (`updated`) is its
creator's own edit, as in HubSpot's and Twenty's imports: its non-blank values replace the
lead's, person-edited fields included, blank cells clear nothing, phones, e-mail addresses
and tags are added to the lead's; the fields it changed count as person-edited afterwards
(agents no longer overwrite them). A row that matches a lead an earlier row of the same file
created or updated (`joined`: a duplicate inside the file) only fills what the lead lacks and
adds phones, e-mail addresses and tags: the first row's spelling stays. An import never
merges leads: a row whose phone and e-mail address belong to two leads updates the one the
rules keep (the oldest) and names the other in its report line.

A dry run resolves exactly the same way and writes no lead, key, list membership or timeline
entry: the leads it would create or change are kept in memory (`Ghosts`) for the next batches,
so in-file duplicates are found across batches too.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import TypeAdapter, ValidationError
from pydantic.alias_generators import to_snake

from leedz.access.context import Actor
from leedz.access.permissions import Permission
from leedz.audit import service as audit
from leedz.errors import Conflict, Forbidden, NotFound, ValidationFailed
from leedz.evidence.models import Confidence
from leedz.imports.models import RowAction
from leedz.imports.record import ImportRecord, RowFailed
from leedz.imports.repository import ImportJobs, ImportRows, ImportWrites, ReportLine
from leedz.imports.schemas import RevertOut
from leedz.jobs.models import JobStatus, JobType
from leedz.jobs.schemas import ImportInput, ImportMode
from leedz.kit.db import Tx
from leedz.kit.ids import new_id
from leedz.leads.events import LeadChange
from leedz.leads.models import ActivityType, LeadSource, LeadStatus, ListKind
from leedz.leads.record import DERIVED, Key, derived_after, derived_columns
from leedz.leads.repository import Activities, LeadRow, Leads
from leedz.leads.schemas import MAX_TAGS, CustomFields
from leedz.leads.service import OwnerNotMember, publish_change
from leedz.lists.repository import ListRow, Lists, Members
from leedz.members.repository import Memberships
from leedz.plans import repository as plans
from leedz.resolution import policy
from leedz.resolution.extract import Extracted
from leedz.resolution.index import LeadIndex
from leedz.resolution.policy import Source
from leedz.resolution.repository import (
    ActivityIn,
    Candidates,
    ResolutionLocks,
    ResolutionWrites,
    row_columns,
)
from leedz.resolution.rules import LeadState, Match, decide, matches
from leedz.resolution.service import (
    ATTEMPTS,
    MAX_FINE_LOCKS,
    ResolutionBusy,
    lock_names,
    name_probes,
)

# ---------------------------------------------------------------------------------------------
# Errors


class ImportListNotFound(ValidationFailed):
    code, title = "import_list_not_found", "The import's list does not exist"


class ImportListNotStatic(ValidationFailed):
    code, title = "import_list_not_static", "An import puts leads on a STATIC list only"


class ImportNotRevertible(Conflict):
    code, title = "import_not_revertible", "Only a completed import that stored leads is reverted"


class ImportAlreadyReverted(Conflict):
    code, title = "import_already_reverted", "This import was reverted already"


# Report errors of rows that are not failures (the `error` column of a `skipped` line, and
# the note of a row that matched two leads).
EMPTY_ROW = "empty_row"
DUPLICATE = "duplicate"
NO_MATCH = "no_match"
IN_TRASH = "in_trash"
OVER_QUOTA = "over_quota"
ALSO_MATCHES = "also_matches"

_LEAD_ROW_NAMES = tuple(f.name for f in dataclasses.fields(LeadRow))
# A source that wins every comparison (an `updated` row: its creator's edit) and one that
# wins none (a `joined` row: it only fills). `evidence_id` is not read by the policy.
_NOBODY = UUID(int=0)
_FILLS_ONLY = Source(
    evidence_id=_NOBODY,
    confidence=Confidence.LOW,
    collected_at=datetime(1970, 1, 1, tzinfo=UTC),
    maps=False,
)


# ---------------------------------------------------------------------------------------------
# What the job may do, checked before every batch


@dataclass(frozen=True, slots=True)
class ImportContext:
    job_id: UUID
    actor: Actor
    mode: ImportMode
    dry_run: bool
    target_list: ListRow | None
    owner_id: UUID | None
    max_leads: int | None


async def check_input(tx: Tx, actor: Actor, body: ImportInput) -> tuple[ListRow | None, int | None]:
    """What an import of `body` by `actor` may touch, as they could by hand: 403 without
    `leads:import` (or `leads:assign` to give the leads to someone else), 422 for a list that
    is not a STATIC list of the tenant they may change, or an owner who is not a member.
    Returns the list and the plan's `maxLeads`."""
    if not actor.can(Permission.LEADS_IMPORT):
        raise Forbidden(
            f"Your role ({actor.role.value}) lacks the permission {Permission.LEADS_IMPORT.value}",
            permission=Permission.LEADS_IMPORT.value,
        )
    target: ListRow | None = None
    if body.list_id is not None:
        target = await Lists(tx).get(body.list_id)
        if target is None:
            raise ImportListNotFound("listId: no such list", field="listId")
        if target.kind is not ListKind.STATIC:
            raise ImportListNotStatic(
                "listId: a DYNAMIC list shows the leads its filter matches", field="listId"
            )
        if not actor.can(Permission.LISTS_MANAGE) and target.created_by_id != actor.user_id:
            raise Forbidden(
                f"Your role ({actor.role.value}) lacks the permission"
                f" {Permission.LISTS_MANAGE.value}: you may only fill the lists you created",
                permission=Permission.LISTS_MANAGE.value,
            )
    if body.owner_id is not None:
        if body.owner_id != actor.user_id and not actor.can(Permission.LEADS_ASSIGN):
            raise Forbidden(
                f"Your role ({actor.role.value}) lacks the permission"
                f" {Permission.LEADS_ASSIGN.value}: you may only take the leads yourself",
                permission=Permission.LEADS_ASSIGN.value,
            )
        if await Memberships(tx).role_of(body.owner_id) is None:
            raise OwnerNotMember("ownerId is not a member of this workspace", field="ownerId")
    plan = await plans.Plans(tx).of_current_tenant()
    return target, plan.max_leads


async def context(tx: Tx, actor: Actor, job_id: UUID, body: ImportInput) -> ImportContext:
    """The batch's context: `check_input` run now, in the batch's transaction."""
    target, max_leads = await check_input(tx, actor, body)
    return ImportContext(
        job_id=job_id,
        actor=actor,
        mode=body.mode,
        dry_run=body.dry_run,
        target_list=target,
        owner_id=body.owner_id,
        max_leads=max_leads,
    )


# ---------------------------------------------------------------------------------------------
# Leads as the batch sees them


@dataclass
class Ghosts:
    """A dry run's memory across batches: the leads it would have created or changed (and
    their keys), those its rows touched, those it would have put on the list."""

    index: LeadIndex = field(default_factory=LeadIndex)
    touched: set[UUID] = field(default_factory=set)
    listed: set[UUID] = field(default_factory=set)
    created: int = 0


@dataclass(frozen=True, slots=True)
class RowIn:
    """A row of the file: its spreadsheet row number and what it reads as."""

    number: int
    outcome: ImportRecord | RowFailed | None


# ---------------------------------------------------------------------------------------------
# The batch


async def import_batch(
    tx: Tx, ctx: ImportContext, rows: Sequence[RowIn], *, ghosts: Ghosts | None = None
) -> list[ReportLine]:
    """Resolve and store (or, in a dry run, only resolve) one batch of rows, in order; its
    report lines are stored in the same transaction. `ghosts` is the dry run's memory."""
    records = [
        r.outcome.record
        for r in rows
        if isinstance(r.outcome, ImportRecord) and r.outcome.record.identifiable
    ]
    names = {name for record in records for name in lock_names(record)}
    if names:
        await ResolutionLocks(tx).lock(names, coarse=len(names) > MAX_FINE_LOCKS)
    lines: list[ReportLine] = []
    for _ in range(ATTEMPTS):
        batch = _Batch(tx, ctx, ghosts)
        await batch.load(records, any(isinstance(r.outcome, ImportRecord) for r in rows))
        with _no_collection():
            lines = [batch.one(row) for row in rows]
        if ctx.dry_run:
            batch.remember()
            break
        try:
            async with tx.savepoint():
                await batch.write()
        except (_Raced, asyncpg.UniqueViolationError):
            continue
        with _no_collection():
            batch.publish()
        break
    else:
        raise ResolutionBusy(
            "Other writers kept taking this batch's phones, e-mail addresses or place ids"
        )
    await ImportRows(tx).insert(ctx.job_id, lines)
    return lines


@contextmanager
def _no_collection() -> Iterator[None]:
    """The garbage collector held off while the batch resolves its rows (pure Python, no
    await: nothing else of the loop runs meanwhile). The rows' objects all live until the
    batch is written, so a collection in between frees nothing and only walks them again:
    the collector took 0.45 to 0.99 s per 5,000 imported rows, a third to a half less so
    (docs/benchmarks-notes.md). It runs afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Raced(Exception):
    """A key the batch meant to claim was taken by a writer it did not see."""


@dataclass
class _Batch:
    tx: Tx
    ctx: ImportContext
    ghosts: Ghosts | None
    index: LeadIndex = field(default_factory=LeadIndex)
    touched: set[UUID] = field(default_factory=set)  # leads this import created or changed
    listed: set[UUID] = field(default_factory=set)  # leads already on the job's list
    remaining: int | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    before: dict[UUID, LeadRow] = field(default_factory=dict)  # changed leads, as they were
    created: dict[UUID, LeadRow] = field(default_factory=dict)
    claims: list[tuple[Key, UUID]] = field(default_factory=list)
    activities: list[ActivityIn] = field(default_factory=list)
    to_list: list[UUID] = field(default_factory=list)
    derived: dict[UUID, dict[str, str]] = field(default_factory=dict)  # search_text, name forms

    # -- reading -----------------------------------------------------------------------------

    async def load(self, records: Sequence[Extracted], creating: bool) -> None:
        self.now = await ImportWrites(self.tx).clock()
        keys = sorted({k for r in records for k in r.keys}, key=lambda k: (k.kind, k.value))
        domains = {(r.identity_domain, r.city_key) for r in records if r.identity_domain}
        rows = await Candidates(self.tx).lock(
            keys=keys,
            domains=sorted(((d, c) for d, c in domains if d is not None), key=str),
            names=name_probes(records),
        )
        for row in rows:
            self.index.put(LeadState.of(row.lead), row.keys)
        ids = list(self.index.leads)
        if self.ghosts is not None:
            self.touched = set(self.ghosts.touched)
            self.listed = set(self.ghosts.listed)
        self.touched |= await ImportRows(self.tx).touched(self.ctx.job_id, ids)
        if self.ctx.target_list is not None:
            self.listed |= await ImportWrites(self.tx).listed(self.ctx.target_list.id, ids)
        if self.ctx.max_leads is not None and creating:
            # A dry run takes no creation lock: it writes nothing another writer must wait for.
            used = await Leads(self.tx).count_for_quota(serialize=not self.ctx.dry_run)
            used += self.ghosts.created if self.ghosts else 0
            self.remaining = max(self.ctx.max_leads - used, 0)

    def _state(self, lead_id: UUID) -> LeadState:
        if self.ghosts is not None and lead_id in self.ghosts.index.leads:
            return self.ghosts.index.leads[lead_id]
        return self.index.leads[lead_id]

    def _owners(self, record: Extracted) -> dict[Key, UUID]:
        found: dict[Key, UUID] = {}
        for key in record.keys:
            owner = self.index.owners.get(key)
            if owner is None and self.ghosts is not None:
                owner = self.ghosts.index.owners.get(key)
            if owner is not None:
                found[key] = owner
        return found

    def _matches(self, record: Extracted) -> tuple[list[Match], dict[Key, UUID]]:
        ids = self.index.ids_for(record)
        if self.ghosts is not None:
            ids |= self.ghosts.index.ids_for(record)
        owners = self._owners(record)
        return matches(record, {i: self._state(i) for i in ids}, owners), owners

    def _put(self, state: LeadState, keys: Sequence[Key]) -> None:
        (self.ghosts.index if self.ghosts is not None else self.index).put(state, keys)

    # -- one row -----------------------------------------------------------------------------

    def one(self, row: RowIn) -> ReportLine:
        """What the row does (see the module docstring), done to the batch's leads."""
        outcome = row.outcome
        if outcome is None:
            return _line(row.number, RowAction.SKIPPED, error=EMPTY_ROW)
        if isinstance(outcome, RowFailed):
            return _line(row.number, RowAction.FAILED, error=outcome.error[:1000])
        if not outcome.record.identifiable:
            return _line(
                row.number,
                RowAction.FAILED,
                error="name: the row names no business (a name, phone, e-mail address,"
                " website or Google Maps id is needed)",
            )
        found, owners = self._matches(outcome.record)
        live = [m for m in found if m.lead.row.live]
        if live:
            return self._matched(row.number, outcome, live, owners)
        if found:
            return _line(row.number, RowAction.SKIPPED, found[0].lead.id, IN_TRASH)
        return self._unmatched(row.number, outcome, owners)

    def _unmatched(self, number: int, row: ImportRecord, owners: dict[Key, UUID]) -> ReportLine:
        if self.ctx.mode is ImportMode.UPDATE_ONLY:
            return _line(number, RowAction.SKIPPED, error=NO_MATCH)
        if row.record.name is None:
            return _line(number, RowAction.FAILED, error="name: a new lead needs a name")
        if self.remaining is not None and self.remaining <= 0:
            return _line(number, RowAction.SKIPPED, error=OVER_QUOTA)
        return self._create(number, row, owners)

    def _matched(
        self, number: int, row: ImportRecord, live: list[Match], owners: dict[Key, UUID]
    ) -> ReportLine:
        decision = decide(live)
        lead = decision.survivor.lead
        others = [m.lead.id for m in decision.merged]
        note = f"{ALSO_MATCHES}:{','.join(map(str, others))}" if others else None
        if lead.id in self.touched:
            return self._join(number, row, lead, owners, RowAction.JOINED, note)
        if self.ctx.mode is ImportMode.CREATE_ONLY:
            return _line(number, RowAction.SKIPPED, self._shown(lead.id), DUPLICATE)
        return self._join(number, row, lead, owners, RowAction.UPDATED, note)

    def _shown(self, lead_id: UUID) -> UUID | None:
        """The lead id a report line names: none for a lead a dry run only imagined."""
        return lead_id if not self.ctx.dry_run or lead_id in self.index.leads else None

    @functools.cached_property
    def _source(self) -> Source:
        """The source of an updating row (its creator's edit): the batch's, made once."""
        return Source(
            evidence_id=_NOBODY, confidence=Confidence.HIGH, collected_at=self.now, maps=True
        )

    def _list(self, lead_id: UUID) -> bool:
        if self.ctx.target_list is None or lead_id in self.listed:
            return False
        self.listed.add(lead_id)
        self.to_list.append(lead_id)
        return True

    def _create(self, number: int, row: ImportRecord, owners: dict[Key, UUID]) -> ReportLine:
        record = row.record
        outcome = policy.create(
            record, self._source, owners, job_id=self.ctx.job_id, source_type=LeadSource.IMPORT
        )
        created_at = self.now + timedelta(microseconds=len(self.created))
        columns = outcome.columns | {
            "id": new_id(),
            "status": LeadStatus(row.status or LeadStatus.NEW),
            "owner_id": self.ctx.owner_id,
            "do_not_contact": bool(row.do_not_contact),
            "custom_fields": row.custom_fields,
            "edited_fields": sorted(row.present),
            "version": 1,
            "created_by_id": self.ctx.actor.user_id,
            "created_at": created_at,
            "updated_at": created_at,
            "last_activity_at": created_at,
            "deleted_at": None,
            "merged_into_id": None,
        }
        # Every field given, as LeadRow holds it (the enums are members already): built
        # directly, without `LeadRow.of`'s second dict and enum look-ups.
        lead = LeadRow(**{name: columns[name] for name in _LEAD_ROW_NAMES})
        self.created[lead.id] = lead
        self.derived[lead.id] = {k: columns[k] for k in DERIVED}
        state = LeadState(
            row=lead,
            name_key=columns["name_key"],
            city_key=record.city_key,
            phones=frozenset(lead.phones),
        )
        self._put(state, outcome.claims)
        self.claims += [(key, lead.id) for key in outcome.claims]
        self.touched.add(lead.id)
        if self.remaining is not None:
            self.remaining -= 1
        if self.ghosts is not None:
            self.ghosts.created += 1
        self.activities.append(
            ActivityIn(
                lead_id=lead.id,
                type=ActivityType.CREATED,
                agent_id=None,
                user_id=self.ctx.actor.user_id,
                details={"source": LeadSource.IMPORT.value, "jobId": str(self.ctx.job_id),
                         "row": number},
            )
        )  # fmt: skip
        listed = self._list(lead.id)
        return ReportLine(
            number,
            RowAction.CREATED.value,
            None if self.ctx.dry_run else lead.id,
            None,
            list(lead.tags),
            listed,
        )

    def _join(
        self,
        number: int,
        row: ImportRecord,
        lead: LeadState,
        owners: dict[Key, UUID],
        action: RowAction,
        note: str | None,
    ) -> ReportLine:
        current = lead.row
        if action is RowAction.UPDATED:
            outcome = policy.join(
                dataclasses.replace(current, edited_fields=[]), {}, row.record, self._source,
                owners,
            )  # fmt: skip
        else:
            outcome = policy.join(current, {}, row.record, _FILLS_ONLY, owners)
        columns = dict(outcome.columns)
        changed = set(outcome.changed)
        overwrite = action is RowAction.UPDATED
        if overwrite:
            columns, changed = _overwritten_flags(current, row, columns, changed)
        custom = _custom_fields(current.custom_fields, row.custom_fields, overwrite=overwrite)
        if isinstance(custom, str):
            return _line(number, RowAction.FAILED, current.id, f"customFields: {custom}")
        if custom is not None:
            columns["custom_fields"] = custom
            changed.add("customFields")
        if self.ctx.owner_id is not None and self.ctx.owner_id != current.owner_id:
            columns["owner_id"] = self.ctx.owner_id
            changed.add("ownerId")
        added_tags = _added_tags(current.tags, columns.get("tags", current.tags))
        listed = self._list(current.id)
        if columns:
            if overwrite:
                edited = {to_snake(f) for f in changed} - {"owner_id"}
                columns["edited_fields"] = sorted(set(current.edited_fields) | edited)
            self._change(current, columns, outcome.claims)
        self.touched.add(current.id)
        details: dict[str, Any] = {
            "jobId": str(self.ctx.job_id), "row": number, "fields": sorted(changed),
        }  # fmt: skip
        if self.ctx.target_list is not None and listed:
            details["listId"] = str(self.ctx.target_list.id)
        if columns or listed:
            self.activities.append(
                ActivityIn(current.id, ActivityType.IMPORTED, None, self.ctx.actor.user_id, details)
            )
        return ReportLine(number, action.value, self._shown(current.id), note, added_tags, listed)

    def _change(self, current: LeadRow, columns: dict[str, Any], claims: Sequence[Key]) -> None:
        derived = derived_after(columns, current.column)
        if derived:
            columns |= derived
            self.derived[current.id] = derived
        row = row_columns(current, columns)
        if current.id not in self.created:
            self.before.setdefault(current.id, current)
        else:
            self.created[current.id] = row
        self._put(LeadState.of(row), claims)
        self.claims += [(key, row.id) for key in claims]
        if self.ghosts is not None:
            self.ghosts.touched.add(row.id)

    # -- the end -----------------------------------------------------------------------------

    def remember(self) -> None:
        """A dry run: what the later batches must see of this one."""
        if self.ghosts is None:
            return
        self.ghosts.touched |= self.touched
        self.ghosts.listed |= self.listed

    async def write(self) -> None:
        writes = ImportWrites(self.tx)
        await writes.insert_leads(
            [_encoded(self.index.leads[i].row, self.derived.get(i)) for i in self.created]
        )
        await writes.update_leads(
            [_encoded(self.index.leads[i].row, self.derived.get(i)) for i in self.before]
        )
        if await writes.claim_keys(self.claims) != len(self.claims):
            raise _Raced
        target = self.ctx.target_list
        if target is not None and self.to_list:
            await Members(self.tx).add(target.id, self.to_list, added_by=self.ctx.actor.user_id)
            await Activities(self.tx).add_many(
                self.to_list,
                ActivityType.LISTED,
                actor_user_id=self.ctx.actor.user_id,
                details={"listId": str(target.id), "listName": target.name,
                         "jobId": str(self.ctx.job_id)},
            )  # fmt: skip
            await Lists(self.tx).touch(target.id)
        await ResolutionWrites(self.tx).activities(self.activities)

    def publish(self) -> None:
        for lead_id in self.created:
            publish_change(self.tx, self.index.leads[lead_id].row, LeadChange.CREATED)
        for lead_id, before in self.before.items():
            publish_change(
                self.tx,
                self.index.leads[lead_id].row,
                LeadChange.UPDATED,
                previous_owner_id=before.owner_id,
            )


# ---------------------------------------------------------------------------------------------
# Revert


_CUSTOM_FIELDS: TypeAdapter[dict[str, Any]] = TypeAdapter(CustomFields)

# An import that ended: completed, or cancelled or failed after committing some batches.
_ENDED = frozenset(s.value for s in (JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.FAILED))


async def revert(tx: Tx, actor: Actor, job_id: UUID) -> RevertOut:
    """Take back a completed import (docs/imports.md, "Revert"): the leads it created go to
    the trash (restorable), the tags and list memberships it added come off. 404 for no
    import of the tenant, 409 `import_not_revertible` for a dry run or an import that did
    not end (a cancelled or failed one keeps the batches it committed: those are taken back),
    409 `import_already_reverted` the second time; 403 without `leads:delete`."""
    if not actor.can(Permission.LEADS_DELETE):
        raise Forbidden(
            f"Your role ({actor.role.value}) lacks the permission {Permission.LEADS_DELETE.value}:"
            " a revert moves leads to the trash",
            permission=Permission.LEADS_DELETE.value,
        )
    job = await ImportJobs(tx).lock(job_id)
    if job is None or job.type != JobType.IMPORT.value:
        raise NotFound("No such import job")
    body = ImportInput.model_validate(job.input or {})
    if job.status not in _ENDED or body.dry_run:
        raise ImportNotRevertible(
            "A dry run stored nothing to take back"
            if body.dry_run
            else f"The import is {job.status}: an import is reverted once it has ended"
        )
    if (job.output or {}).get("reverted"):
        raise ImportAlreadyReverted(
            "This import was reverted already; restore its leads from the trash instead",
            reverted=(job.output or {})["reverted"],
        )
    rows = ImportRows(tx)
    created = await rows.created_count(job_id)
    trashed = await rows.trash_created(job_id)
    activities = Activities(tx)
    details = {"jobId": str(job_id), "reason": "import_reverted"}
    await activities.add_many(
        [r.id for r in trashed], ActivityType.DELETED, actor_user_id=actor.user_id, details=details
    )
    untagged = [r for r in await rows.remove_tags(job_id) if r.deleted_at is None]
    await activities.add_many(
        [r.id for r in untagged],
        ActivityType.FIELD_CHANGED,
        actor_user_id=actor.user_id,
        details={**details, "fields": ["tags"]},
    )
    unlisted: list[UUID] = []
    if body.list_id is not None:
        unlisted = await rows.unlist(job_id, body.list_id)
        target = await Lists(tx).get(body.list_id)
        if unlisted and target is not None:
            await activities.add_many(
                unlisted, ActivityType.UNLISTED, actor_user_id=actor.user_id,
                details={**details, "listId": str(target.id), "listName": target.name},
            )  # fmt: skip
            await Lists(tx).touch(target.id)
    out = RevertOut(
        job_id=job_id,
        trashed=len(trashed),
        kept=created - len(trashed),
        untagged=len(untagged),
        unlisted=len(unlisted),
    )
    summary = out.model_dump(mode="json", by_alias=True, exclude={"job_id"})
    await ImportJobs(tx).mark_reverted(
        job_id, {**summary, "by": str(actor.user_id), "at": datetime.now(UTC).isoformat()}
    )
    await audit.record(
        tx, "import.reverted", actor=actor, entity_type="job", entity_id=job_id, details=summary
    )
    for row in trashed:
        publish_change(tx, row, LeadChange.DELETED, previous_owner_id=row.owner_id)
    for row in untagged:
        publish_change(tx, row, LeadChange.UPDATED, previous_owner_id=row.owner_id)
    return out


def _overwritten_flags(
    current: LeadRow, row: ImportRecord, columns: dict[str, Any], changed: set[str]
) -> tuple[dict[str, Any], set[str]]:
    """An updating row's status and do-not-contact flag, where it gives them and they differ."""
    if row.status is not None and row.status != current.status:
        columns, changed = columns | {"status": row.status}, changed | {"status"}
    if row.do_not_contact is not None and row.do_not_contact != current.do_not_contact:
        columns = columns | {"do_not_contact": row.do_not_contact}
        changed = changed | {"doNotContact"}
    return columns, changed


def _custom_fields(
    current: dict[str, Any], incoming: dict[str, Any], *, overwrite: bool
) -> dict[str, Any] | str | None:
    """The lead's custom fields with the row's (a new key always, a changed value when the row
    overwrites), None when nothing changes, or why the result breaks the lead's own bounds (50
    keys, 16 KB: what PATCH would refuse)."""
    custom = {
        k: v for k, v in incoming.items()
        if (overwrite and current.get(k) != v) or k not in current
    }  # fmt: skip
    if not custom:
        return None
    merged = current | custom
    try:
        _CUSTOM_FIELDS.validate_python(merged)
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    return merged


def _line(
    number: int, action: RowAction, lead_id: UUID | None = None, error: str | None = None
) -> ReportLine:
    return ReportLine(number, action.value, lead_id, error, [], False)


def _added_tags(before: Sequence[str], after: Sequence[str]) -> list[str]:
    known = {t.casefold() for t in before}
    return [t for t in after if t.casefold() not in known][:MAX_TAGS]


def _encoded(row: LeadRow, derived: dict[str, str] | None) -> dict[str, Any]:
    """The lead's columns as `jsonb_populate_recordset` reads them; the derived ones as the
    batch computed them (or computed now, for a lead whose names and keys did not change)."""
    values = {name: getattr(row, name) for name in _LEAD_ROW_NAMES}
    for name in ("status", "confidence", "source_type"):
        values[name] = values[name].value
    values |= derived if derived is not None else derived_columns(values)
    return values
