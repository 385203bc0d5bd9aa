"""Leads: created with normalized fields and unique keys, read, changed under optimistic
concurrency, sent to the trash and back. Every change leaves a timeline entry; creations,
owner and status changes, deletions and restorations an audit row, in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from leedz.access.context import Actor
from leedz.access.permissions import Permission
from leedz.access.repository import role_in_tenant
from leedz.access.roles import Role
from leedz.audit import service as audit
from leedz.errors import Conflict, Forbidden, LeedzError, NotFound, QuotaExceeded, ValidationFailed
from leedz.kit.db import Tx
from leedz.kit.pagination import Page, decode_cursor, next_cursor
from leedz.kit.sanitize import plain_text
from leedz.leads.events import LeadChange, LeadChanged
from leedz.leads.models import ActivityType, LeadKeyKind, LeadSource
from leedz.leads.normalize import (
    InvalidEmail,
    InvalidPhone,
    UnknownCountry,
    normalize_email,
    normalize_phone,
)
from leedz.leads.record import (
    DERIVED_FROM,
    Key,
    derived_after,
    derived_columns,
    external_keys,
    identity_keys,
    phones_e164,
    website_and_domain,
)
from leedz.leads.repository import (
    Activities,
    ActivityEntry,
    KeyOwner,
    LeadKeys,
    LeadRow,
    Leads,
    Limited,
    StoredLead,
)
from leedz.leads.schemas import (
    ActivityOut,
    DuplicateRef,
    LeadCreate,
    LeadCreatedOut,
    LeadFields,
    LeadOut,
    LeadSourceOut,
    LeadUpdate,
    Location,
    NoteCreate,
)
from leedz.plans.repository import PlanLimitsRow
from leedz.tenants import service as tenants


class LeadDuplicate(Conflict):
    code, title = "lead_duplicate", "Lead already exists"


class VersionConflict(LeedzError):
    status, code, title = 412, "version_conflict", "The lead changed since you read it"


class OwnerNotMember(ValidationFailed):
    code, title = "owner_not_member", "Owner is not a member"


class LeadNotInTrash(Conflict):
    code, title = "lead_not_deleted", "Lead is not in the trash"


# Fields whose change has its own timeline entry and audit row.
_OWN_ENTRY = {"status": ActivityType.STATUS_CHANGED, "owner_id": ActivityType.OWNER_CHANGED}


# ---------------------------------------------------------------------------------------------
# Who sees what


def sees_all_leads(role: Role, *, sales_see_all_leads: bool) -> bool:
    """Whether a member with `role` sees every lead of the tenant (else: their own and the
    unassigned ones). The rule of the `sales_visibility` policy; the gateway follows it too."""
    return role is not Role.SALES or sales_see_all_leads


async def visible_to(tx: Tx, actor: Actor) -> UUID | None:
    """The user whose own (and unassigned) leads are all `actor` may see, or None for every
    lead: a SALES member while the tenant's `salesSeeAllLeads` is off sees only their own."""
    if actor.role is not Role.SALES:
        return None
    settings = await tenants.settings(tx)
    sees_all = sees_all_leads(actor.role, sales_see_all_leads=settings.sales_see_all_leads)
    return None if sees_all else actor.user_id


async def _lead(tx: Tx, actor: Actor, lead_id: UUID, *, for_update: bool = False) -> LeadRow:
    """The lead if the actor may see it (live or in the trash), else 404."""
    row = await Leads(tx).get(
        lead_id, visible_to=await visible_to(tx, actor), for_update=for_update
    )
    if row is None:
        raise NotFound("No such lead")
    return row


# ---------------------------------------------------------------------------------------------
# Shapes


# LeadOut's fields that are LeadRow's as they are; `location` and `source` are composed.
_COMPOSED = frozenset({"location", "source"})
_AS_STORED = tuple(name for name in LeadOut.model_fields if name not in _COMPOSED)
if missing := set(_AS_STORED) - set(LeadRow.__slots__):  # a field added to one and not the other
    raise TypeError(f"LeadOut fields LeadRow lacks: {sorted(missing)}")


