"""A workspace's stored leads brought to the current normalization rules.

Normalization changes over time: an e-mail given in punycode is now kept in Unicode, text is
trimmed of direction marks, the Public Suffix List behind `domain` is updated with the library.
A lead keeps the form it was stored in until its fields are written again, and a new record
spelled the new way does not meet it by its keys. `leedz leads renormalize` reads every lead of
a workspace (live and in the trash; not those folded into another), in batches by id, each batch
one transaction as the request role (row-level security applies), and for each lead:

- reads its API fields back through the rules a PATCH applies (`service.renormalized`), and
  computes its derived columns (search text, sort and resolution name forms) and keys again;
- writes what differs (`service.apply_renormalized`), in a savepoint: a new version, a
  FIELD_CHANGED entry of no one when a field people see changed, `lead.updated` to the sockets;
- leaves a lead unchanged, and reports it, when a new key is another lead's (the two are
  duplicates a person should merge, and the pass runs again after) or when a stored value no
  longer passes the rules.

`dry_run` reports what would change and writes nothing. A pass may run while the workspace works
(each batch locks its leads only to its commit); a second pass at once finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from leedz.audit import service as audit
from leedz.errors import ValidationFailed
from leedz.kit.db import Database, Tx
from leedz.leads import service
from leedz.leads.repository import Leads, StoredLead
from leedz.tenants import service as tenants

BATCH = 200
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


async def renormalize_tenant(
    db: Database,
    tenant_id: UUID,
    *,
    batch: int = BATCH,
    dry_run: bool = False,
    on_batch: Callable[[Renormalization], None] | None = None,
) -> Renormalization:
    done = Renormalization(tenant_id, dry_run)
    after: UUID | None = None
    while True:
        async with db.transaction(tenant_id=tenant_id) as tx:
            default_country = (await tenants.settings(tx)).default_country
            leads = await Leads(tx).stored_after(after, limit=batch, for_update=not dry_run)
            changed = [
                stored.row.id
                for stored in leads
                if await _renormalize(tx, stored, default_country=default_country, done=done)
            ]
            done.read += len(leads)
            done.changed += len(changed)
            if changed and not dry_run:
                await audit.record(
                    tx,
                    "lead.renormalized",
                    entity_type="lead",
                    details={
                        "count": len(changed),
                        "leadIds": [str(i) for i in changed[:SHOWN]],
                    },
                )
        if on_batch is not None:
            on_batch(done)
        if len(leads) < batch:
            return done
        after = leads[-1].row.id


async def _renormalize(
    tx: Tx, stored: StoredLead, *, default_country: str, done: Renormalization
) -> bool:
    """One lead: whether it changed (or, in a dry run, would); the refusals go to `done`."""
    lead_id = str(stored.row.id)
    try:
        plan = service.renormalized(stored, default_country=default_country)
    except ValidationFailed as exc:
        done.invalid.append({"leadId": lead_id, "errors": exc.extra.get("errors", [])})
        return False
    if not plan.changed:
        return False
    duplicate = await service.renormalized_duplicate(tx, stored, plan)
    if duplicate is None and not done.dry_run:
        try:
            async with tx.savepoint():
                await service.apply_renormalized(tx, stored, plan)
        except service.LeadDuplicate as exc:  # a key taken since the check
            duplicate = exc
    if duplicate is not None:
        done.duplicates.append({"leadId": lead_id, "heldBy": duplicate.extra["duplicates"]})
        return False
    for name in [*plan.changes, *(["keys"] if plan.release or plan.claim else [])]:
        done.fields[name] = done.fields.get(name, 0) + 1
    return True
