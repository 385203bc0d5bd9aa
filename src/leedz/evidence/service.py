"""Evidence uploads: validated and size-checked as a whole batch, sanitized, hashed, stored once.

The agent endpoint checks the lease, then calls `store_batch` in the request's transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import ValidationError

from leedz.errors import NotFound, PayloadTooLarge, ValidationFailed
from leedz.evidence.repository import EvidenceRow, EvidenceRows
from leedz.evidence.schemas import BATCH_MAX_ITEMS, EvidenceIn, EvidenceUploadOut
from leedz.kit.db import Tx
from leedz.kit.sanitize import sanitize_snippet

SNIPPET_MAX_BYTES = 10_240
"""A snippet is an excerpt shown in a list, not a page dump: 10 KB of UTF-8 as sent."""
RAW_DATA_MAX_BYTES = 51_200
"""A connector's structured record (a listing with its hours and reviews) fits in 50 KB of
canonical JSON; a batch of 100 stays within a few MB, under the request body limit."""
RAW_DATA_MAX_DEPTH = 8
"""Real records nest a few levels (listing → reviews → review → author). Deeper is a sign of
abuse, and every later reader (jsonb operators, recursive JSON code, the app's tree view) pays
for each level; orjson itself gives up at 254."""


def _canonical_json(value: Any) -> bytes:
    """Compact UTF-8 JSON with sorted keys: equal data, equal bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _invalid(index: int, field: str | None, message: str, **extra: Any) -> ValidationFailed:
    loc: list[str | int] = ["body", "items", index]
    if field is not None:
        loc.append(field)
        extra["field"] = field
    return ValidationFailed(
        f"Item {index}: {message}",
        item=index,
        **extra,
        errors=[{"loc": loc, "msg": message, "type": "value_error"}],
    )


def _too_large(index: int, field: str, limit: int, size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Item {index}: {field} is {size} bytes, the limit is {limit}",
        item=index,
        field=field,
        limit=limit,
    )


def _too_deep(index: int) -> ValidationFailed:
    return _invalid(
        index, "rawData", f"nests more than {RAW_DATA_MAX_DEPTH} levels", limit=RAW_DATA_MAX_DEPTH
    )


def deeper_than(value: Any, limit: int) -> bool:
    """True if dicts/lists nest more than `limit` levels. Iterative: no recursion to exhaust."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def has_nul(value: Any) -> bool:
    """A NUL in any key or string: jsonb cannot store it (ApiIn refuses it in plain fields)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _check_raw_data(index: int, raw: Any) -> None:
    deep = isinstance(raw, dict | list) and deeper_than(raw, RAW_DATA_MAX_DEPTH)
    try:
        size = len(_canonical_json(raw))
    except orjson.JSONEncodeError as exc:
        # Nested beyond orjson's own limit, a non-string key, an integer beyond 64 bits,
        # a lone surrogate.
        if deep:
            raise _too_deep(index) from exc
        raise _invalid(index, "rawData", "is not representable as JSON") from exc
    if size > RAW_DATA_MAX_BYTES:
        raise _too_large(index, "rawData", RAW_DATA_MAX_BYTES, size)
    if deep:
        raise _too_deep(index)
    if has_nul(raw):
        raise _invalid(index, "rawData", "contains a NUL character")


def _check_sizes(index: int, item: dict[str, Any]) -> None:
    """The limits, on the item as received (before sanitizing or validating it)."""
    snippet = item.get("snippet")
    if isinstance(snippet, str):
        size = len(snippet.encode("utf-8", "surrogatepass"))
        if size > SNIPPET_MAX_BYTES:
            raise _too_large(index, "snippet", SNIPPET_MAX_BYTES, size)
    for key in ("rawData", "raw_data"):  # ApiIn accepts the field name too
        if item.get(key) is not None:
            _check_raw_data(index, item[key])


def _validated(index: int, item: object) -> EvidenceIn:
    if not isinstance(item, dict):
        raise _invalid(index, None, "must be an object")
    _check_sizes(index, item)
    try:
        return EvidenceIn.model_validate(item)
    except ValidationError as exc:
        raise ValidationFailed(
            f"Item {index} is not valid evidence",
            item=index,
            errors=[
                {"loc": ["body", "items", index, *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ],
        ) from exc


def _row(evidence: EvidenceIn) -> EvidenceRow:
    snippet = sanitize_snippet(evidence.snippet)
    raw_json = None if evidence.raw_data is None else _canonical_json(evidence.raw_data)
    digest = hashlib.sha256(
        _canonical_json(
            {
                "type": evidence.type.value,
                "title": evidence.title,
                "source": evidence.source,
                "url": evidence.url,
                "snippet": snippet,
                "confidence": evidence.confidence.value,
                "rawData": evidence.raw_data,
            }
        )
    ).hexdigest()
    return EvidenceRow(
        type=evidence.type.value,
        title=evidence.title,
        source=evidence.source,
        url=evidence.url,
        snippet=snippet,
        confidence=evidence.confidence.value,
        raw_data=None if raw_json is None else raw_json.decode(),
        hash=digest,
        size_bytes=len(snippet.encode()) + (len(raw_json) if raw_json else 0),
        collected_at=evidence.collected_at,
    )


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One item of an upload once stored (now, or by an earlier upload: `new` False), with what
    resolution reads of it."""

    index: int
    evidence_id: UUID
    new: bool
    type: str
    confidence: str
    raw_data: dict[str, Any] | None
    collected_at: datetime


@dataclass(frozen=True, slots=True)
class StoredBatch:
    out: EvidenceUploadOut
    items: list[StoredItem]


async def store_batch(tx: Tx, *, job_id: UUID, items: list[dict[str, Any]]) -> EvidenceUploadOut:
    """`store_items`' answer to the agent (see there)."""
    return (await store_items(tx, job_id=job_id, items=items)).out


async def store_items(tx: Tx, *, job_id: UUID, items: list[dict[str, Any]]) -> StoredBatch:
    """Store a job's evidence items, all or none: any invalid or oversized item refuses the batch.

    An item's hash (SHA-256) covers type, title, source, url, sanitized snippet, confidence and
    rawData but not collectedAt: the same thing seen twice in a job is one row, and a retried
    upload stores nothing twice. `stored` has the new rows' ids and `duplicates` the hash of
    every other item (already stored, or repeated in the batch), both in input order.
    Raises NotFound (no such job in the tenant), or PayloadTooLarge (413: snippet or rawData
    over its limit) and ValidationFailed (422) naming the item's index as `item`.
    """
    if len(items) > BATCH_MAX_ITEMS:  # the schema's bound, kept for callers that skip it
        raise ValidationFailed(
            f"At most {BATCH_MAX_ITEMS} items per upload",
            limit=BATCH_MAX_ITEMS,
            errors=[{"loc": ["body", "items"], "msg": "too many items", "type": "too_long"}],
        )
    evidence_rows = EvidenceRows(tx)
    if not await evidence_rows.job_exists(job_id):
        raise NotFound("No such job")
    validated = [_validated(index, item) for index, item in enumerate(items)]
    rows = [_row(evidence) for evidence in validated]
    first_of_hash: dict[str, EvidenceRow] = {}
    for row in rows:
        first_of_hash.setdefault(row.hash, row)
    inserted = await evidence_rows.insert_new(job_id, list(first_of_hash.values()))
    earlier = await evidence_rows.ids_of(job_id, [h for h in first_of_hash if h not in inserted])
    ids = inserted | earlier
    stored: list[UUID] = []
    duplicates: list[str] = []
    seen: set[str] = set()
    out_items: list[StoredItem] = []
    for index, (row, evidence) in enumerate(zip(rows, validated, strict=True)):
        new = row.hash in inserted and row.hash not in seen
        seen.add(row.hash)
        if new:
            stored.append(inserted[row.hash])
        else:
            duplicates.append(row.hash)
        out_items.append(
            StoredItem(
                index=index,
                evidence_id=ids[row.hash],
                new=new,
                type=row.type,
                confidence=row.confidence,
                raw_data=evidence.raw_data,
                collected_at=row.collected_at,
            )
        )
    return StoredBatch(out=EvidenceUploadOut(stored=stored, duplicates=duplicates), items=out_items)
