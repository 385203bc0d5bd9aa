"""Entity resolution: evidence records become leads, without duplicates (docs/resolution.md).

`resolve_batch` runs in the upload's transaction, after the items are stored:

1. every record of the batch is read (extract.py);
2. the batch takes the advisory locks of all its identities in one sorted statement (two agents
   uploading one business serialize; batches sharing keys in another order cannot deadlock);
3. inside a savepoint, it reads and locks every candidate lead at once, takes the quota lock if
   a record may create a lead (limited plans), and resolves the records one after the other
   against the leads as they stand, the ones this batch created or changed included.

A lead key another writer took meanwhile (a person's POST /v1/leads, which takes no advisory
lock) rolls the savepoint back and the batch is resolved again, seeing that lead; never a 500,
never two leads.

`resolve_stored` resolves evidence already stored (a backfill), by id, the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from leedz.audit import service as audit
from leedz.errors import Conflict
from leedz.evidence.models import Confidence
from leedz.evidence.schemas import LeadAction
from leedz.evidence.service import StoredItem
from leedz.jobs.models import JobType
from leedz.jobs.repository import JobRow
from leedz.kit.db import Tx
from leedz.kit.events import EventBus
from leedz.kit.ids import new_id
from leedz.leads.events import LeadChange
from leedz.leads.models import ActivityType, LeadSource
from leedz.leads.record import DERIVED, Key
from leedz.leads.repository import Leads
from leedz.leads.service import publish_change
from leedz.merges import service as merges
from leedz.plans import repository as plans
from leedz.resolution import policy
from leedz.resolution.extract import MAPS_LISTING, Extracted, extract
from leedz.resolution.index import LeadIndex
from leedz.resolution.policy import Backer, Source
from leedz.resolution.repository import (
    ActivityIn,
    Candidates,
    LinkIn,
    NameProbe,
    ResolutionLocks,
    ResolutionWrites,
    new_lead_row,
    row_columns,
    with_bus,
)
from leedz.resolution.rules import Decision, LeadState, Match, decide, matches, ordered
from leedz.tenants import service as tenants

RESOLVED_JOB_TYPES = {JobType.SEARCH: LeadSource.SEARCH, JobType.SURVEY: LeadSource.SURVEY}
# Resolving a batch again after a racing writer took one of its keys; more is a 409 to retry.
ATTEMPTS = 3
# A batch needing more identity locks than this takes the tenant's resolution lock alone: a
# batch of 100 records with 20 phones and 20 addresses each would otherwise fill a good part of
# PostgreSQL's shared lock table (max_locks_per_transaction times max_connections).
MAX_FINE_LOCKS = 400


class ResolutionBusy(Conflict):
    code, title = "resolution_busy", "Leads changed while resolving; retry the upload"


class Agent(Protocol):
    @property
    def agent_id(self) -> UUID: ...


@dataclass(frozen=True, slots=True)
class LeadResolution:
    index: int
    lead_id: UUID | None
    action: LeadAction


@dataclass(frozen=True, slots=True)
class ResolvingActor:
    """Who the leads' timeline names: the uploading agent, or a person (a backfill)."""

    agent_id: UUID | None = None
    user_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One evidence item to resolve, with its job."""

    index: int
    evidence_id: UUID
    job_id: UUID
    job_type: JobType
    hint: str | None  # the job's country, for phones without a country code
    type: str
    confidence: Confidence
    raw_data: Any
    collected_at: datetime

    @property
    def source(self) -> Source:
        return Source(
            evidence_id=self.evidence_id,
            confidence=self.confidence,
            collected_at=self.collected_at,
            maps=self.type == MAPS_LISTING,
        )


def job_country(job_input: Any) -> str | None:
    value = job_input.get("country") if isinstance(job_input, dict) else None
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------------------------------------
# Entry points


async def resolve_batch(
    tx: Tx, *, agent: Agent, job: JobRow, evidence_rows: Sequence[StoredItem]
) -> list[LeadResolution]:
    """Resolve an upload's stored items (evidence/service.store_items) into leads: one answer
    per item, in order. Only SEARCH and SURVEY jobs find businesses; another job's items are
    `skipped`."""
    items = [
        Item(
            index=row.index,
            evidence_id=row.evidence_id,
            job_id=job.id,
            job_type=job.type,
            hint=job_country(job.input),
            type=row.type,
            confidence=Confidence(row.confidence),
            raw_data=row.raw_data,
            collected_at=row.collected_at,
        )
        for row in evidence_rows
    ]
    return await resolve(tx, ResolvingActor(agent_id=agent.agent_id), items)


async def resolve_stored(
    tx: Tx, evidence_ids: Sequence[UUID], *, actor: ResolvingActor | None = None
) -> list[LeadResolution]:
    """Resolve evidence already stored (a backfill), `index` being the position in
    `evidence_ids`; resolved in the order they were collected. An id of no evidence of the
    tenant is `skipped`; an item already linked to a lead is `unchanged`."""
    positions = {evidence_id: n for n, evidence_id in enumerate(evidence_ids)}
    rows = await ResolutionWrites(tx).stored_evidence(list(positions))
    items = [
        Item(
            index=positions[row.id],
            evidence_id=row.id,
            job_id=row.job_id,
            job_type=JobType(row.job_type),
            hint=job_country(row.job_input),
            type=row.type,
            confidence=row.confidence,
            raw_data=row.raw_data,
            collected_at=row.collected_at,
        )
        for row in rows
    ]
    resolved = {r.index: r for r in await resolve(tx, actor or ResolvingActor(), items)}
    return [
        resolved.get(n, LeadResolution(index=n, lead_id=None, action=LeadAction.SKIPPED))
        for n in range(len(evidence_ids))
    ]


# ---------------------------------------------------------------------------------------------
# The batch


def name_probes(records: Iterable[Extracted]) -> list[NameProbe]:
    """The (name key, city) pairs of records that rule 5 may match, each with whether one of
    its records has no phone (the candidates' name lookup)."""
    names: dict[tuple[str, str], bool] = {}
    for r in records:
        name, city = r.name_key, r.city_key  # each a property: read once
        if name and city:
            names[(name, city)] = names.get((name, city), False) or not r.phones
    return [
        NameProbe(name_key, city, phoneless)
        for (name_key, city), phoneless in sorted(names.items())
    ]


def lock_names(record: Extracted) -> list[str]:
    """What a record locks: each key; its identity domain whatever its city (a record with the
    domain and no city matches the domain's leads in every city, so the domain alone is what
    two such records surely share); its name key in its city (rule 5 needs both known)."""
    names = [f"{key.kind.value} {key.value}" for key in record.keys]
    if record.identity_domain is not None:
        names.append(f"DOMAIN {record.identity_domain}")
    if record.name_key is not None and record.city_key is not None:
        names.append(f"NAME {record.name_key} | {record.city_key}")
    return names


class _Raced(Exception):
    """A key the batch meant to claim belongs to a lead it did not see."""


class _QuotaFirst(Exception):
    """A record creates a lead after all, and the quota was not locked: lock it first."""


class _Buffer(EventBus):
    """Events of one attempt, published on the real transaction only if the attempt stands."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[object] = []

    def publish(self, tx: Tx, event: object) -> None:
        self.events.append(event)


Records = Sequence[tuple[Item, Extracted | None]]


async def resolve(tx: Tx, actor: ResolvingActor, items: Sequence[Item]) -> list[LeadResolution]:
    """Resolve `items` (in order) in the caller's transaction; see the module docstring."""
    settings = await tenants.settings(tx)
    records: list[tuple[Item, Extracted | None]] = [
        (
            item,
            extract(
                item.type, item.raw_data, hint=item.hint, default_country=settings.default_country
            )
            if item.job_type in RESOLVED_JOB_TYPES
            else None,
        )
        for item in items
    ]
    present = [r for _, r in records if r is not None and r.identifiable]
    if not present:
        return [LeadResolution(i.index, None, LeadAction.SKIPPED) for i, _ in records]
    names = {name for r in present for name in lock_names(r)}
    await ResolutionLocks(tx).lock(names, coarse=len(names) > MAX_FINE_LOCKS)
    limit = (await plans.Plans(tx).of_current_tenant()).max_leads
    quota_first = False
    attempts = 0
    while attempts < ATTEMPTS:
        buffer = _Buffer()
        batch = _Batch(with_bus(tx, buffer), actor, limit=limit, quota_first=quota_first)
        try:
            async with tx.savepoint():
                results = await batch.run(records)
        except _QuotaFirst:
            quota_first = True
            continue
        except (_Raced, asyncpg.UniqueViolationError):
            attempts += 1
            continue
        for event in buffer.events:
            tx.publish(event)
        return results
    raise ResolutionBusy(
        "Other writers kept taking this batch's phones, e-mail addresses or place ids; retry"
    )


@dataclass
class _Counts:
    created: int = 0
    joined: int = 0


@dataclass
class _Batch:
    """One attempt at resolving a batch: the leads as they stand, what to write at the end."""

    tx: Tx
    actor: ResolvingActor
    limit: int | None  # the plan's maxLeads
    quota_first: bool  # lock the quota before resolving, whatever the batch looks like
    remaining: int | None = None  # leads it may still create, once the quota is locked
    index: LeadIndex = field(default_factory=LeadIndex)
    backers: dict[UUID, dict[str, Backer]] = field(default_factory=dict)
    linked: dict[UUID, UUID] = field(default_factory=dict)  # evidence → lead
    folded: dict[UUID, UUID] = field(default_factory=dict)  # merged lead → its survivor
    created: set[UUID] = field(default_factory=set)
    changed: dict[UUID, UUID | None] = field(default_factory=dict)  # lead → owner before
    touched: set[UUID] = field(default_factory=set)
    activities: list[ActivityIn] = field(default_factory=list)
    links: list[LinkIn] = field(default_factory=list)
    claims: list[tuple[UUID, Key]] = field(default_factory=list)  # not written yet
    # Leads created and not written yet (their derived columns), in creation order: written
    # in one statement before the rows that refer to them (`_write_rows`).
    unwritten: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    newest: datetime | None = None  # the latest creation time of a lead the batch holds
    counts: dict[UUID, _Counts] = field(default_factory=dict)
    merged: int = 0

    async def run(self, records: Records) -> list[LeadResolution]:
        await self._load(records)
        await self._quota(records)
        results = []
        for item, record in records:
            results.append(await self._one(item, record))
        await self._flush()
        return results

    # -- reading -----------------------------------------------------------------------------

    async def _load(self, records: Records) -> None:
        candidates = Candidates(self.tx)
        self.linked = await candidates.links([item.evidence_id for item, _ in records])
        present = [r for _, r in records if r is not None and r.identifiable]
        keys = sorted({k for r in present for k in r.keys}, key=lambda k: (k.kind, k.value))
        domains = {
            (r.identity_domain, r.city_key) for r in present if r.identity_domain is not None
        }
        rows = await candidates.lock(
            keys=keys,
            domains=sorted(((d, c) for d, c in domains if d is not None), key=str),
            names=name_probes(present),
        )
        for row in rows:
            self._put(LeadState.of(row.lead))
            for key in row.keys:
                self.owners[key] = row.lead.id
        self.backers = {lead_id: {} for lead_id in self.leads}
        for backer in await candidates.backers(list(self.leads)):
            self.backers[backer.lead_id][backer.field] = backer.backer

    async def _quota(self, records: Records) -> None:
        """Under a limited plan, lock the tenant's lead creation (leads.repository.count_for_quota)
        when a record may create a lead, before anything is written: a person's creation
        holding that lock then never waits for a key this batch wrote."""
        if self.limit is None:
            return
        creating = self.quota_first or any(
            record is not None
            and record.identifiable
            and record.name is not None
            and item.evidence_id not in self.linked
            and not any(m.lead.row.live for m in self._matches(record))
            for item, record in records
        )
        if creating:
            leads = Leads(self.tx)
            used = await leads.count_for_quota(serialize=True)
            self.remaining = max(self.limit - used, 0)

    @property
    def leads(self) -> dict[UUID, LeadState]:
        return self.index.leads

    @property
    def owners(self) -> dict[Key, UUID]:
        return self.index.owners

    def _put(self, state: LeadState) -> None:
        """`state` is the lead as it stands now (indexes by domain and by name and city)."""
        self.index.put(state)
        if self.newest is None or state.row.created_at > self.newest:
            self.newest = state.row.created_at

    def _creation_time(self) -> datetime:
        """A new lead's place in the batch's view until it is written: after every lead the
        batch holds (the insert gives the clock's time, in the same order)."""
        now = datetime.now(UTC)
        if self.newest is not None and now <= self.newest:
            now = self.newest + timedelta(microseconds=1)
        return now

    def _drop(self, lead_id: UUID) -> None:
        self.index.drop(lead_id)

    def _matches(self, record: Extracted) -> list[Match]:
        """The leads the record is: its keys' owners, and the leads of its domain and of its
        name in its city, tested against the rules as they stand."""
        candidates = {i: self.leads[i] for i in self.index.ids_for(record) if i in self.leads}
        return matches(record, candidates, self.owners)

    def _current(self, lead_id: UUID) -> UUID:
        while lead_id in self.folded:
            lead_id = self.folded[lead_id]
        return lead_id

    # -- one record --------------------------------------------------------------------------

    async def _one(self, item: Item, record: Extracted | None) -> LeadResolution:
        def answer(lead_id: UUID | None, action: LeadAction) -> LeadResolution:
            return LeadResolution(index=item.index, lead_id=lead_id, action=action)

        known = self.linked.get(item.evidence_id)
        if known is not None:
            return answer(self._current(known), LeadAction.UNCHANGED)
        if record is None or not record.identifiable:
            return answer(None, LeadAction.SKIPPED)
        found = self._matches(record)
        live = [m for m in found if m.lead.row.live]
        if not live:
            if found or record.name is None:  # the business is in the trash, or no name
                return answer(None, LeadAction.SKIPPED)
            if self.limit is not None and self.remaining is None:
                raise _QuotaFirst
            if self.remaining is not None and self.remaining <= 0:
                return answer(None, LeadAction.OVER_QUOTA)
            lead_id = await self._create(item, record)
            return answer(lead_id, LeadAction.CREATED)
        decision = decide(live)
        survivor = decision.survivor.lead
        if decision.merged:
            survivor = await self._merge(item, decision)
        await self._join(item, record, survivor, decision)
        return answer(survivor.id, LeadAction.JOINED)

    def _count(self, item: Item) -> _Counts:
        return self.counts.setdefault(item.job_id, _Counts())

    async def _claim(self, lead_id: UUID, keys: list[Key]) -> None:
        """The keys become the lead's in the batch's view now, and in `lead_keys` with the
        batch's other claims in one statement (`_write_rows`): a key another writer took
        meanwhile comes back lost there, and the attempt starts again."""
        for key in keys:
            self.owners[key] = lead_id
            self.claims.append((lead_id, key))

    async def _create(self, item: Item, record: Extracted) -> UUID:
        source = item.source
        outcome = policy.create(
            record,
            source,
            self.owners,
            job_id=item.job_id,
            source_type=RESOLVED_JOB_TYPES[item.job_type],
        )
        row = new_lead_row(new_id(), outcome.columns, self._creation_time())
        self.unwritten[row.id] = {c: v for c, v in outcome.columns.items() if c in DERIVED}
        await self._claim(row.id, outcome.claims)
        self._put(LeadState.of(row))
        self.backers[row.id] = policy.backed({}, outcome.fields, source)
        self.created.add(row.id)
        if self.remaining is not None:
            self.remaining -= 1
        self._count(item).created += 1
        self.linked[item.evidence_id] = row.id
        self.links.append(LinkIn(row.id, item.evidence_id, outcome.fields))
        self.activities.append(
            self._activity(
                row.id,
                ActivityType.CREATED,
                {
                    "source": RESOLVED_JOB_TYPES[item.job_type].value,
                    "jobId": str(item.job_id),
                    "evidenceId": str(item.evidence_id),
                },
            )
        )
        return row.id

    async def _join(
        self, item: Item, record: Extracted, lead: LeadState, decision: Decision
    ) -> None:
        source = item.source
        outcome = policy.join(lead.row, self.backers[lead.id], record, source, self.owners)
        await self._claim(lead.id, outcome.claims)
        if outcome.columns:
            self.changed.setdefault(lead.id, lead.row.owner_id)
            unwritten = self.unwritten.get(lead.id)
            if unwritten is not None:  # a lead of this batch: changed before it is written
                unwritten |= {c: v for c, v in outcome.columns.items() if c in DERIVED}
                row = row_columns(lead.row, outcome.columns)
                row = replace(row, version=row.version + 1)
            else:
                row = await Leads(self.tx).update(lead.id, outcome.columns)
            self._put(LeadState.of(row))
        else:
            self.touched.add(lead.id)
        self.backers[lead.id] = policy.backed(self.backers[lead.id], outcome.fields, source)
        self._count(item).joined += 1
        self.linked[item.evidence_id] = lead.id
        self.links.append(LinkIn(lead.id, item.evidence_id, outcome.fields))
        self.activities.append(
            self._activity(
                lead.id,
                ActivityType.EVIDENCE_JOINED,
                {
                    "evidenceId": str(item.evidence_id),
                    "jobId": str(item.job_id),
                    "rules": ordered(
                        rule for m in (decision.survivor, *decision.merged) for rule in m.rules
                    ),
                    "fields": outcome.changed,
                },
            )
        )

    async def _merge(self, item: Item, decision: Decision) -> LeadState:
        """Fold the leads the record bridges into the survivor, as an undoable merge whose
        timeline entry names the evidence and the rules that tied each lead."""
        survivor = decision.survivor.lead
        ids = [m.lead.id for m in decision.merged]
        # What the batch linked to these leads so far is written first: the merge moves it,
        # and its undo puts it back.
        await self._write_rows()
        await merges.merge_leads(
            self.tx,
            merges.MergedBy(
                user_id=self.actor.user_id,
                agent_id=self.actor.agent_id,
                reason="resolution",
                details={
                    "evidenceId": str(item.evidence_id),
                    "rules": _rules_by_lead((decision.survivor, *decision.merged)),
                },
            ),
            survivor.id,
            ids,
        )
        row = await Candidates(self.tx).lead(survivor.id)
        state = LeadState.of(row)
        self._put(state)
        self.backers[survivor.id] = policy.best(
            self.backers[survivor.id], *(self.backers.pop(i) for i in ids)
        )
        for lead_id in ids:
            self._drop(lead_id)
            self.folded[lead_id] = survivor.id
            self.created.discard(lead_id)
            self.changed.pop(lead_id, None)
            self.touched.discard(lead_id)
        for key, owner in self.owners.items():
            if owner in ids:
                self.owners[key] = survivor.id
        self.changed.setdefault(survivor.id, survivor.row.owner_id)
        if self.remaining is not None:
            self.remaining += len(ids)
        self.merged += 1
        return state

    def _activity(self, lead_id: UUID, kind: ActivityType, details: dict[str, Any]) -> ActivityIn:
        return ActivityIn(
            lead_id=lead_id,
            type=kind,
            agent_id=self.actor.agent_id,
            user_id=self.actor.user_id,
            details=details,
        )

    # -- the end -----------------------------------------------------------------------------

    async def _write_rows(self) -> None:
        """What the batch holds back so far: the leads it created, then the key claims (a lost
        one ends the attempt before anything else is written), then timeline entries and
        provenance."""
        writes = ResolutionWrites(self.tx)
        unwritten, self.unwritten = self.unwritten, {}
        created = await writes.insert_leads(
            [(self.leads[lead_id].row, derived) for lead_id, derived in unwritten.items()]
        )
        for row in created:
            self._put(LeadState.of(row))
        claims, self.claims = self.claims, []
        if await writes.claim_keys(claims):
            raise _Raced
        await writes.activities(self.activities)
        await writes.links(self.links)
        self.activities, self.links = [], []

    async def _flush(self) -> None:
        await self._write_rows()
        writes = ResolutionWrites(self.tx)
        await writes.touch(sorted(self.touched - self.created - set(self.changed), key=str))
        for job_id, counts in self.counts.items():
            await writes.count_leads(job_id, created=counts.created, joined=counts.joined)
        if self.created or self.changed or self.merged:
            await audit.record(
                self.tx,
                "lead.resolved",
                user_id=self.actor.user_id,
                entity_type="job",
                entity_id=next(iter(self.counts)) if len(self.counts) == 1 else None,
                details={
                    "agentId": str(self.actor.agent_id) if self.actor.agent_id else None,
                    "created": len(self.created),
                    "changed": len(set(self.changed) - self.created),
                    "merges": self.merged,
                },
            )
        self._publish()

    def _publish(self) -> None:
        # Merges published their own events already (lead:merged, in order); then the new
        # leads, then the leads that changed, each once with its final state.
        for lead_id in sorted(self.created, key=lambda i: self.leads[i].age):
            self._event(lead_id, LeadChange.CREATED, None)
        for lead_id, owner_before in self.changed.items():
            if lead_id not in self.created and lead_id in self.leads:
                self._event(lead_id, LeadChange.UPDATED, owner_before)

    def _event(self, lead_id: UUID, change: LeadChange, owner_before: UUID | None) -> None:
        publish_change(self.tx, self.leads[lead_id].row, change, previous_owner_id=owner_before)


def _rules_by_lead(found: Iterable[Match]) -> dict[str, list[str]]:
    return {str(m.lead.id): [r.value for r in ordered(m.rules)] for m in found}