def _out_fields(row: LeadRow) -> dict[str, Any]:
    """LeadOut's fields of a row (LeadCreatedOut adds its own)."""
    return {
        **{name: getattr(row, name) for name in _AS_STORED},
        "location": Location(lat=row.lat, lng=row.lng)
        if row.lat is not None and row.lng is not None
        else None,
        "source": LeadSourceOut(type=row.source_type, job_id=row.source_job_id),
    }


def lead_out(row: LeadRow) -> LeadOut:
    return LeadOut(**_out_fields(row))


def _payload(row: LeadRow) -> dict[str, Any]:
    return lead_out(row).model_dump(mode="json", by_alias=True)


def publish_change(
    tx: Tx,
    row: LeadRow,
    change: LeadChange,
    *,
    previous_owner_id: UUID | None = None,
    merged_ids: Sequence[UUID] = (),
    payload: dict[str, Any] | None = None,
) -> None:
    """`LeadChanged` for the lead as `row` now is, published when `tx` commits (every writer of
    leads tells the sockets through this: the payload is the API's lead). `payload`: the lead on
    the wire when the caller already has it (else built here)."""
    tx.publish(
        LeadChanged(
            tenant_id=tx.current_tenant,
            lead_id=row.id,
            change=change,
            owner_id=row.owner_id,
            payload=_payload(row) if payload is None else payload,
            previous_owner_id=previous_owner_id,
            merged_ids=tuple(merged_ids),
        )
    )


def _duplicates(owners: list[KeyOwner]) -> list[DuplicateRef]:
    by_lead: dict[UUID, DuplicateRef] = {}
    for owner in owners:
        ref = by_lead.setdefault(
            owner.lead_id,
            DuplicateRef(id=owner.lead_id, name=owner.name, reasons=[], deleted=owner.deleted),
        )
        ref.reasons.append(Key(owner.kind, owner.value).reason)
    return list(by_lead.values())


def _duplicate_error(owners: list[KeyOwner]) -> LeadDuplicate:
    refs = _duplicates(owners)
    return LeadDuplicate(
        f"A lead already holds {', '.join(r for d in refs for r in d.reasons)}",
        duplicates=[d.model_dump(mode="json", by_alias=True) for d in refs],
    )


# ---------------------------------------------------------------------------------------------
# Columns from fields


def _columns(fields: Mapping[str, Any], *, default_country: str) -> dict[str, Any]:
    """Stored columns for the given (already shape-checked) fields; phones to E.164, website to
    its domain. Only the fields present are returned (a PATCH passes a subset)."""
    columns: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "location":
            columns["lat"] = value["lat"] if value else None
            columns["lng"] = value["lng"] if value else None
        elif name == "social_profiles":
            columns[name] = {k: v for k, v in (value or {}).items() if v}
        elif name == "phones":
            columns[name] = phones_e164(
                value or [], country=fields.get("country"), default_country=default_country
            )
        elif name == "website":
            columns["website"], columns["domain"] = website_and_domain(value)
        elif name in {"emails", "tags"}:
            columns[name] = list(value or [])
        elif name in {"external_ids", "custom_fields"}:
            columns[name] = dict(value or {})
        else:
            columns[name] = value
    return columns


def _keys_of(columns: Mapping[str, Any]) -> list[Key]:
    return identity_keys(
        columns.get("phones") or [], columns.get("emails") or [], columns.get("external_ids") or {}
    )


def _by_kind(keys: Iterable[Key]) -> list[Key]:
    """In the order keys are locked in (kind, then value): writers never deadlock each other."""
    return sorted(keys, key=lambda k: (k.kind.value, k.value))


async def _check_owner(tx: Tx, actor: Actor, owner_id: UUID | None, current: UUID | None) -> None:
    """`leads:assign` sets any member; without it a member may only take an unassigned lead
    (or one of theirs) for themselves, or let go of their own."""
    if owner_id == current:
        return
    if not actor.can(Permission.LEADS_ASSIGN):
        own_move = current in (None, actor.user_id) and owner_id in (None, actor.user_id)
        if not own_move:
            raise Forbidden(
                f"Your role ({actor.role.value}) lacks the permission"
                f" {Permission.LEADS_ASSIGN.value}: you may only take a lead for yourself",
                permission=Permission.LEADS_ASSIGN.value,
            )
    if owner_id is not None and await role_in_tenant(tx, owner_id) is None:
        raise OwnerNotMember("ownerId is not a member of this workspace", field="ownerId")


