"""The lead on the wire: what a client may send (bounded, shape-checked) and what it reads.

Shape is checked here; normalization that needs the tenant (a phone's default country) runs in
the service (leads/record.py). Every bound is a 422 naming the field, nothing stored.
"""

from __future__ import annotations

import enum
import json
import math
import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import phonenumbers
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from leedz.evidence.models import Confidence
from leedz.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from leedz.kit.schemas import ApiIn, ApiModel
from leedz.leads.models import ActivityType, LeadSource, LeadStatus
from leedz.leads.normalize import InvalidEmail, normalize_email, trim_text

MAX_PHONES = 20
MAX_EMAILS = 20
MAX_TAGS = 50
MAX_EXTERNAL_IDS = 10
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_FIELDS_BYTES = 16 * 1024
MAX_CUSTOM_FIELDS_DEPTH = 5
"""Objects and arrays nest at most this deep in `customFields` (the object itself is level 1)."""
MAX_NOTE_CHARS = 10_000

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
# As ApiIn refuses them in top-level strings: NUL (which neither text nor jsonb can store) and
# the other C0 controls but tab, line feed and carriage return. ApiIn only sees a field's own
# value, so strings inside lists and objects are checked here.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters (NUL among them) are not allowed")
    return value


def _trimmed(value: str) -> str:
    """Whitespace and invisible format characters (direction marks, zero-width spaces) at the
    ends removed: a name of nothing else is blank."""
    return trim_text(value)


def _non_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    return value


def _blank_is_none(value: str | None) -> str | None:
    """Trimmed (format characters too); blank becomes None (a cleared field)."""
    return (trim_text(value) or None) if isinstance(value, str) else value


LeadName = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_trimmed),
                     AfterValidator(_non_blank)]  # fmt: skip
ContactName = Annotated[str | None, Field(max_length=200), AfterValidator(_blank_is_none)]
Category = Annotated[str | None, Field(max_length=200), AfterValidator(_blank_is_none)]
Address = Annotated[str | None, Field(max_length=500), AfterValidator(_blank_is_none)]
City = Annotated[str | None, Field(max_length=120), AfterValidator(_blank_is_none)]
PhoneSpelling = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)]
"""A phone as typed (any spelling); the service normalizes it to E.164."""


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise ValueError(f"not an e-mail address: {exc}") from exc


LeadEmail = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(_email)]


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if not code:
        return None
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code")
    return code


Country = Annotated[str | None, Field(default=None, max_length=2), AfterValidator(_country)]


def _tag(value: str) -> str:
    value = " ".join(trim_text(_printable(value)).split())
    if not value:
        raise ValueError("a tag must not be blank")
    return value


Tag = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(_tag)]


