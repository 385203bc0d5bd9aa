"""Finding leads: `q`, filters, sorts and keyset cursors (GET /v1/leads and /count, a list's
leads, exports). The contract, with the plans it runs and their figures: docs/search.md.

`search` and `count` are what other features call. Both narrow to what the actor may see in
SQL (`visible_to`) as well as row-level security doing it.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from leedz.access.context import Actor
from leedz.errors import NotFound, ValidationFailed
from leedz.kit.db import Tx
from leedz.kit.pagination import Page, decode_token, encode_token, invalid_cursor
from leedz.leads.normalize import (
    InvalidPhone,
    InvalidWebsite,
    UnknownCountry,
    normalize_phone,
    normalize_text,
    registrable_domain,
)
from leedz.leads.record import SEARCH_SEPARATOR
from leedz.leads.repository import (
    NULLABLE_SORT_COLUMNS,
    KeysetAfter,
    LeadConditions,
    LeadQuerySpec,
    LeadSearch,
)
from leedz.leads.schemas import LeadFilter, LeadOut, LeadSort
from leedz.leads.service import lead_out, visible_to
from leedz.tenants import service as tenants

# ---------------------------------------------------------------------------------------------
# q: what it matches

# Shorter than a trigram: such a q matches the beginning of a word, not any substring.
SHORT_Q = 3
# A phone as people type it: digits of any script, spaces, dashes, dots, brackets, slashes, +.
_PHONE_LIKE = re.compile(r"^[\d\s().\[\]/+\-\u2010-\u2015\u2212]+$")
_MIN_PHONE_DIGITS = 4


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _typed_form(q: str) -> str | None:
    """q as an e-mail address or a domain is stored: NFKC, lower-cased, direction marks
    removed, every script's digits ASCII; only for a q without spaces (addresses and domains
    have none)."""
    text = "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ch
        for ch in unicodedata.normalize("NFKC", q)
        if unicodedata.category(ch) != "Cf"
    )
    text = text.strip().lower()
    if not text or any(ch.isspace() for ch in text) or "|" in text:
        return None
    return text


def _phone_forms(q: str, default_country: str) -> list[str]:
    """The digits a phone-like q can match in the stored E.164 digits: without a leading
    `+`/`00` and a trunk `0` (`050 123 4567` → `501234567`), and the whole E.164 number when
    q parses as one in the tenant's country (`+966 (0)50 123 4567` → `966501234567`)."""
    text = "".join(ch for ch in q if unicodedata.category(ch) != "Cf").strip()
    if not _PHONE_LIKE.match(text):
        # A whole number as a page shows it, with an extension or a `tel:` prefix
        # (`+966 11 456 7890 ext. 12`): its E.164 digits, as normalize_phone reads it.
        with contextlib.suppress(InvalidPhone, UnknownCountry):
            return [normalize_phone(text, country=None, default_country=default_country)[1:]]
        return []
    digits = "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())
    if len(digits) < _MIN_PHONE_DIGITS:
        return []
    forms = []
    local = digits[2:] if digits.startswith("00") and not text.startswith("+") else digits
    local = local[1:] if local.startswith("0") else local
    if local:
        forms.append(local)
    with contextlib.suppress(InvalidPhone, UnknownCountry):
        forms.append(normalize_phone(text, country=None, default_country=default_country)[1:])
    return forms


def q_alternatives(q: str, *, default_country: str) -> list[str]:
    """The texts, any of which `search_text` must contain for a lead to match `q`: its
    normalized form (names), its typed form (e-mails, domains), the registrable domain of a
    URL, a phone's digits. Empty when q holds nothing searchable."""
    found: dict[str, None] = {}
    text = normalize_text(q)
    if text:
        found[text] = None
    typed = _typed_form(q)
    if typed:
        found[typed] = None
        if "." in typed and "@" not in typed:
            try:
                domain = registrable_domain(typed)
            except InvalidWebsite:
                domain = None
            if domain:
                found[domain] = None
    for digits in _phone_forms(q, default_country):
        found[digits] = None
    # An alternative containing another one adds nothing: LIKE '%ab%' finds every '%abc%'.
    alternatives = list(found)
    return [
        a
        for a in alternatives
        if SEARCH_SEPARATOR.strip() not in a
        and not any(b != a and len(b) >= SHORT_Q and b in a for b in alternatives)
    ]


