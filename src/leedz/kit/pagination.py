"""Cursor pagination: `{items, nextCursor}` over a stable `(created_at, id)` order, newest first.

The cursor is opaque to clients (URL-safe base64 of the last row's sort key); a tampered or
foreign cursor is a 422, never a 500. `encode_token`/`decode_token` are the same envelope for
any JSON payload: a feature with its own keyset (leads' sorts) checks the payload's shape.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from leedz.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    items: list[T]
    next_cursor: str | None = Field(default=None)


def encode_token(payload: object) -> str:
    """Any JSON value as an opaque, URL-safe cursor."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(cursor: str) -> object:
    """The JSON value `encode_token` wrapped; anything else is a 422 on `cursor`. The caller
    checks the value's shape (and raises `invalid_cursor()` when it is wrong)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value: object = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise invalid_cursor() from exc
    return value


def invalid_cursor(detail: str = "The cursor is not valid") -> ValidationFailed:
    return ValidationFailed(detail, field="cursor")


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created_at), UUID(row_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise ValidationFailed("The cursor is not valid", field="cursor") from exc


def next_cursor(rows: Sequence[tuple[datetime, UUID]], limit: int) -> str | None:
    """Given up to `limit + 1` sort keys, the cursor of the next page (None on the last one)."""
    if len(rows) <= limit:
        return None
    created_at, row_id = rows[limit - 1]
    return encode_cursor(created_at, row_id)