def _unique_tags(tags: list[str]) -> list[str]:
    """Tags compare case-insensitively; the first spelling is kept."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.casefold(), tag)
    return list(seen.values())


Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique_tags)]


def _check_json(value: Any, depth: int) -> None:
    """Every string (keys too) printable, every number finite, nesting bounded: what jsonb can
    store (no NUL, no NaN) and what a client can render, refused here rather than by
    PostgreSQL."""
    if isinstance(value, dict | list):
        if depth > MAX_CUSTOM_FIELDS_DEPTH:
            raise ValueError(
                f"custom fields nest objects and arrays at most {MAX_CUSTOM_FIELDS_DEPTH} deep"
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and _CONTROL.search(key):
                raise ValueError("custom fields must not contain control characters (NUL)")
            _check_json(item, depth + 1)
    elif isinstance(value, str):
        if _CONTROL.search(value):
            raise ValueError("custom fields must not contain control characters (NUL)")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("custom fields must not contain NaN or infinite numbers")


def _custom_fields(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_CUSTOM_FIELDS:
        raise ValueError(f"at most {MAX_CUSTOM_FIELDS} custom fields")
    for key in value:
        if not _KEY.match(key):
            raise ValueError(f"custom field names are 1-40 letters, digits or _: {key[:40]!r}")
    _check_json(value, 1)
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if len(encoded) > MAX_CUSTOM_FIELDS_BYTES:
        raise ValueError(f"custom fields take at most {MAX_CUSTOM_FIELDS_BYTES} bytes as JSON")
    return value


CustomFields = Annotated[dict[str, Any], AfterValidator(_custom_fields)]


def _external_ids(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_EXTERNAL_IDS:
        raise ValueError(f"at most {MAX_EXTERNAL_IDS} external ids")
    for key in value:
        if not _KEY.match(key):
            raise ValueError(f"external id systems are 1-40 letters, digits or _: {key[:40]!r}")
    return {key: ident.strip() for key, ident in value.items() if ident.strip()}


ExternalIds = Annotated[
    dict[str, Annotated[str, Field(max_length=300), AfterValidator(_printable)]],
    AfterValidator(_external_ids),
]


def _website(value: object) -> object:
    """Trimmed, blank is None; anything but a string is left for the type check (a 422)."""
    if isinstance(value, str):
        return value.strip() or None
    return value


Website = Annotated[str | None, Field(default=None, max_length=2048), BeforeValidator(_website)]


def _not_boolean(value: object) -> object:
    """`true` is no rating, count or coordinate (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


NotBoolean = BeforeValidator(_not_boolean)


class SocialProfiles(ApiIn):
    """A handle or a profile URL per network."""

    instagram: str | None = Field(default=None, max_length=300)
    facebook: str | None = Field(default=None, max_length=300)
    x: str | None = Field(default=None, max_length=300)
    linkedin: str | None = Field(default=None, max_length=300)
    tiktok: str | None = Field(default=None, max_length=300)
    snapchat: str | None = Field(default=None, max_length=300)


class Location(ApiIn):
    lat: Annotated[float, NotBoolean] = Field(ge=-90, le=90)
    lng: Annotated[float, NotBoolean] = Field(ge=-180, le=180)


# Lists and objects: `null` is the empty one (a PATCH clears them with it).
_EMPTY_WHEN_NULL: dict[str, type[list[Any]] | type[dict[str, Any]]] = {
    "phones": list,
    "emails": list,
    "tags": list,
    "socialProfiles": dict,
    "social_profiles": dict,
    "externalIds": dict,
    "external_ids": dict,
    "customFields": dict,
    "custom_fields": dict,
}


class LeadFields(ApiIn):
    """Every field a person may set on a lead (create and update)."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, empty in _EMPTY_WHEN_NULL.items():
                if key in data and data[key] is None:
                    data = {**data, key: empty()}
        return data

    name: LeadName
    contact_name: ContactName = None
    category: Category = None
    phones: list[PhoneSpelling] = Field(default_factory=list, max_length=MAX_PHONES)
    emails: list[LeadEmail] = Field(default_factory=list, max_length=MAX_EMAILS)
    website: Website = None
    social_profiles: SocialProfiles = Field(default_factory=SocialProfiles)
    address: Address = None
    city: City = None
    country: Country = None
    location: Location | None = None
    rating: Annotated[float | None, NotBoolean] = Field(default=None, ge=0, le=5)
    reviews_count: Annotated[int | None, NotBoolean] = Field(default=None, ge=0, le=1_000_000_000)
    external_ids: ExternalIds = Field(default_factory=dict)
    status: LeadStatus = LeadStatus.NEW
    owner_id: UUID | None = None
    tags: Tags = Field(default_factory=list)
    do_not_contact: StrictBool = False  # true or false, not "yes" or 1
    custom_fields: CustomFields = Field(default_factory=dict)
    confidence: Confidence = Confidence.HIGH

    @field_validator("emails", mode="after")
    @classmethod
    def _unique_emails(cls, emails: list[str]) -> list[str]:
        return list(dict.fromkeys(emails))


class LeadCreate(LeadFields):
    """A lead typed in by a person (source MANUAL)."""


class LeadUpdate(LeadFields):
    """PATCH: only the fields present change; `null` clears an optional one."""

    name: LeadName = None  # type: ignore[assignment] # absent: unchanged; never cleared

    @field_validator("name", mode="before")
    @classmethod
    def _name_not_cleared(cls, name: object) -> object:
        if name is None:
            raise ValueError("a lead's name cannot be cleared")
        return name


class LeadSourceOut(ApiModel):
    type: LeadSource
    job_id: UUID | None = None


class DuplicateRef(ApiModel):
    """A lead that already holds a key (or looks alike), and why."""

    id: UUID
    name: str | None = Field(
        description="null when the caller may not see that lead (a SALES member while"
        " salesSeeAllLeads is off): the key is taken all the same"
    )
    reasons: list[str]
    deleted: bool = False


class LeadOut(ApiModel):
    id: UUID
    name: str
    contact_name: str | None
    category: str | None
    phones: list[str]
    emails: list[str]
    website: str | None
    domain: str | None
    social_profiles: dict[str, str]
    address: str | None
    city: str | None
    country: str | None
    location: Location | None
    rating: float | None
    reviews_count: int | None
    external_ids: dict[str, str]
    status: LeadStatus
    owner_id: UUID | None
    tags: list[str]
    do_not_contact: bool
    custom_fields: dict[str, Any]
    confidence: Confidence
    source: LeadSourceOut
    version: int
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    deleted_at: datetime | None = None


class LeadCreatedOut(LeadOut):
    """POST's answer: the lead, and the leads it only looks like (same name, same city)."""

    possible_duplicates: list[DuplicateRef] = Field(default_factory=list)


class NoteCreate(ApiIn):
    body: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class ActivityOut(ApiModel):
    id: UUID
    lead_id: UUID
    type: ActivityType
    actor_user_id: UUID | None
    actor_agent_id: UUID | None
    body: str | None
    details: dict[str, Any]
    created_at: datetime


class CountOut(ApiModel):
    count: int


class LeadSort(enum.StrEnum):
    CREATED_AT = "createdAt"
    CREATED_AT_DESC = "-createdAt"
    UPDATED_AT = "updatedAt"
    UPDATED_AT_DESC = "-updatedAt"
    NAME = "name"
    NAME_DESC = "-name"
    RATING = "rating"
    RATING_DESC = "-rating"
    LAST_ACTIVITY_AT = "lastActivityAt"
    LAST_ACTIVITY_AT_DESC = "-lastActivityAt"


class LeadFilter(ApiIn):
    """The query of GET /v1/leads (and /count), also saved as a DYNAMIC list's `filter`."""

    q: str | None = Field(default=None, max_length=200)
    status: list[LeadStatus] | None = Field(default=None, max_length=5)
    owner_id: UUID | None = None
    unassigned: bool | None = None
    tag: list[Tag] | None = Field(default=None, max_length=20)
    city: City = None
    country: Country = None
    category: Category = None
    source: LeadSource | None = None
    has_phone: bool | None = None
    has_email: bool | None = None
    do_not_contact: bool | None = None
    list_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    deleted: bool = False
    sort: LeadSort = LeadSort.CREATED_AT_DESC


class LeadQuery(LeadFilter):
    """GET /v1/leads: the filter, and the page (`limit` 1-200, the opaque `cursor`)."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=500)


class FieldType(enum.StrEnum):
    STRING = "string"
    STRING_LIST = "string[]"
    EMAIL_LIST = "email[]"
    PHONE_LIST = "phone[]"
    URL = "url"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"
    OBJECT = "object"
    DATE_TIME = "date-time"


class FieldLabel(ApiModel):
    ar: str
    en: str


class FieldOut(ApiModel):
    """One field of a lead. `key` is its path on the wire (`externalIds.googleMaps`); a
    `pattern` field stands for a family (`customFields.<key>`: any custom field name)."""

    key: str
    type: FieldType
    label: FieldLabel
    values: list[str] | None = None
    importable: bool
    filterable: bool
    sortable: bool
    pattern: bool = False
    query_params: list[str] = Field(default_factory=list)
    """The GET /v1/leads parameters that filter or sort on it."""


class FieldsOut(ApiModel):
    items: list[FieldOut]
