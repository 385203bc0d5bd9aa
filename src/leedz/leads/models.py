"""Leads, their identity keys, timeline, lists, merges and provenance.

A lead's phones, emails and external ids are mirrored, one row each, in `lead_keys`, whose
primary key `(tenant_id, kind, value)` makes each key belong to at most one lead of a tenant:
two writers racing to create the same business meet on that constraint, never as two leads.
`search_text` and `name_sort` are written by the service from leads/normalize.py (the database
never normalizes): `search_text` carries the normalized name, contact name, emails, domain and
phone digits; a copy of it in `lead_search` (LeadSearchText) is behind the trigram index that
substring search uses.

A lead in the trash has `deleted_at`; a lead folded into another by a merge has
`merged_into_id` (its row stays, so the merge can be undone). Neither shows in lists or counts.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from leedz.evidence.models import Confidence, confidence_enum
from leedz.kit.models import Base, TenantOwned, created_at, time_ordered_pk, updated_at, uuid_pk
from leedz.kit.models import created_at as _now_on_insert


class LeadStatus(enum.StrEnum):
    NEW = "NEW"
    CONTACTED = "CONTACTED"
    QUALIFIED = "QUALIFIED"
    WON = "WON"
    LOST = "LOST"


class LeadSource(enum.StrEnum):
    SEARCH = "SEARCH"
    SURVEY = "SURVEY"
    IMPORT = "IMPORT"
    MANUAL = "MANUAL"


class LeadKeyKind(enum.StrEnum):
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    EXTERNAL = "EXTERNAL"  # value "<system>:<id>", e.g. "googleMaps:ChIJ…"


class ActivityType(enum.StrEnum):
    NOTE = "NOTE"
    CREATED = "CREATED"
    FIELD_CHANGED = "FIELD_CHANGED"
    STATUS_CHANGED = "STATUS_CHANGED"
    OWNER_CHANGED = "OWNER_CHANGED"
    EVIDENCE_JOINED = "EVIDENCE_JOINED"
    MERGED = "MERGED"
    UNMERGED = "UNMERGED"
    DELETED = "DELETED"
    RESTORED = "RESTORED"
    LISTED = "LISTED"
    UNLISTED = "UNLISTED"
    IMPORTED = "IMPORTED"
    EXPORTED = "EXPORTED"
    MESSAGED = "MESSAGED"


class ListKind(enum.StrEnum):
    STATIC = "STATIC"
    DYNAMIC = "DYNAMIC"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


lead_status_enum = _enum(LeadStatus, "lead_status")
lead_source_enum = _enum(LeadSource, "lead_source")
lead_key_kind_enum = _enum(LeadKeyKind, "lead_key_kind")
activity_type_enum = _enum(ActivityType, "lead_activity_type")
list_kind_enum = _enum(ListKind, "list_kind")

_EMPTY_ARRAY = text("'{}'::text[]")
_EMPTY_OBJECT = text("'{}'::jsonb")


def _lead_fk(column: str = "lead_id") -> ForeignKeyConstraint:
    """A lead of the row's own tenant, never across; the row goes with the lead."""
    return ForeignKeyConstraint(
        ["tenant_id", column], ["leads.tenant_id", "leads.id"], ondelete="CASCADE"
    )


class Lead(TenantOwned, Base):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        # The owner is a member of the lead's tenant; when they leave, the lead is unassigned.
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["memberships.tenant_id", "memberships.user_id"],
            ondelete="SET NULL (owner_id)",
        ),
        CheckConstraint("rating IS NULL OR (rating >= 0 AND rating <= 5)", name="rating_range"),
        CheckConstraint("reviews_count IS NULL OR reviews_count >= 0", name="reviews_count_range"),
        CheckConstraint("country IS NULL OR country ~ '^[A-Z]{2}$'", name="country_code"),
        CheckConstraint("(lat IS NULL) = (lng IS NULL)", name="location_whole"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Keyset pagination: one index per sort, (tenant, key, id).
        Index(None, "tenant_id", "created_at", "id"),
        Index(None, "tenant_id", "updated_at", "id"),
        Index(None, "tenant_id", "last_activity_at", "id"),
        Index(None, "tenant_id", "name_sort", "id"),
        Index(None, "tenant_id", "rating", "id"),
        Index(None, "tenant_id", "owner_id"),
        Index(None, "tenant_id", "status"),
        # Look-alikes and rule 5: a name in a city (migration 20261202_0900).
        Index(None, "tenant_id", "name_key", "city_key"),
        # Rule 5 for a record with phones: the live leads of its name and city that have none
        # (migration 20261202_1930); those sharing a phone are found by their keys.
        Index(
            None,
            "tenant_id",
            "name_key",
            "city_key",
            "created_at",
            "id",
            postgresql_where=text(
                "cardinality(phones) = 0 AND deleted_at IS NULL AND merged_into_id IS NULL"
            ),
        ),
        Index(None, "tenant_id", "deleted_at", postgresql_where=text("deleted_at IS NOT NULL")),
        Index("ix_leads_tags", "tags", postgresql_using="gin"),
        # Duplicate suggestions (merges/): names close to a lead's, leads with its domain.
        Index(None, "tenant_id", "domain"),
    )

    id: Mapped[uuid.UUID] = time_ordered_pk()
    name: Mapped[str] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(200))
    phones: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default=_EMPTY_ARRAY)
    emails: Mapped[list[str]] = mapped_column(ARRAY(String(320)), server_default=_EMPTY_ARRAY)
    website: Mapped[str | None] = mapped_column(String(2048))
    domain: Mapped[str | None] = mapped_column(String(253))
    social_profiles: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=_EMPTY_OBJECT)
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(120))
    # The compared city (trimmed, lower case), kept by PostgreSQL: `city_key = $1` is leakproof,
    # so an index can answer it under row-level security, where `lower(city)` cannot be.
    city_key: Mapped[str | None] = mapped_column(
        Text, Computed("lower(btrim(city::text))", persisted=True)
    )
    country: Mapped[str | None] = mapped_column(String(2))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    rating: Mapped[float | None] = mapped_column(Float)
    reviews_count: Mapped[int | None] = mapped_column(Integer)
    external_ids: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=_EMPTY_OBJECT)
    status: Mapped[LeadStatus] = mapped_column(
        lead_status_enum, server_default=LeadStatus.NEW.value
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default=_EMPTY_ARRAY)
    do_not_contact: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=_EMPTY_OBJECT)
    confidence: Mapped[Confidence] = mapped_column(
        confidence_enum, server_default=Confidence.MEDIUM.value
    )
    source_type: Mapped[LeadSource] = mapped_column(lead_source_enum)
    source_job_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    # Fields a person set by hand: an agent's later reading never overwrites them.
    edited_fields: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=_EMPTY_ARRAY)
    search_text: Mapped[str] = mapped_column(Text, server_default=text("''"))
    name_sort: Mapped[str] = mapped_column(String(300), server_default=text("''"))
    name_key: Mapped[str] = mapped_column(String(300), server_default=text("''"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    last_activity_at: Mapped[datetime] = _now_on_insert()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))