def q_patterns(q: str, *, default_country: str) -> tuple[str, ...]:
    """LIKE patterns for q: a substring anywhere; a 1-2 character alternative only at the
    start of a word (of the name, contact name, e-mail, domain or phone digits)."""
    patterns: list[str] = []
    for alternative in q_alternatives(q, default_country=default_country):
        escaped = _like_escape(alternative)
        if len(alternative) < SHORT_Q:
            patterns += [f"{escaped}%", f"% {escaped}%"]
        else:
            patterns.append(f"%{escaped}%")
    return tuple(patterns)


# ---------------------------------------------------------------------------------------------
# Filters


def _utc(moment: datetime | None) -> datetime | None:
    """A time without an offset is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _conditions(query: LeadFilter, *, default_country: str) -> LeadConditions:
    q = (query.q or "").strip()
    patterns = q_patterns(q, default_country=default_country) if q else ()
    return LeadConditions(
        # A q with nothing searchable in it (punctuation and spaces) matches nothing.
        patterns=patterns,
        never=bool(q) and not patterns,
        statuses=tuple(dict.fromkeys(query.status or ())),
        owner_id=query.owner_id,
        unassigned=query.unassigned,
        tags=tuple(dict.fromkeys(t.lower() for t in query.tag or ())),
        city=query.city,
        country=query.country,
        category=query.category,
        source=query.source,
        has_phone=query.has_phone,
        has_email=query.has_email,
        do_not_contact=query.do_not_contact,
        created_from=_utc(query.created_from),
        created_to=_utc(query.created_to),
    )


async def _spec(tx: Tx, actor: Actor, query: LeadFilter) -> LeadQuerySpec:
    """The SQL-ready form of `query`. `listId`: a STATIC list's members; a DYNAMIC list's saved
    filter, ANDed (one level: the saved filter's own listId counts only when it names a STATIC
    list; a DYNAMIC one there is ignored, a list since deleted matches nothing). Another
    tenant's or an unknown list is a 404."""
    settings = await tenants.settings(tx)
    country = settings.default_country
    conditions = [_conditions(query, default_country=country)]
    if query.list_id is not None:
        search = LeadSearch(tx)
        ref = await search.list_ref(query.list_id)
        if ref is None:
            raise NotFound("No such list")
        if ref.kind == "STATIC":
            conditions[0] = replace(conditions[0], member_of=ref.id)
        else:
            try:
                saved = LeadFilter.model_validate(ref.filter or {})
            except ValidationError as exc:
                raise ValidationFailed(
                    "The list's saved filter is not a valid lead filter", field="listId"
                ) from exc
            extra = _conditions(saved, default_country=country)
            if saved.list_id is not None:
                inner = await search.list_ref(saved.list_id)
                if inner is None:
                    extra = replace(extra, never=True)
                elif inner.kind == "STATIC":
                    extra = replace(extra, member_of=inner.id)
            conditions.append(extra)
    return LeadQuerySpec(
        conditions=tuple(conditions),
        deleted=query.deleted,
        visible_to=await visible_to(tx, actor),
    )


async def query_spec(tx: Tx, actor: Actor, query: LeadFilter) -> LeadQuerySpec:
    """`query` as the search runs it for `actor` (lists resolved, visibility included), for a
    feature that runs its own statement over the same leads (bulk actions); sort plays no
    part."""
    return await _spec(tx, actor, query)


# ---------------------------------------------------------------------------------------------
# Sorts and cursors

