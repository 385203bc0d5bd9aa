"""The columns an export can hold: their keys, headers, SQL and cell kind (docs/exports.md).

A column's key is the lead field's key on the wire (GET /v1/leads/fields): `name`, `phones`,
`externalIds.googleMaps`. Object fields become one column per key inside them —
`customFields.<key>`, `externalIds.<system>`, `socialProfiles.<network>` — so that a re-import
maps each back to the same field; naming the object itself (`customFields`) asks for every key
the selected leads use. `location` is its two columns, `lat` and `lng`.

The header row carries the field's label in the tenant's language (leads/fields.py), a family
column its family's label, `: ` and its key (`Custom field: industry`, `حقل مخصص: industry`);
`field_of_header` reads every header an export writes back to its key, in either language.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from leedz.errors import ValidationFailed
from leedz.exports.cells import LIST_SEPARATOR
from leedz.leads.fields import FIELDS


class CellKind(enum.Enum):
    TEXT = "text"  # defused (cells.defuse); phones, e-mails and tags joined by "; " in SQL
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE_TIME = "date-time"  # in the tenant's time zone, to the second


class UnknownExportColumn(ValidationFailed):
    code, title = "export_column_unknown", "Unknown export column"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an export: `sql` reads its value from `leads` (`{tz}` stands for the
    tenant's time zone parameter, `{key}` for a family column's key parameter)."""

    key: str
    header_en: str
    header_ar: str
    kind: CellKind
    sql: str
    family_key: str | None = None  # the key inside customFields/externalIds/socialProfiles

    def header(self, language: str) -> str:
        return self.header_ar if language == "ar" else self.header_en


# The SQL of each plain column. Lists are joined in SQL, by cells.LIST_SEPARATOR.
_PLAIN: dict[str, tuple[CellKind, str]] = {
    "id": (CellKind.TEXT, "id::text"),
    "name": (CellKind.TEXT, "name"),
    "contactName": (CellKind.TEXT, "contact_name"),
    "category": (CellKind.TEXT, "category"),
    "phones": (CellKind.TEXT, f"array_to_string(phones, '{LIST_SEPARATOR}')"),
    "emails": (CellKind.TEXT, f"array_to_string(emails, '{LIST_SEPARATOR}')"),
    "website": (CellKind.TEXT, "website"),
    "domain": (CellKind.TEXT, "domain"),
    "address": (CellKind.TEXT, "address"),
    "city": (CellKind.TEXT, "city"),
    "country": (CellKind.TEXT, "country"),
    "lat": (CellKind.NUMBER, "lat"),
    "lng": (CellKind.NUMBER, "lng"),
    "rating": (CellKind.NUMBER, "rating"),
    "reviewsCount": (CellKind.NUMBER, "reviews_count"),
    "status": (CellKind.TEXT, "status::text"),
    "ownerId": (CellKind.TEXT, "owner_id::text"),
    "tags": (CellKind.TEXT, f"array_to_string(tags, '{LIST_SEPARATOR}')"),
    "doNotContact": (CellKind.BOOLEAN, "do_not_contact"),
    "confidence": (CellKind.TEXT, "confidence::text"),
    "source.type": (CellKind.TEXT, "source_type::text"),
    "source.jobId": (CellKind.TEXT, "source_job_id::text"),
    "version": (CellKind.NUMBER, "version"),
    "createdAt": (CellKind.DATE_TIME, "created_at"),
    "updatedAt": (CellKind.DATE_TIME, "updated_at"),
    "lastActivityAt": (CellKind.DATE_TIME, "last_activity_at"),
    "deletedAt": (CellKind.DATE_TIME, "deleted_at"),
}
# Object fields: the column that holds them, and the label of one of their keys.
FAMILIES: dict[str, tuple[str, str, str]] = {
    "customFields": ("custom_fields", "Custom field", "حقل مخصص"),
    "externalIds": ("external_ids", "External ID", "معرّف خارجي"),
    "socialProfiles": ("social_profiles", "Social profile", "حساب تواصل اجتماعي"),
}
LOCATION = ("lat", "lng")
_FAMILY_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")  # leads/schemas.py's custom keys
HEADER_SEPARATOR = ": "

