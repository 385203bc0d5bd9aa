"""Lists on the wire: a STATIC list holds leads put on it; a DYNAMIC one saves a lead filter.

A saved filter is the GET /v1/leads query's filters (leads/schemas.py `LeadFilter`), without
what only makes sense when reading: `sort`, paging (`limit`, `cursor`), `deleted` (trashed
leads are on no list) and `listId` (a list defined by another list would make evaluation
recursive). Any of those, like any unknown key, is a 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    create_model,
    field_serializer,
    field_validator,
)

from leedz.kit.schemas import ApiIn, ApiModel
from leedz.leads.models import ListKind
from leedz.leads.schemas import LeadFilter, LeadQuery

MAX_LEAD_IDS = 1000

# LeadFilter's fields a saved filter does not take.
NOT_SAVED = frozenset({"sort", "deleted", "list_id"})


def _trimmed(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _blank_is_none(value: str | None) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else value


ListName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_trimmed)]
ListDescription = Annotated[
    str | None, Field(default=None, max_length=2000), AfterValidator(_blank_is_none)
]


def _filter_model(
    name: str, doc: str, *, base: type[LeadFilter], without: frozenset[str]
) -> type[ApiIn]:
    """`base`'s fields but `without`, with their bounds and validators; unknown keys refused.
    It follows the lead query as fields are added there."""
    fields: dict[str, Any] = {
        field: (info.annotation, info)
        for field, info in base.model_fields.items()
        if field not in without
    }
    return create_model(name, __base__=ApiIn, __doc__=doc, __module__=__name__, **fields)


if TYPE_CHECKING:
    ListFilter = LeadFilter
    ListLeadsQuery = LeadQuery
else:
    ListFilter = _filter_model(
        "ListFilter",
        "A DYNAMIC list's saved filter: the filters of GET /v1/leads, without `sort`, paging,"
        " `deleted` and `listId`.",
        base=LeadFilter,
        without=NOT_SAVED,
    )
    ListLeadsQuery = _filter_model(
        "ListLeadsQuery",
        "GET /v1/lists/{id}/leads: the GET /v1/leads query, the list being the path's (no"
        " `listId`), never the trash (no `deleted`).",
        base=LeadQuery,
        without=frozenset({"deleted", "list_id"}),
    )


class ListCreate(ApiIn):
    name: ListName
    description: ListDescription = None
    kind: ListKind
    filter: ListFilter | None = Field(
        default=None, description="Required for a DYNAMIC list, refused for a STATIC one"
    )


class ListUpdate(ApiIn):
    """PATCH: only the fields present change; `description: null` clears it. A list's kind
    never changes; `filter` is a DYNAMIC list's only (and replaces it whole)."""

    name: ListName = None  # type: ignore[assignment] # absent: unchanged; never cleared
    description: ListDescription = None
    filter: ListFilter | None = None

    @field_validator("name", "filter", mode="after")
    @classmethod
    def _not_cleared(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be cleared")
        return value


class ListOut(ApiModel):
    # Documented as read (the serializer below only leaves out the filter's unset keys).
    model_config = ConfigDict(json_schema_mode_override="validation")

    id: UUID
    name: str
    description: str | None
    kind: ListKind
    filter: ListFilter | None
    lead_count: int = Field(
        description="Live leads on the list that the caller may see (a DYNAMIC list: its"
        " filter's count, evaluated now)"
    )
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime

    @field_serializer("filter", mode="wrap")
    def _set_keys_only(self, value: Any, handler: SerializerFunctionWrapHandler) -> Any:
        out = handler(value)
        return {k: v for k, v in out.items() if v is not None} if isinstance(out, dict) else out


def _distinct(ids: list[UUID]) -> list[UUID]:
    if len(set(ids)) != len(ids):
        raise ValueError("must not repeat an id")
    return ids


class ListLeadIds(ApiIn):
    lead_ids: Annotated[
        list[UUID], Field(min_length=1, max_length=MAX_LEAD_IDS), AfterValidator(_distinct)
    ]


class ListLeadsAdded(ApiModel):
    added: int = Field(description="Leads newly put on the list (those already on it: not counted)")
    lead_count: int


class ListLeadsRemoved(ApiModel):
    removed: int = Field(description="Leads taken off the list (those not on it: not counted)")
    lead_count: int