# sort → (column, descending)
_SORTS: dict[LeadSort, tuple[str, bool]] = {
    LeadSort.CREATED_AT: ("created_at", False),
    LeadSort.CREATED_AT_DESC: ("created_at", True),
    LeadSort.UPDATED_AT: ("updated_at", False),
    LeadSort.UPDATED_AT_DESC: ("updated_at", True),
    LeadSort.NAME: ("name_sort", False),
    LeadSort.NAME_DESC: ("name_sort", True),
    LeadSort.RATING: ("rating", False),
    LeadSort.RATING_DESC: ("rating", True),
    LeadSort.LAST_ACTIVITY_AT: ("last_activity_at", False),
    LeadSort.LAST_ACTIVITY_AT_DESC: ("last_activity_at", True),
}
_CURSOR_VERSION = 1
_MAX_NAME_KEY = 300


def sort_column(sort: LeadSort) -> tuple[str, bool]:
    """The column `sort` orders by (indexed with the id: (tenant_id, column, id)), and whether
    descending."""
    return _SORTS[sort]


def encode_lead_cursor(sort: LeadSort, key: Any, row_id: UUID) -> str:
    """`{v, s: sort, k: the sort key (ISO time, text, number or null), i: id}`, opaque."""
    if isinstance(key, datetime):
        key = key.isoformat()
    return encode_token({"v": _CURSOR_VERSION, "s": sort.value, "k": key, "i": str(row_id)})


def _key(column: str, raw: object) -> Any:
    """The sort key a cursor carries, checked against its column's type."""
    if column in NULLABLE_SORT_COLUMNS and raw is None:
        return None
    if column == "rating":
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 5:
            raise invalid_cursor()
        return float(raw)
    if column == "name_sort":
        if not isinstance(raw, str) or len(raw) > _MAX_NAME_KEY or "\x00" in raw:
            raise invalid_cursor()
        return raw
    if not isinstance(raw, str):
        raise invalid_cursor()
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise invalid_cursor()
        return moment.astimezone(UTC)  # year 1 at +14:00 is year 0 in UTC: no such time
    except (ValueError, OverflowError) as exc:
        raise invalid_cursor() from exc


def decode_lead_cursor(cursor: str, sort: LeadSort) -> KeysetAfter:
    """The position a cursor names; 422 on `cursor` when it is not one of ours, or was made
    for another sort."""
    value = decode_token(cursor)
    if not isinstance(value, dict) or set(value) != {"v", "s", "k", "i"}:
        raise invalid_cursor()
    if value["v"] != _CURSOR_VERSION or not isinstance(value["s"], str):
        raise invalid_cursor()
    if value["s"] != sort.value:
        raise invalid_cursor("The cursor was made for another sort: start again without it")
    if not isinstance(value["i"], str):
        raise invalid_cursor()
    try:
        row_id = UUID(value["i"])
    except ValueError as exc:
        raise invalid_cursor() from exc
    return KeysetAfter(key=_key(_SORTS[sort][0], value["k"]), id=row_id)


# ---------------------------------------------------------------------------------------------
# The calls


async def search(
    tx: Tx, actor: Actor, query: LeadFilter, *, limit: int, cursor: str | None
) -> Page[LeadOut]:
    """A page of the leads matching `query` (what the actor may see), in `query.sort` order,
    then by id; `nextCursor` continues after the page's last lead, None on the last page."""
    column, descending = _SORTS[query.sort]
    after = decode_lead_cursor(cursor, query.sort) if cursor else None
    spec = await _spec(tx, actor, query)
    hits = await LeadSearch(tx).page(
        spec, column=column, descending=descending, after=after, limit=limit + 1
    )
    more = len(hits) > limit
    hits = hits[:limit]
    last = hits[-1] if more else None
    return Page[LeadOut](
        items=[lead_out(h.lead) for h in hits],
        next_cursor=encode_lead_cursor(query.sort, last.sort_key, last.lead.id) if last else None,
    )


async def count(tx: Tx, actor: Actor, query: LeadFilter) -> int:
    """How many leads match `query` (what the actor may see); sort plays no part."""
    return await LeadSearch(tx).count(await _spec(tx, actor, query))
