"""The field policy: what a record brings to the lead it creates or joins. Pure.

On a join (docs/resolution.md, "Field policy"):

- phones, e-mail addresses, tags and social profiles are unions (up to the lead's bounds); a
  place id fills `externalIds.googleMaps`, and a second listing's id becomes one more key;
- an empty field is filled;
- a field a person edited (`edited_fields`) is never overwritten by an agent;
- otherwise the higher confidence wins (HIGH > MEDIUM > LOW), then the newer evidence
  (`collectedAt`). A field is compared with the evidence that backs its value (the best of the
  items linked to the lead that list the field in their provenance), or with the lead's own
  confidence when no evidence backs it;
- rating and reviews count follow the newest Google Maps listing; other types only fill them;
- a website on a shared host (instagram.com/…) never replaces one with the business's own
  domain.

A value equal to the lead's (a name with the same name key, a city with the same spelling
up to case, a website with the same domain) confirms it: the field is listed in the record's
provenance, the lead's spelling stays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from leedz.evidence.models import Confidence
from leedz.leads.models import LeadKeyKind, LeadSource
from leedz.leads.normalize import InvalidWebsite, is_shared_host
from leedz.leads.record import Key, derived_after, derived_columns, name_columns
from leedz.leads.repository import LeadRow
from leedz.leads.schemas import MAX_EMAILS, MAX_PHONES, MAX_TAGS
from leedz.resolution.extract import GOOGLE_MAPS, Extracted, city_key

RANK = {Confidence.LOW: 1, Confidence.MEDIUM: 2, Confidence.HIGH: 3}
MAPS_FIELDS = frozenset({"rating", "reviewsCount"})


@dataclass(frozen=True, slots=True)
class Source:
    """The evidence item a record comes from."""

    evidence_id: UUID
    confidence: Confidence
    collected_at: datetime
    maps: bool  # a Google Maps listing

    @property
    def backer(self) -> Backer:
        return Backer(rank=RANK[self.confidence], collected_at=self.collected_at, maps=self.maps)


@dataclass(frozen=True, slots=True)
class Backer:
    """The evidence that backs a field's value: its confidence, time, and whether a listing."""

    rank: int
    collected_at: datetime
    maps: bool

    def order(self, field: str) -> tuple[Any, ...]:
        """Best first: rating fields by (listing, newest), the others by (confidence, newest)."""
        first = self.maps if field in MAPS_FIELDS else self.rank
        return (first, self.collected_at)


Backers = Mapping[str, Backer]


def backed(backers: Backers, fields: list[str], source: Source) -> dict[str, Backer]:
    """The backers once `source` supplied or confirmed `fields`."""
    out = dict(backers)
    new = source.backer
    for field in fields:
        known = out.get(field)
        if known is None or new.order(field) > known.order(field):
            out[field] = new
    return out


def best(*all_backers: Backers) -> dict[str, Backer]:
    """Field by field, the best backer of several leads' (a merge's survivor)."""
    out: dict[str, Backer] = {}
    for backers in all_backers:
        for field, backer in backers.items():
            known = out.get(field)
            if known is None or backer.order(field) > known.order(field):
                out[field] = backer
    return out


# ---------------------------------------------------------------------------------------------
# Scalar fields: (wire name, its edited_fields name, its columns, how the record gives it,
# whether the lead's value is the same)


@dataclass(frozen=True, slots=True)
class Scalar:
    field: str
    edited: str
    columns: tuple[str, ...]
    read: Callable[[Extracted], tuple[Any, ...] | None]
    same: Callable[[LeadRow, Extracted], bool]


def _one(get: Callable[[Extracted], Any]) -> Callable[[Extracted], tuple[Any, ...] | None]:
    def read(record: Extracted) -> tuple[Any, ...] | None:
        value = get(record)
        return None if value is None else (value,)

    return read


def _equal(column: str, get: Callable[[Extracted], Any]) -> Callable[[LeadRow, Extracted], bool]:
    return lambda lead, record: lead.column(column) == get(record)


def _same_name(lead: LeadRow, record: Extracted) -> bool:
    return lead.name == record.name or name_columns(lead.name)["name_key"] == record.name_key