class LeadKey(Base):
    """One identity key (E.164 phone, compared email, `system:id`) of one lead."""

    __tablename__ = "lead_keys"
    __table_args__ = (
        _lead_fk(),
        Index(None, "tenant_id", "lead_id"),
        # Lookups by value: `kind` is an enum, and enum_eq is not leakproof, so under RLS the
        # primary key cannot serve them (migration 20261201_1650).
        Index(None, "tenant_id", "value"),
    )

    # The primary key (tenant_id, kind, value): a key is unique per tenant, not across.
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        PG_UUID(as_uuid=True),
        ForeignKey("tenants.id", ondelete="CASCADE"),
        primary_key=True,
        sort_order=-1,
    )
    kind: Mapped[LeadKeyKind] = mapped_column(lead_key_kind_enum, primary_key=True)
    value: Mapped[str] = mapped_column(String(400), primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True))


class LeadActivity(TenantOwned, Base):
    """One entry of a lead's timeline: a note, or something that happened, with its actor."""

    __tablename__ = "lead_activities"
    __table_args__ = (_lead_fk(), Index(None, "tenant_id", "lead_id", "created_at", "id"))

    id: Mapped[uuid.UUID] = time_ordered_pk()
    lead_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True))
    type: Mapped[ActivityType] = mapped_column(activity_type_enum)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    actor_agent_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    body: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=_EMPTY_OBJECT)
    created_at: Mapped[datetime] = created_at()


class LeadList(TenantOwned, Base):
    __tablename__ = "lists"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index(None, "tenant_id", "created_at", "id"),
        CheckConstraint("(kind = 'DYNAMIC') = (filter IS NOT NULL)", name="filter_iff_dynamic"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[ListKind] = mapped_column(list_kind_enum)
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ListMember(TenantOwned, Base):
    """A lead on a STATIC list."""

    __tablename__ = "list_members"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "list_id"], ["lists.tenant_id", "lists.id"], ondelete="CASCADE"
        ),
        _lead_fk(),
        Index(None, "tenant_id", "lead_id"),
    )

    list_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    added_at: Mapped[datetime] = created_at()


class LeadMerge(TenantOwned, Base):
    """Leads folded into a survivor; `snapshot` holds what undo needs to put them back."""

    __tablename__ = "lead_merges"
    __table_args__ = (
        _lead_fk("survivor_id"),
        Index(None, "tenant_id", "survivor_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    survivor_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True))
    merged_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(PG_UUID(as_uuid=True)))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class LeadEvidence(TenantOwned, Base):
    """Provenance: an evidence item that fed a lead, and which of its fields it supplied."""

    __tablename__ = "lead_evidence"
    __table_args__ = (
        _lead_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "evidence_id"], ["evidence.tenant_id", "evidence.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "evidence_id"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    evidence_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=_EMPTY_ARRAY)
    created_at: Mapped[datetime] = created_at()


class LeadSearchText(Base):
    """A lead's `search_text` and `name_sort` (and its owner, and the lead it was merged into),
    copied by triggers on `leads`, the first two behind trigram GIN indexes. Only its owner
    reads it, through `leedz_search_lead_ids()`, `leedz_similar_name_lead_ids()` and
    `leedz_quota_leads()`; the request role has no privilege on it at all (migrations
    20261201_1700 and 20261201_1850, docs/search.md)."""

    __tablename__ = "lead_search"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        Index(
            "ix_lead_search_tenant_id_search_text_trgm",
            "tenant_id",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        Index(
            "ix_lead_search_tenant_id_name_sort_trgm",
            "tenant_id",
            "name_sort",
            postgresql_using="gin",
            postgresql_ops={"name_sort": "gin_trgm_ops"},
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    search_text: Mapped[str] = mapped_column(Text)
    name_sort: Mapped[str] = mapped_column(Text)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