async def _check_quota(tx: Tx, leads: Leads, plan: PlanLimitsRow, keys: list[Key]) -> None:
    """402 `quota_exceeded` when the lead would pass the plan's `maxLeads` (a 409 first, when a
    key is another lead's: a duplicate is not a lead more). From here to the commit the
    tenant's creations wait for this one: two near the limit cannot both pass."""
    if plan.max_leads is None:
        return
    used = await leads.count_for_quota(serialize=True)
    if used + 1 > plan.max_leads:
        owners = await LeadKeys(tx).owners(keys)
        if owners:
            raise _duplicate_error(owners)
        raise QuotaExceeded(
            f"The {plan.name} plan allows {plan.max_leads} leads",
            quota="leads",
            limit=plan.max_leads,
            used=used,
        )


# ---------------------------------------------------------------------------------------------
# Create, read


def _needs_default_country(fields: Mapping[str, Any]) -> bool:
    """Whether the tenant's default country may decide a phone's country: a phone on a lead
    that has no country of its own."""
    return bool(fields.get("phones")) and not fields.get("country")


async def create(tx: Tx, actor: Actor, body: LeadCreate) -> LeadCreatedOut:
    """A lead typed in by a person. 409 `lead_duplicate` when a key is another lead's;
    name-only look-alikes are created and named in `possibleDuplicates`."""
    fields = body.model_dump()
    # The tenant's settings and plan: read first when a phone needs its default country, else
    # by the creating statement itself (one round trip less).
    known = await tenants.settings_and_plan(tx) if _needs_default_country(fields) else None
    # Without `known`, every phone is read in the lead's own country.
    default_country = known[0].default_country if known else fields.get("country") or ""
    columns = _columns(fields, default_country=default_country)
    await _check_owner(tx, actor, columns.get("owner_id"), None)
    leads = Leads(tx)
    keys = _keys_of(columns)
    if known is not None:
        await _check_quota(tx, leads, known[1], keys)
    columns |= derived_columns(columns)
    columns |= {
        "source_type": LeadSource.MANUAL,
        "created_by_id": actor.user_id,
        "edited_fields": sorted(body.model_fields_set & set(LeadFields.model_fields)),
    }
    # The lead, its keys, its timeline entry, its audit row and its look-alikes in one
    # statement. A key another lead holds (since long, or taken by a concurrent writer an
    # instant ago: the claim decides) rolls the whole transaction back with the 409.
    entries: dict[str, Any] = {
        "activity": ActivityEntry(
            ActivityType.CREATED, actor_user_id=actor.user_id, details={"source": "MANUAL"}
        ),
        "audit": audit.entry(
            "lead.created", actor=actor, entity_type="lead", details={"source": "MANUAL"}
        ),
    }
    if known is not None:
        created = await leads.create(columns, keys, **entries)
    else:
        attempt = await leads.create_unless_limited(columns, keys, **entries)
        if isinstance(attempt, Limited):  # nothing written: count under the lock first
            await _check_quota(tx, leads, attempt.plan, keys)
            attempt = await leads.create(columns, keys, **entries)
        created = attempt
    row = created.row
    if created.lost:
        raise _duplicate_error(await LeadKeys(tx).owners(created.lost, exclude=row.id))
    out = LeadCreatedOut(
        **_out_fields(row),
        possible_duplicates=[
            DuplicateRef(id=la.id, name=la.name, reasons=["name"]) for la in created.look_alikes
        ],
    )
    payload = out.model_dump(mode="json", by_alias=True, exclude={"possible_duplicates"})
    publish_change(tx, row, LeadChange.CREATED, payload=payload)
    return out


async def get(tx: Tx, actor: Actor, lead_id: UUID) -> LeadOut:
    return lead_out(await _lead(tx, actor, lead_id))


# ---------------------------------------------------------------------------------------------
# Update


