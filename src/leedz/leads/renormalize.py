"""A workspace's stored leads brought to the current normalization rules.

Normalization changes over time: an e-mail given in punycode is now kept in Unicode, text is
trimmed of direction marks, the Public Suffix List behind `domain` is updated with the library.
A lead keeps the form it was stored in until its fields are written again, and a new record
spelled the new way does not meet it by its keys. `leedz leads renormalize` reads every lead of
a workspace (live and in the trash; not those folded into another), in batches by id, each batch
one transaction as the request role (row-level security applies), and for each lead:

- reads its API fields back, each through the rules a PATCH of it applies
  (`service.renormalized`), and computes its derived columns (search text, sort and resolution
  name forms) and keys again: it claims the keys its fields now give and releases only the old
  spellings of those (a merge's or a second listing's extra keys stay);
- writes what differs (`service.apply_renormalized`), in a savepoint: a new version, a
  FIELD_CHANGED entry of no one when a field people see changed, `lead.updated` to the sockets
  for a live lead;
- leaves a lead unchanged, and reports it, when a new key is another lead's (the two are
  duplicates a person should merge, and the pass runs again after); a field whose stored value
  the rules now refuse is left as stored, and reported, while the others are renormalized.

`dry_run` reports what would change and writes nothing. A pass may run while the workspace works
(each batch locks its leads only to its commit); a second pass at once finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from leedz.audit import service as audit
from leedz.kit.db import Database, Tx
from leedz.leads import service
from leedz.leads.record import Key
from leedz.leads.repository import Leads, StoredLead
from leedz.leads.service import LeadDuplicate
from leedz.tenants import service as tenants

BATCH = 200
ATTEMPTS = 3  # a batch's, when it meets a deadlock
SHOWN = 100  # leads named in a report's lists and in an audit row (the counts are all)


@dataclass
class Renormalization:
    """One workspace's pass, as it goes."""

    tenant_id: UUID
    dry_run: bool
    read: int = 0
    changed: int = 0
    fields: dict[str, int] = field(default_factory=dict)  # column (or "keys") -> leads changed
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[dict[str, Any]] = field(default_factory=list)
    # A dry run claims nothing: the new keys it would have claimed, and for which lead, so
    # that a second lead of the workspace wanting one is reported as the real run would.
    would_claim: dict[Key, UUID] = field(default_factory=dict)

    def as_report(self) -> dict[str, Any]:
        return {
            "tenantId": str(self.tenant_id),
            "dryRun": self.dry_run,
            "read": self.read,
            "changed": self.changed,
            "fields": dict(sorted(self.fields.items())),
            "duplicates": len(self.duplicates),
            "invalid": len(self.invalid),
            "firstDuplicates": self.duplicates[:SHOWN],
            "firstInvalid": self.invalid[:SHOWN],
        }

    def add(self, batch: Renormalization) -> None:
        self.read += batch.read
        self.changed += batch.changed
        for name, count in batch.fields.items():
            self.fields[name] = self.fields.get(name, 0) + count
        self.duplicates += batch.duplicates
        self.invalid += batch.invalid


async def renormalize_tenant(
    db: Database,
    tenant_id: UUID,
    *,
    batch: int = BATCH,
    dry_run: bool = False,
    on_batch: Callable[[Renormalization], None] | None = None,
) -> Renormalization:
    """The workspace's pass, batch after batch. A batch that meets a deadlock (another writer
    locking the same leads or keys in another order: resolution, an import) is rolled back
    and run again, up to `ATTEMPTS` times."""
    done = Renormalization(tenant_id, dry_run)
    after: UUID | None = None
    while True:
        for attempt in range(1, ATTEMPTS + 1):
            part = Renormalization(tenant_id, dry_run, would_claim=done.would_claim)
            try:
                leads = await _batch(db, after, limit=batch, done=part)
                break
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
                if attempt == ATTEMPTS:
                    raise
        done.add(part)
        if on_batch is not None:
            on_batch(done)
        if len(leads) < batch:
            return done
        after = leads[-1].row.id


async def _batch(
    db: Database, after: UUID | None, *, limit: int, done: Renormalization
) -> list[StoredLead]:
    async with db.transaction(tenant_id=done.tenant_id) as tx:
        default_country = (await tenants.settings(tx)).default_country
        leads = await Leads(tx).stored_after(after, limit=limit, for_update=not done.dry_run)
        changed = [
            stored.row.id
            for stored in leads
            if await _renormalize(tx, stored, default_country=default_country, done=done)
        ]
        done.read, done.changed = len(leads), len(changed)
        if changed and not done.dry_run:
            await audit.record(
                tx,
                "lead.renormalized",
                entity_type="lead",
                details={"count": len(changed), "leadIds": [str(i) for i in changed[:SHOWN]]},
            )
    return leads


async def _renormalize(
    tx: Tx, stored: StoredLead, *, default_country: str, done: Renormalization
) -> bool:
    """One lead: whether it changed (or, in a dry run, would); the refusals go to `done`."""
    lead_id = stored.row.id
    plan = service.renormalized(stored, default_country=default_country)
    if plan.invalid:  # those fields stay as stored; the others are renormalized
        done.invalid.append({"leadId": str(lead_id), "errors": plan.invalid})
    if not plan.changed:
        return False
    duplicate: LeadDuplicate | None = None
    if done.dry_run:
        duplicate = await service.renormalized_duplicate(tx, stored, plan)
        if duplicate is None:
            duplicate = _would_be_taken(plan.claim, lead_id, done)
    else:
        try:
            async with tx.savepoint():
                await service.apply_renormalized(tx, stored, plan)
        except LeadDuplicate as exc:  # another lead holds a new key: the savepoint undid it
            duplicate = exc
    if duplicate is not None:
        done.duplicates.append({"leadId": str(lead_id), "heldBy": duplicate.extra["duplicates"]})
        return False
    for name in [*plan.changes, *(["keys"] if plan.release or plan.claim else [])]:
        done.fields[name] = done.fields.get(name, 0) + 1
    return True


def _would_be_taken(keys: list[Key], lead_id: UUID, done: Renormalization) -> LeadDuplicate | None:
    """In a dry run: the 409 a real run would meet for a key an earlier lead of the pass would
    have claimed; else the lead's new keys are noted as claimed (a refused lead claims none)."""
    others = {k: done.would_claim[k] for k in keys if done.would_claim.get(k, lead_id) != lead_id}
    if not others:
        done.would_claim.update(dict.fromkeys(keys, lead_id))
        return None
    return LeadDuplicate(
        "Another lead of this pass would hold " + ", ".join(k.reason for k in others),
        duplicates=[
            {"id": str(i), "name": None, "reasons": [k.reason], "deleted": False}
            for k, i in others.items()
        ],
    )