SCALARS: tuple[Scalar, ...] = (
    Scalar("name", "name", ("name",), _one(lambda r: r.name), _same_name),
    Scalar(
        "contactName", "contact_name", ("contact_name",), _one(lambda r: r.contact_name),
        _equal("contact_name", lambda r: r.contact_name),
    ),
    Scalar(
        "category", "category", ("category",), _one(lambda r: r.category),
        _equal("category", lambda r: r.category),
    ),
    Scalar(
        "website", "website", ("website", "domain"),
        lambda r: None if r.website is None else (r.website, r.domain),
        lambda lead, r: lead.website == r.website
        or (lead.domain is not None and lead.domain == r.domain),
    ),
    Scalar(
        "address", "address", ("address",), _one(lambda r: r.address),
        _equal("address", lambda r: r.address),
    ),
    Scalar(
        "city", "city", ("city",), _one(lambda r: r.city),
        lambda lead, r: city_key(lead.city) == r.city_key,
    ),
    Scalar(
        "country", "country", ("country",), _one(lambda r: r.country),
        _equal("country", lambda r: r.country),
    ),
    Scalar(
        "location", "location", ("lat", "lng"), lambda r: r.location,
        lambda lead, r: r.location is not None and (lead.lat, lead.lng) == r.location,
    ),
    Scalar(
        "rating", "rating", ("rating",), _one(lambda r: r.rating),
        _equal("rating", lambda r: r.rating),
    ),
    Scalar(
        "reviewsCount", "reviews_count", ("reviews_count",), _one(lambda r: r.reviews_count),
        _equal("reviews_count", lambda r: r.reviews_count),
    ),
)  # fmt: skip


def _empty(lead: LeadRow, columns: tuple[str, ...]) -> bool:
    return all(lead.column(c) in (None, "") for c in columns)


def _own_domain(lead: LeadRow) -> bool:
    """The lead's website is on the business's own domain (not a shared host)."""
    if lead.domain is None:
        return False
    try:
        return not is_shared_host(lead.domain)
    except InvalidWebsite:
        return False


def _wins(spec: Scalar, lead: LeadRow, backers: Backers, source: Source) -> bool:
    """The record's value replaces the lead's (different, non-empty, not edited by a person)."""
    backer = backers.get(spec.field)
    if spec.field in MAPS_FIELDS:
        if not source.maps:
            return False
        return backer is None or not backer.maps or source.collected_at > backer.collected_at
    mine = (RANK[source.confidence], source.collected_at)
    theirs = (
        (backer.rank, backer.collected_at)
        if backer is not None
        else (RANK[lead.confidence], lead.updated_at)
    )
    return mine > theirs


# ---------------------------------------------------------------------------------------------
# Outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a record does to a lead."""

    columns: dict[str, Any]  # stored columns that change (or, on create, all of them)
    changed: list[str]  # wire fields whose value changes
    fields: list[str]  # wire fields the record supplied or confirmed (its provenance)
    claims: list[Key]  # keys the lead takes


def _sorted(fields: set[str]) -> list[str]:
    return sorted(fields)


def _free(record: Extracted, owners: Mapping[Key, UUID], lead_id: UUID | None) -> set[Key]:
    """The record's keys another lead does not hold."""
    return {k for k in record.keys if owners.get(k) in (None, lead_id)}


def create(
    record: Extracted, source: Source, owners: Mapping[Key, UUID], *, job_id: UUID,
    source_type: LeadSource,
) -> Outcome:  # fmt: skip
    """The columns of a new lead from `record` (its name present). Keys another lead holds (one
    in the trash) are left out."""
    free = _free(record, owners, None)
    phones = [p for p in record.phones if Key(LeadKeyKind.PHONE, p) in free]
    emails = [e for e in record.emails if Key(LeadKeyKind.EMAIL, e) in free]
    place = Key(LeadKeyKind.EXTERNAL, f"{GOOGLE_MAPS}:{record.place_id}")
    external = record.external_ids if place in free else {}
    columns: dict[str, Any] = {
        "name": record.name,
        "contact_name": record.contact_name,
        "category": record.category,
        "phones": phones,
        "emails": emails,
        "website": record.website,
        "domain": record.domain,
        "social_profiles": dict(record.social_profiles),
        "address": record.address,
        "city": record.city,
        "country": record.country,
        "lat": record.location[0] if record.location else None,
        "lng": record.location[1] if record.location else None,
        "rating": record.rating,
        "reviews_count": record.reviews_count,
        "external_ids": external,
        "tags": list(record.tags),
        "confidence": source.confidence,
        "source_type": source_type,
        "source_job_id": job_id,
    }
    columns |= derived_columns(columns)
    fields = {s.field for s in SCALARS if s.read(record) is not None}
    fields |= {
        name
        for name, present in (
            ("phones", phones), ("emails", emails), ("tags", record.tags),
            ("socialProfiles", record.social_profiles), ("externalIds", external),
        )
        if present
    }  # fmt: skip
    claims = [Key(LeadKeyKind.PHONE, p) for p in phones]
    claims += [Key(LeadKeyKind.EMAIL, e) for e in emails]
    claims += [place] if external else []
    return Outcome(columns=columns, changed=_sorted(fields), fields=_sorted(fields), claims=claims)