# An ETag of ours: `"3"`, weak `W/"3"`, or the bare `3`; ASCII digits without a leading zero,
# balanced quotes (int() alone would also read `"3`, `+3`, `03`, `1_0` or `٣` as a version).
_ETAG = re.compile(r'(?:W/)?"([1-9][0-9]{0,17})"|([1-9][0-9]{0,17})')


def _expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` header names (`"3"`, `W/"3"`, `3`), None for absent or `*`."""
    if if_match is None:
        return None
    value = if_match.strip()
    if value == "*":
        return None
    match = _ETAG.fullmatch(value)
    if match is None:
        raise VersionConflict("If-Match must be the lead's ETag, as GET answered it")
    return int(match.group(1) or match.group(2))


def _changes(row: LeadRow, columns: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    changed: dict[str, tuple[Any, Any]] = {}
    for name, value in columns.items():
        before = row.column(name)
        if hasattr(before, "value"):
            before = before.value
        after = value.value if hasattr(value, "value") else value
        if before != after:
            changed[name] = (before, after)
    return changed


async def update(
    tx: Tx, actor: Actor, lead_id: UUID, body: LeadUpdate, *, if_match: str | None
) -> LeadOut:
    """Change the fields present in `body`. 412 `version_conflict` when `If-Match` names a
    version that is no longer the lead's; keys another lead holds are a 409."""
    expected = _expected_version(if_match)
    row = await _lead(tx, actor, lead_id, for_update=True)
    if not row.live:
        raise NotFound("No such lead (it is in the trash: restore it first)")
    if expected is not None and expected != row.version:
        raise VersionConflict(
            f"The lead is at version {row.version}, not {expected}: read it again",
            version=row.version,
        )
    present = body.model_fields_set
    fields = {name: value for name, value in body.model_dump().items() if name in present}
    if "phones" in fields and "country" not in fields:
        fields["country"] = row.country
    settings = await tenants.settings(tx)
    columns = _columns(fields, default_country=settings.default_country)
    if "country" not in present:
        columns.pop("country", None)
    changes = _changes(row, columns)
    if not changes:
        return lead_out(row)
    if "owner_id" in changes:
        await _check_owner(tx, actor, columns["owner_id"], row.owner_id)
    keys = LeadKeys(tx)
    if {"phones", "emails", "external_ids"} & changes.keys():
        merged = {
            "phones": columns.get("phones", row.phones),
            "emails": columns.get("emails", row.emails),
            "external_ids": columns.get("external_ids", row.external_ids),
        }
        wanted = set(_keys_of(merged))
        # Released: the keys of the values the PATCH removes. Not every key the columns do not
        # show: a merge gave the survivor the merged leads' keys, and resolution a second
        # listing's place id, so that the same business does not come back as a new lead.
        dropped = set(_keys_of({name: row.column(name) for name in merged})) - wanted
        held = set(await keys.of_lead(row.id))
        await keys.release(row.id, _by_kind(held & dropped))
        lost = await keys.claim(row.id, _by_kind(wanted - held))
        if lost:
            raise _duplicate_error(await keys.owners(lost, exclude=row.id))
    if DERIVED_FROM & changes.keys():  # changed, not only written again
        columns |= derived_after(columns, row.column)
    edited = set(row.edited_fields) | {f for f in present if f in LeadFields.model_fields}
    columns["edited_fields"] = sorted(edited)
    updated = await Leads(tx).update(row.id, {k: columns[k] for k in columns})
    await _record_changes(tx, actor, updated, changes)
    publish_change(tx, updated, LeadChange.UPDATED, previous_owner_id=row.owner_id)
    return lead_out(updated)


_HIDDEN_FROM_TIMELINE = frozenset({"search_text", "name_sort", "name_key", "edited_fields"})


def _wire_changes(
    row: LeadRow, changes: Mapping[str, tuple[Any, Any]]
) -> dict[str, dict[str, Any]]:
    """A FIELD_CHANGED entry's `fields`, named as on the wire (`contactName`): `lat` and `lng`
    are one `location`, `{lat, lng}` or None on either side."""
    fields: dict[str, dict[str, Any]] = {}
    for name, (before, after) in changes.items():
        if name in _HIDDEN_FROM_TIMELINE or name in _OWN_ENTRY:
            continue
        if name in {"lat", "lng"}:
            if "location" not in fields:
                old = {c: changes[c][0] if c in changes else row.column(c) for c in ("lat", "lng")}
                new = {c: row.column(c) for c in ("lat", "lng")}
                fields["location"] = {
                    "from": old if old["lat"] is not None else None,
                    "to": new if new["lat"] is not None else None,
                }
            continue
        fields[to_camel(name)] = {"from": before, "to": after}
    return fields


async def _record_changes(
    tx: Tx, actor: Actor, row: LeadRow, changes: Mapping[str, tuple[Any, Any]]
) -> None:
    activities = Activities(tx)
    for name, (before, after) in changes.items():
        entry = _OWN_ENTRY.get(name)
        if entry is None:
            continue
        await activities.add(
            row.id, entry, actor_user_id=actor.user_id, details={"from": before, "to": after}
        )
        await audit.record(
            tx, f"lead.{'status' if name == 'status' else 'owner'}_changed", actor=actor,
            entity_type="lead", entity_id=row.id,
            details={"from": str(before) if before else None, "to": str(after) if after else None},
        )  # fmt: skip
    plain = _wire_changes(row, changes)
    if plain:
        await activities.add(
            row.id,
            ActivityType.FIELD_CHANGED,
            actor_user_id=actor.user_id,
            details={"fields": plain},
        )


# ---------------------------------------------------------------------------------------------
# A stored lead under the current rules (leads/renormalize.py)

# LeadFields' fields, and their wire names (`contactName`): what a stored lead is read back as.
_FIELD_ALIASES = tuple(
    (name, field.alias or name) for name, field in LeadFields.model_fields.items()
)


@dataclass(frozen=True, slots=True)
class Renormalized:
    """What the current rules make of a stored lead: the columns that differ (`changes`, as
    stored and as they would be now, derived columns included; `columns`, the write), the keys
    to release and to claim, and the stored values the rules refuse (`invalid`: those fields
    are left as they are)."""

    changes: dict[str, tuple[Any, Any]]
    columns: dict[str, Any]
    release: list[Key]
    claim: list[Key]
    invalid: list[dict[str, Any]]

    @property
    def changed(self) -> bool:
        return bool(self.columns or self.release or self.claim)


class _Refused(Exception):
    """A stored field the rules refuse: its errors, `loc` from the field's wire name."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


# The fields a merge may make longer than a PATCH may send (folding joins them without a cap).
_JOINED_BY_MERGES = frozenset({"phones", "emails", "tags", "external_ids", "custom_fields"})


def _field_now(name: str, alias: str, value: Any) -> Any:
    """A field as a PATCH of it alone would store it; `_Refused` if the rules refuse it. A
    list or an object a merge made longer than a PATCH may send is validated an element at a
    time: its elements are held to the rules, its length is not."""
    try:
        return LeadUpdate.model_validate({alias: value}).model_dump(include={name})[name]
    except ValidationError as exc:
        refused = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
    if name not in _JOINED_BY_MERGES or not isinstance(value, list | dict) or len(value) < 2:
        raise _Refused(refused)
    parts: list[Any] = []
    errors: list[dict[str, Any]] = []
    for at, element in enumerate(value) if isinstance(value, list) else value.items():
        try:
            parts.append(
                _field_now(name, alias, [element] if isinstance(value, list) else {at: element})
            )
        except _Refused as one:  # its position in the whole, not in a list of one
            errors += [{**e, "loc": [alias, at, *e["loc"][2:]]} for e in one.errors]
    if errors:
        raise _Refused(errors)
    if isinstance(value, dict):
        return {k: v for part in parts for k, v in part.items()}
    seen: dict[str, Any] = {}  # unique as the whole list's validators make it (tags: any case)
    for item in (item for part in parts for item in part):
        seen.setdefault(item.casefold() if name == "tags" else item, item)
    return list(seen.values())


def _columns_now(
    fields: Mapping[str, Any], row: LeadRow, *, default_country: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`_columns` field by field: a phone or a website the rules refuse now (no longer a
    number, a URL with credentials) leaves that field as stored, reported, and not the rest."""
    columns: dict[str, Any] = {}
    refused: list[dict[str, Any]] = []
    for name, value in fields.items():
        one = {name: value}
        if name == "phones":  # parsed in the lead's country, as a PATCH of phones is
            one["country"] = fields.get("country", row.country)
        try:
            part = _columns(one, default_country=default_country)
        except ValidationFailed as exc:  # its `loc` as the schema's: from the field, no "body"
            refused += [
                {**e, "loc": [to_camel(name), *e["loc"][2:]]}
                for e in exc.extra.get("errors")
                or [{"loc": [], "msg": exc.detail, "type": exc.code}]
            ]
            continue
        if name != "country":
            part.pop("country", None)  # the phones' context, not a write
        columns |= part
    return columns, refused


def _key_now(key: Key, *, default_country: str) -> Key | None:
    """A held key as the rules spell it now; None when they refuse it."""
    try:
        if key.kind is LeadKeyKind.EMAIL:
            return Key(key.kind, normalize_email(key.value))
        if key.kind is LeadKeyKind.PHONE:
            return Key(
                key.kind, normalize_phone(key.value, country=None, default_country=default_country)
            )
        system, _, ident = key.value.partition(":")
        now = external_keys(_field_now("external_ids", "externalIds", {system: ident}))
    except (InvalidEmail, InvalidPhone, UnknownCountry, _Refused):
        return None
    return now[0] if now else None


def renormalized(stored: StoredLead, *, default_country: str) -> Renormalized:
    """The stored lead read back as its API fields, each validated again as a PATCH of it
    would be (e-mails, phones, website and domain, text as the rules now spell them), and its
    derived columns and keys computed again from that. A field the rules refuse is left as
    stored and listed in `invalid`.

    Keys: the lead claims every key its fields now give, and releases a held key only when it
    is the old spelling of one of those. It keeps the others: a merge moves the merged leads'
    keys to the survivor and resolution gives a lead a second listing's place id, neither of
    which its columns show."""
    row = stored.row
    wire = lead_out(row).model_dump(mode="json", by_alias=True)
    fields: dict[str, Any] = {}
    invalid: list[dict[str, Any]] = []
    for name, alias in _FIELD_ALIASES:
        try:
            fields[name] = _field_now(name, alias, wire[alias])
        except _Refused as exc:
            invalid += exc.errors
    columns, refused = _columns_now(fields, row, default_country=default_country)
    invalid += refused
    changes = _changes(row, columns)
    after = {name: columns.get(name, row.column(name)) for name in (*DERIVED_FROM, "external_ids")}
    derived = derived_columns(after)
    for name, value in derived.items():
        if stored.derived[name] != value:
            changes[name] = (stored.derived[name], value)
    writes = {name: (columns | derived)[name] for name in changes}
    wanted, held = set(_keys_of(after)), set(stored.held)
    superseded = [
        key for key in held - wanted if _key_now(key, default_country=default_country) in wanted
    ]
    return Renormalized(changes, writes, _by_kind(superseded), _by_kind(wanted - held), invalid)


async def renormalized_duplicate(
    tx: Tx, stored: StoredLead, plan: Renormalized
) -> LeadDuplicate | None:
    """The 409 writing `plan` would meet now: another lead holds a key the lead would claim
    (a dry run's check; a real run learns it from `apply_renormalized`'s claim)."""
    owners = await LeadKeys(tx).owners(plan.claim, exclude=stored.row.id)
    return _duplicate_error(owners) if owners else None


async def apply_renormalized(tx: Tx, stored: StoredLead, plan: Renormalized) -> LeadRow:
    """Write `plan` (from `renormalized`): keys first, 409 `lead_duplicate` when another lead
    holds one of the new ones (the caller's savepoint undoes the rest); a new version, no new
    activity time; a FIELD_CHANGED entry of no one, naming the fields people see."""
    row = stored.row
    keys = LeadKeys(tx)
    await keys.release(row.id, plan.release)
    lost = await keys.claim(row.id, plan.claim)
    if lost:
        raise _duplicate_error(await keys.owners(lost, exclude=row.id))
    if not plan.columns:
        return row
    updated = await Leads(tx).update(row.id, plan.columns, activity=False)
    fields = _wire_changes(updated, plan.changes)
    if fields:
        await Activities(tx).add(
            row.id,
            ActivityType.FIELD_CHANGED,
            actor_user_id=None,
            details={"fields": fields, "renormalized": True},
        )
    if updated.live:  # as for a member leaving: the lists show no lead in the trash
        publish_change(tx, updated, LeadChange.UPDATED, previous_owner_id=row.owner_id)
    return updated


# ---------------------------------------------------------------------------------------------
# A member leaves


async def unassign_member(tx: Tx, actor: Actor, user_id: UUID) -> int:
    """Unassign every lead `user_id` owns (live or in the trash) as they leave the tenant or
    are removed, before their membership goes: each lead a new version, an OWNER_CHANGED entry
    and an owner-change audit row with `actor` (who removes them, or who leaves), and a
    `lead:updated` for the live ones. (The foreign key's ON DELETE SET NULL would unassign them
    too, silently.) The number of leads unassigned."""
    details = {"from": str(user_id), "to": None}
    rows = await Leads(tx).unassign(
        user_id,
        activity=ActivityEntry(
            ActivityType.OWNER_CHANGED, actor_user_id=actor.user_id, details=details
        ),
        audit=audit.entry("lead.owner_changed", actor=actor, entity_type="lead", details=details),
    )
    for row in rows:
        if row.live:
            publish_change(tx, row, LeadChange.UPDATED, previous_owner_id=user_id)
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Trash


async def delete(tx: Tx, actor: Actor, lead_id: UUID) -> None:
    """To the trash: out of every list and count, restorable until purged (30 days)."""
    row = await _lead(tx, actor, lead_id, for_update=True)
    if row.deleted_at is not None:
        return
    deleted = await Leads(tx).set_deleted(row.id, deleted=True)
    await Activities(tx).add(row.id, ActivityType.DELETED, actor_user_id=actor.user_id)
    await audit.record(tx, "lead.deleted", actor=actor, entity_type="lead", entity_id=row.id)
    publish_change(tx, deleted, LeadChange.DELETED)


async def restore(tx: Tx, actor: Actor, lead_id: UUID) -> LeadOut:
    """Back from the trash, with its keys, lists and timeline."""
    row = await _lead(tx, actor, lead_id, for_update=True)
    if row.deleted_at is None:
        raise LeadNotInTrash("The lead is not in the trash")
    restored = await Leads(tx).set_deleted(row.id, deleted=False)
    await Activities(tx).add(row.id, ActivityType.RESTORED, actor_user_id=actor.user_id)
    await audit.record(tx, "lead.restored", actor=actor, entity_type="lead", entity_id=row.id)
    publish_change(tx, restored, LeadChange.UPDATED, previous_owner_id=restored.owner_id)
    return lead_out(restored)


# ---------------------------------------------------------------------------------------------
# Timeline


async def activities(
    tx: Tx, actor: Actor, lead_id: UUID, *, limit: int, cursor: str | None
) -> Page[ActivityOut]:
    """The lead's timeline, newest first."""
    await _lead(tx, actor, lead_id)
    rows = await Activities(tx).page(
        lead_id, limit=limit, before=decode_cursor(cursor) if cursor else None
    )
    return Page[ActivityOut](
        items=[ActivityOut.model_validate(r) for r in rows[:limit]],
        next_cursor=next_cursor([(r.created_at, r.id) for r in rows], limit),
    )


async def add_note(tx: Tx, actor: Actor, lead_id: UUID, body: NoteCreate) -> ActivityOut:
    """A note on the lead's timeline (plain text: markup is stripped)."""
    row = await _lead(tx, actor, lead_id)
    if not row.live:
        raise NotFound("No such lead (it is in the trash: restore it first)")
    text = plain_text(body.body)
    if not text.strip():
        raise ValidationFailed("The note is empty once markup is removed", field="body")
    activity = await Activities(tx).add(
        row.id, ActivityType.NOTE, actor_user_id=actor.user_id, body=text
    )
    await Leads(tx).touch(row.id)
    return ActivityOut.model_validate(activity)
