"""How a merge folds leads into a survivor, and how its undo takes back what the merge brought.

Pure functions over `LeadRow`s (docs/merges.md, "Folding" and "Undo"). A change is kept per stored
column as `{from, to}` in JSON form (what the snapshot stores); undo compares the survivor's
current values with `to` to tell what the merge wrote from what people changed since.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leedz.leads.repository import LeadRow

# Filled when the survivor's are empty, from the oldest merged lead that has them. A group is
# one field on the wire: a website and its domain, a location's two coordinates.
SCALAR_GROUPS: tuple[tuple[str, ...], ...] = (
    ("contact_name",),
    ("category",),
    ("website", "domain"),
    ("address",),
    ("city",),
    ("country",),
    ("lat", "lng"),
    ("rating",),
    ("reviews_count",),
    ("owner_id",),
)
# Unions: the survivor's values first, then each merged lead's, oldest first.
UNION_LISTS = ("phones", "emails")
# Tags compare case-insensitively (the first spelling is kept).
TAGS = "tags"
# Per key: the survivor's keys win, missing keys are filled (oldest first).
UNION_DICTS = ("social_profiles", "external_ids", "custom_fields")
# One lead that must not be contacted makes the survivor one that must not.
FLAGS = ("do_not_contact",)

# The field (as `edited_fields` and the wire name it, snake case) of each stored column.
_FIELD_OF = {"domain": "website", "lat": "location", "lng": "location"}


def field_of(column: str) -> str:
    return _FIELD_OF.get(column, column)


def jsonable(value: Any) -> Any:
    """The JSON form a snapshot keeps (UUIDs as text, enums as their value)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def is_empty(value: Any) -> bool:
    return value is None or value in ("", [], {})


@dataclass(frozen=True, slots=True)
class Fold:
    """What the merge writes on the survivor."""

    columns: dict[str, Any]  # stored columns that change, as Python values
    changes: dict[str, dict[str, Any]]  # column → {"from", "to"}, JSON form
    edited_added: list[str]  # fields the merge adds to `edited_fields`
    fields: list[str]  # the fields that change, sorted


def _union_list(values: list[Any], more: Sequence[Any]) -> bool:
    grew = False
    for value in more:
        if value not in values:
            values.append(value)
            grew = True
    return grew


def _union_tags(tags: list[str], more: Sequence[str]) -> bool:
    seen = {t.casefold() for t in tags}
    grew = False
    for tag in more:
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
            grew = True
    return grew


def _fold_scalars(
    survivor: LeadRow, merged: Sequence[LeadRow], contributors: dict[str, list[LeadRow]]
) -> dict[str, Any]:
    after: dict[str, Any] = {}
    for group in SCALAR_GROUPS:
        if not all(is_empty(survivor.column(c)) for c in group):
            continue
        source = next((m for m in merged if not all(is_empty(m.column(c)) for c in group)), None)
        if source is not None:
            after |= {c: source.column(c) for c in group}
            contributors[field_of(group[0])] = [source]
    return after


def _fold_unions(
    survivor: LeadRow, merged: Sequence[LeadRow], contributors: dict[str, list[LeadRow]]
) -> dict[str, Any]:
    after: dict[str, Any] = {}
    for column in (*UNION_LISTS, TAGS):
        union = _union_tags if column == TAGS else _union_list
        values = list(survivor.column(column))
        for m in merged:
            if union(values, m.column(column)):
                contributors.setdefault(column, []).append(m)
        after[column] = values
    for column in UNION_DICTS:
        mapping = dict(survivor.column(column))
        for m in merged:
            missing = {k: v for k, v in m.column(column).items() if k not in mapping}
            if missing:
                mapping |= missing
                contributors.setdefault(column, []).append(m)
        after[column] = mapping
    for column in FLAGS:
        raised = [m for m in merged if m.column(column)]
        after[column] = bool(survivor.column(column)) or bool(raised)
        if raised and not survivor.column(column):
            contributors[column] = raised
    return after


def fold(survivor: LeadRow, merged: Sequence[LeadRow]) -> Fold:
    """The survivor's columns once `merged` (oldest first) are folded into it."""
    contributors: dict[str, list[LeadRow]] = {}
    after = _fold_scalars(survivor, merged, contributors) | _fold_unions(
        survivor, merged, contributors
    )
    columns = {c: v for c, v in after.items() if jsonable(v) != jsonable(survivor.column(c))}
    changes = {
        c: {"from": jsonable(survivor.column(c)), "to": jsonable(v)} for c, v in columns.items()
    }
    fields = sorted({field_of(c) for c in columns})
    edited = set(survivor.edited_fields)
    edited_added = sorted(
        f
        for f in fields
        if f not in edited and any(f in m.edited_fields for m in contributors.get(f, []))
    )
    return Fold(columns=columns, changes=changes, edited_added=edited_added, fields=fields)


@dataclass(frozen=True, slots=True)
class Revert:
    """What undo writes on the survivor."""

    columns: dict[str, Any]
    fields: list[str]


Changes = Mapping[str, Mapping[str, Any]]


def _current(row: LeadRow, column: str) -> Any:
    return jsonable(row.column(column))


def _revert_scalars(current: LeadRow, changes: Changes) -> dict[str, Any]:
    """A filled field goes back to empty if it still holds what the merge wrote."""
    columns: dict[str, Any] = {}
    for group in (*SCALAR_GROUPS, *((f,) for f in FLAGS)):
        changed = [c for c in group if c in changes]
        if changed and all(_current(current, c) == changes[c]["to"] for c in changed):
            columns |= {c: changes[c]["from"] for c in changed}
    return columns


def _compared(column: str, value: str) -> str:
    return value.casefold() if column == TAGS else value


def _revert_unions(current: LeadRow, changes: Changes) -> dict[str, Any]:
    """The values the merge brought leave; the survivor's own and those added since stay."""
    columns: dict[str, Any] = {}
    for column in (*UNION_LISTS, TAGS):
        if column not in changes:
            continue
        before = {_compared(column, v) for v in changes[column]["from"]}
        brought = {_compared(column, v) for v in changes[column]["to"]} - before
        values = list(current.column(column))
        kept = [v for v in values if _compared(column, v) not in brought]
        if kept != values:
            columns[column] = kept
    for column in UNION_DICTS:
        if column not in changes:
            continue
        before_map, to_map = changes[column]["from"], changes[column]["to"]
        mapping = dict(current.column(column))
        kept_map = {
            k: v
            for k, v in mapping.items()
            if k in before_map or k not in to_map or jsonable(v) != to_map[k]
        }
        if kept_map != mapping:
            columns[column] = kept_map
    return columns


def revert(current: LeadRow, changes: Changes, edited_added: Sequence[str]) -> Revert:
    """Take back from the survivor what the merge brought and nobody changed since."""
    columns = _revert_scalars(current, changes) | _revert_unions(current, changes)

    def back(field: str) -> bool:
        """The field holds again what it held before the merge."""
        return all(
            jsonable(columns[c] if c in columns else current.column(c)) == change["from"]
            for c, change in changes.items()
            if field_of(c) == field
        )

    edited = [f for f in current.edited_fields if not (f in edited_added and back(f))]
    if edited != list(current.edited_fields):
        columns["edited_fields"] = edited
    return Revert(
        columns=columns, fields=sorted({field_of(c) for c in columns if c != "edited_fields"})
    )