DEFAULT_COLUMNS: tuple[str, ...] = (
    "id", "name", "contactName", "category", "phones", "emails", "website", "address", "city",
    "country", "lat", "lng", "rating", "reviewsCount", "status", "tags", "doNotContact",
    "externalIds", "socialProfiles", "customFields", "ownerId", "confidence", "source.type",
    "createdAt", "updatedAt",
)  # fmt: skip
"""What an export without `columns` holds: every field a person sets, and when and how the
lead came to be; the object fields expand to the keys the selected leads use."""

_LABELS = {f.key: f.label for f in FIELDS.items}


def _plain(key: str) -> Column:
    kind, sql = _PLAIN[key]
    label = _LABELS[key]
    return Column(key=key, header_en=label.en, header_ar=label.ar, kind=kind, sql=sql)


def family_column(family: str, key: str) -> Column:
    """The column of one key of an object field (`customFields`, `industry`). Its value is the
    text of a JSON string, the JSON text of anything else (`5`, `true`, `["a", "b"]`)."""
    column, en, ar = FAMILIES[family]
    if family == "externalIds" and key == "googleMaps":  # a field of its own in fields.py
        label = _LABELS["externalIds.googleMaps"]
        en, ar = label.en, label.ar
    else:
        en, ar = f"{en}{HEADER_SEPARATOR}{key}", f"{ar}{HEADER_SEPARATOR}{key}"
    return Column(
        key=f"{family}.{key}",
        header_en=en,
        header_ar=ar,
        kind=CellKind.TEXT,
        sql=f"{column} ->> {{key}}",
        family_key=key,
    )


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """The columns asked for, in order: plain ones and single family keys as `Column`s, whole
    families (`customFields`) as the family's name, to expand once the keys in use are known."""

    parts: tuple[Column | str, ...]

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(p for p in self.parts if isinstance(p, str))

    def expand(self, keys_in_use: Mapping[str, Sequence[str]]) -> list[Column]:
        """The columns, each whole family replaced by a column per key in use (sorted), each
        column once (the first time it comes)."""
        found: dict[str, Column] = {}
        for part in self.parts:
            columns = (
                [family_column(part, k) for k in sorted(keys_in_use.get(part, ()))]
                if isinstance(part, str)
                else [part]
            )
            for column in columns:
                found.setdefault(column.key, column)
        return list(found.values())


def plan(keys: Iterable[str] | None) -> ColumnPlan:
    """The columns `keys` names (DEFAULT_COLUMNS when None); `export_column_unknown` (422)
    naming every key that is not an exportable field."""
    parts: list[Column | str] = []
    unknown: list[str] = []
    for key in DEFAULT_COLUMNS if keys is None else keys:
        if key in _PLAIN:
            parts.append(_plain(key))
        elif key == "location":
            parts.extend(_plain(k) for k in LOCATION)
        elif key in FAMILIES:
            parts.append(key)
        elif "." in key and key.split(".", 1)[0] in FAMILIES:
            family, inner = key.split(".", 1)
            if _FAMILY_KEY.match(inner):
                parts.append(family_column(family, inner))
            else:
                unknown.append(key)
        else:
            unknown.append(key)
    if unknown:  # (jobs/schemas.py refuses them at creation: a job stored before a change)
        raise UnknownExportColumn(
            f"Not exportable: {', '.join(unknown)}. Columns are the keys of GET /v1/leads/fields"
            " (customFields.<key>, externalIds.<system>, socialProfiles.<network> for one key"
            " of an object field)",
            field="columns",
            columns=unknown,
        )
    return ColumnPlan(tuple(parts))


def field_of_header(header: str) -> str | None:
    """The field key a header of an export stands for (either language), None if it is not
    one an export writes: `الاسم` → `name`, `Custom field: industry` → `customFields.industry`."""
    text = header.strip()
    found = _BY_HEADER.get(text.casefold())
    if found is not None:
        return found
    prefix, separator, key = text.partition(HEADER_SEPARATOR.strip())
    if not separator:
        return None
    family = _FAMILY_BY_LABEL.get(prefix.strip().casefold())
    key = key.strip()
    if family is None or not _FAMILY_KEY.match(key):
        return None
    return f"{family}.{key}"


_BY_HEADER: dict[str, str] = {}
for _key in (*_PLAIN, "externalIds.googleMaps"):
    _label = _LABELS[_key]
    _BY_HEADER.setdefault(_label.en.casefold(), _key)
    _BY_HEADER.setdefault(_label.ar.casefold(), _key)
_FAMILY_BY_LABEL = {
    label.casefold(): family for family, (_, en, ar) in FAMILIES.items() for label in (en, ar)
}