def _union(
    current: list[str], incoming: tuple[str, ...], kind: LeadKeyKind, free: set[Key], bound: int
) -> tuple[list[str], bool]:
    """(the values once the record's free ones are added within `bound`, whether any of the
    record's values is on the lead afterwards)."""
    values = list(current)
    for value in incoming:
        if value not in values and Key(kind, value) in free and len(values) < bound:
            values.append(value)
    return values, any(v in values for v in incoming)


def _union_keys(
    lead: LeadRow, record: Extracted, free: set[Key], columns: dict[str, Any], fields: set[str]
) -> list[Key]:
    """Phones and e-mail addresses: the record's free ones added (within the bounds), with
    their keys; the place id fills `externalIds.googleMaps`, its key is the lead's either way."""
    claims: list[Key] = []
    for name, kind, bound in (
        ("phones", LeadKeyKind.PHONE, MAX_PHONES),
        ("emails", LeadKeyKind.EMAIL, MAX_EMAILS),
    ):
        current: list[str] = lead.column(name)
        values, listed = _union(current, getattr(record, name), kind, free, bound)
        if values != current:
            columns[name] = values
            claims += [Key(kind, v) for v in values if v not in current]
        if listed:
            fields.add(name)
    place = Key(LeadKeyKind.EXTERNAL, f"{GOOGLE_MAPS}:{record.place_id}")
    if record.place_id and place in free:
        if GOOGLE_MAPS not in lead.external_ids:
            columns["external_ids"] = {**lead.external_ids, GOOGLE_MAPS: record.place_id}
        fields.add("externalIds")
        claims.append(place)
    return claims


def _union_labels(
    lead: LeadRow, record: Extracted, columns: dict[str, Any], fields: set[str]
) -> None:
    """Tags (compared case-insensitively) and social profiles (missing networks filled)."""
    if record.tags:
        tags = list(lead.tags)
        seen = {t.casefold() for t in tags}
        for tag in record.tags:
            if tag.casefold() not in seen and len(tags) < MAX_TAGS:
                seen.add(tag.casefold())
                tags.append(tag)
        if tags != lead.tags:
            columns["tags"] = tags
        if any(t.casefold() in seen for t in record.tags):
            fields.add("tags")
    if record.social_profiles:
        social = dict(lead.social_profiles)
        missing = {k: v for k, v in record.social_profiles.items() if k not in social}
        if missing:
            columns["social_profiles"] = social | missing
        if missing or any(social.get(k) == v for k, v in record.social_profiles.items()):
            fields.add("socialProfiles")


def join(
    lead: LeadRow, backers: Backers, record: Extracted, source: Source,
    owners: Mapping[Key, UUID],
) -> Outcome:  # fmt: skip
    """What `record` changes on `lead` under the field policy (module docstring)."""
    columns: dict[str, Any] = {}
    changed: set[str] = set()
    fields: set[str] = set()
    for spec in SCALARS:
        values = spec.read(record)
        if values is None:
            continue
        if not _empty(lead, spec.columns) and spec.same(lead, record):
            fields.add(spec.field)
            continue
        if not _empty(lead, spec.columns):
            if spec.edited in lead.edited_fields or not _wins(spec, lead, backers, source):
                continue
            if spec.field == "website" and record.identity_domain is None and _own_domain(lead):
                continue
        columns |= dict(zip(spec.columns, values, strict=True))
        changed.add(spec.field)
        fields.add(spec.field)
    free = _free(record, owners, lead.id)
    claims = _union_keys(lead, record, free, columns, fields)
    _union_labels(lead, record, columns, fields)
    changed |= {_wire(c) for c in columns}
    if RANK[source.confidence] > RANK[lead.confidence]:
        columns["confidence"] = source.confidence
    columns |= derived_after(columns, lead.column)
    claims = [k for k in claims if owners.get(k) != lead.id]
    return Outcome(columns=columns, changed=_sorted(changed), fields=_sorted(fields), claims=claims)


_WIRE = {
    "contact_name": "contactName", "social_profiles": "socialProfiles", "domain": "website",
    "lat": "location", "lng": "location", "reviews_count": "reviewsCount",
    "external_ids": "externalIds",
}  # fmt: skip


def _wire(column: str) -> str:
    return _WIRE.get(column, column)
