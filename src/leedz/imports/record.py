"""From one spreadsheet row to the lead fields it carries, checked as a person's input is. Pure.

A row is read through the job's mapping ({column header: lead field key}, the keys `importable`
in leads/fields.py). Several columns may feed one field: list fields (phones, e-mail addresses,
tags) gather every column's values, a scalar field takes the first non-blank one in the header's
order. A phones, e-mail or tags cell may hold several values (`;` `,` `/` a line break…).

The values are then checked with the same schema and normalization as a lead typed in by a
person (leads/schemas.py `LeadFields`, leads/normalize.py): phones to E.164 with the row's
country, else the job's, else the tenant's default. A value that does not pass fails the row
with the field (and its column) named; a row with no mapped value is empty. Neither stops the
rest of the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from leedz.errors import ValidationFailed
from leedz.imports.mapping import split_multi
from leedz.leads.fields import importable
from leedz.leads.models import LeadStatus
from leedz.leads.normalize import (
    InvalidPhone,
    InvalidWebsite,
    UnknownCountry,
    identity_domain,
    normalize_phone,
)
from leedz.leads.record import website_and_domain
from leedz.leads.schemas import LeadFields, LeadName
from leedz.resolution.extract import Extracted

CUSTOM_PREFIX = "customFields."
LIST_FIELDS = frozenset({"phones", "emails", "tags"})
# Separators of several tags in one cell (phones and e-mail addresses: mapping.split_multi, which
# knows the `/` of `0501234567/8`).
_TAG_SEPARATORS = re.compile(r"[;,|\n\r\u2028\u2029\u060c\u061b]")
_TRUE = frozenset({"true", "yes", "y", "1", "نعم", "صح"})
_FALSE = frozenset({"false", "no", "n", "0", "لا", "خطأ"})
# Single-line fields: a line break inside the cell (Excel's Alt+Enter) becomes a space.
_ONE_LINE = frozenset(
    {"name", "contactName", "category", "address", "city", "country", "website", "status"}
)


class MappingInvalid(ValidationFailed):
    code, title = "import_mapping_invalid", "The mapping does not fit the file"


class ImportFields(LeadFields):
    """A row's fields: a lead's, the name optional (a row may update a lead it names by phone)."""

    name: LeadName | None = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class RowMapping:
    """The mapping compiled against the file's header: per field, the columns that feed it."""

    columns: dict[str, tuple[int, ...]]  # field key -> positions, in header order
    names: tuple[str, ...]  # the header

    @classmethod
    def compile(cls, header: Sequence[str], mapping: Mapping[str, str]) -> RowMapping:
        """422 `import_mapping_invalid` for a key no lead field imports, or a column the
        header does not have."""
        positions = {name.strip(): n for n, name in reversed(list(enumerate(header)))}
        columns: dict[str, list[int]] = {}
        for column, key in mapping.items():
            if not importable(key):
                raise MappingInvalid(
                    f"{key!r} (column {column!r}) is not an importable lead field",
                    field="mapping",
                    column=column,
                )
            position = positions.get(column.strip())
            if position is None:
                raise MappingInvalid(
                    f"The file has no column {column!r}", field="mapping", column=column
                )
            columns.setdefault(key, []).append(position)
        return cls(
            columns={k: tuple(sorted(v)) for k, v in columns.items()},
            names=tuple(header),
        )


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """What one row says about a lead: the fields resolution compares (`record`), the others
    a lead has, and which fields the row supplies (LeadFields names, snake case)."""

    record: Extracted
    present: frozenset[str]
    status: LeadStatus | None = None
    do_not_contact: bool | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowFailed:
    """A row that cannot be read: the field, its column and why (the report's `error`)."""

    field: str
    message: str

    @property
    def error(self) -> str:
        return f"{self.field}: {self.message}"


EMPTY = None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cells(cells: Sequence[str], positions: tuple[int, ...]) -> list[tuple[int, str]]:
    return [
        (p, cells[p].strip()) for p in positions if p < len(cells) and cells[p] and cells[p].strip()
    ]


def _split(key: str, text: str) -> list[str]:
    if key in {"phones", "emails"}:
        return split_multi(text)
    return [piece.strip() for piece in _TAG_SEPARATORS.split(text) if piece.strip()]


def _flag(text: str) -> bool:
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("must be true or false (yes/no, 1/0, نعم/لا)")


def _status(text: str) -> str:
    value = text.strip().upper()
    if value not in LeadStatus.__members__:
        raise ValueError(f"must be one of {', '.join(s.value for s in LeadStatus)}")
    return value


def _number(text: str) -> float:
    value = float(text.replace(",", "").replace("\u066b", ".").replace("\u066c", ""))
    if math.isnan(value) or math.isinf(value):
        raise ValueError("must be a finite number")
    return value


def _integer(text: str) -> int:
    value = _number(text)
    if not value.is_integer():
        raise ValueError("must be a whole number")
    return int(value)


_TYPED: dict[str, Callable[[str], Any]] = {
    "doNotContact": _flag,
    "status": _status,
    "lat": _number,
    "lng": _number,
    "rating": _number,
    "reviewsCount": _integer,
}


class _Failed(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


def _gather(cells: Sequence[str], mapping: RowMapping) -> tuple[dict[str, Any], dict[str, str]]:
    """The mapped values of the row ({field key: text, or a list for list fields}) and the
    column each comes from."""
    column_of: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, positions in mapping.columns.items():
        found = _cells(cells, positions)
        if not found:
            continue
        column_of[key] = mapping.names[found[0][0]]
        if key in LIST_FIELDS:
            values[key] = [v for _, text in found for v in _split(key, text)]
        else:
            text = found[0][1]
            values[key] = _one_line(text) if key in _ONE_LINE else text
    return values, column_of


def _fields(values: dict[str, Any], tags: Sequence[str]) -> dict[str, Any]:
    """The values as a LeadFields body (camelCase), typed."""
    fields: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith(CUSTOM_PREFIX):
            custom[key[len(CUSTOM_PREFIX) :]] = value
        elif key == "externalIds.googleMaps":
            fields["externalIds"] = {"googleMaps": value}
        elif key in _TYPED:
            try:
                fields[key] = _TYPED[key](value)
            except ValueError as exc:
                raise _Failed(key, str(exc)) from exc
        else:
            fields[key] = value
    if ("lat" in fields) != ("lng" in fields):
        raise _Failed("lng" if "lat" in fields else "lat", "a location needs both lat and lng")
    if "lat" in fields:
        fields["location"] = {"lat": fields.pop("lat"), "lng": fields.pop("lng")}
    if custom:
        fields["customFields"] = custom
    if tags:
        fields["tags"] = [*fields.get("tags", []), *tags]
    return fields


def _checked(fields: dict[str, Any], values: dict[str, Any]) -> ImportFields:
    try:
        return ImportFields.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        key = loc[0] if loc else "row"
        if key == "location":
            key = loc[1] if len(loc) > 1 else "lat"
        if key == "externalIds":
            key = "externalIds.googleMaps"
        if key == "customFields":
            key = next((k for k in values if k.startswith(CUSTOM_PREFIX)), key)
        raise _Failed(key, str(error["msg"]).removeprefix("Value error, ")) from exc


class Phones:
    """`normalize_phone` remembered per (spelling, country, default country) for one job: a
    file spells the same numbers again and again. Holds at most `limit` answers (forgets them
    all when full), so memory stays flat on a file of a million rows."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self._known: dict[tuple[str, str | None, str], str | InvalidPhone | UnknownCountry] = {}

    def e164(self, spelling: str, *, country: str | None, default_country: str) -> str:
        """The E.164 form; raises `InvalidPhone` or `UnknownCountry` as `normalize_phone`."""
        memo = (spelling, country, default_country)
        known = self._known.get(memo)
        if known is None:  # kept refusals are never raised themselves (a raise pins its frames)
            try:
                known = normalize_phone(spelling, country=country, default_country=default_country)
            except (InvalidPhone, UnknownCountry) as exc:
                known = exc.with_traceback(None)  # kept without the frames it was raised in
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[memo] = known
        if isinstance(known, InvalidPhone):  # a new instance: the kept one never holds frames
            raise InvalidPhone(known.reason)
        if isinstance(known, UnknownCountry):
            raise UnknownCountry(known.code)
        return known


def _phones(
    checked: ImportFields, *, country: str | None, default_country: str, memo: Phones
) -> tuple[str, ...]:
    phones: dict[str, None] = {}
    for spelling in checked.phones:
        try:
            phones[
                memo.e164(
                    spelling, country=checked.country or country, default_country=default_country
                )
            ] = None
        except (InvalidPhone, UnknownCountry) as exc:
            raise _Failed("phones", f"{spelling!r}: {exc}") from exc
    return tuple(phones)


def _website(checked: ImportFields) -> tuple[str | None, str | None, str | None]:
    try:
        website, domain = website_and_domain(checked.website)
    except ValidationFailed as exc:
        raise _Failed("website", str(exc.detail).removeprefix("website: ")) from exc
    identity = None
    if website is not None:
        try:
            identity = identity_domain(website)
        except InvalidWebsite:
            identity = None
    return website, domain, identity


def read_row(
    cells: Sequence[str],
    mapping: RowMapping,
    *,
    tags: Sequence[str] = (),
    country: str | None,
    default_country: str,
    phones: Phones | None = None,
) -> ImportRecord | RowFailed | None:
    """The row's record, why it fails, or None for an empty row. `tags` are the job's (added
    to every row's lead); `country` is the job's, for phones without a country code when the
    row names no country. `phones` is the job's memory of phone spellings (none: a fresh one)."""
    values, column_of = _gather(cells, mapping)
    if not values:
        return EMPTY
    try:
        checked = _checked(_fields(values, tags), values)
        e164 = _phones(
            checked, country=country, default_country=default_country, memo=phones or Phones()
        )
        website, domain, identity = _website(checked)
    except _Failed as exc:
        column = column_of.get(exc.key)
        return RowFailed(exc.key, f"{exc.message} (column {column!r})" if column else exc.message)
    present = frozenset(
        name for name in checked.model_fields_set if name in LeadFields.model_fields
    )
    location = checked.location
    record = Extracted(
        name=checked.name,
        contact_name=checked.contact_name,
        category=checked.category,
        phones=e164,
        emails=tuple(checked.emails),
        website=website,
        domain=domain,
        identity_domain=identity,
        address=checked.address,
        city=checked.city,
        country=checked.country,
        location=(location.lat, location.lng) if location is not None else None,
        rating=checked.rating,
        reviews_count=checked.reviews_count,
        place_id=checked.external_ids.get("googleMaps"),
        tags=tuple(checked.tags),
    )
    return ImportRecord(
        record=record,
        present=present,
        status=checked.status if "status" in present else None,
        do_not_contact=checked.do_not_contact if "do_not_contact" in present else None,
        custom_fields=dict(checked.custom_fields),
    )
