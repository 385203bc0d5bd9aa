from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from leedz.access.context import CurrentActor, Require, TenantTx
from leedz.access.permissions import Permission
from leedz.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from leedz.leads.models import ListKind
from leedz.leads.schemas import LeadOut
from leedz.lists import service as lists
from leedz.lists.schemas import (
    ListCreate,
    ListLeadIds,
    ListLeadsAdded,
    ListLeadsQuery,
    ListLeadsRemoved,
    ListOut,
    ListUpdate,
)

router = APIRouter(prefix="/lists", tags=["lists"])

# Changing a list needs `lists:manage_own` here (every role with `lists:manage` has it too);
# the service lets it change only the lists the caller created, any list with `lists:manage`.


@router.post(
    "", status_code=status.HTTP_201_CREATED, dependencies=[Require(Permission.LISTS_MANAGE_OWN)]
)
async def create_list(
    body: ListCreate, tx: TenantTx, actor: CurrentActor, response: Response
) -> ListOut:
    """A STATIC list (leads are put on it) or a DYNAMIC one (`filter`: the leads it matches)."""
    created = await lists.create(tx, actor, body)
    response.headers["Location"] = f"/v1/lists/{created.id}"
    return created


@router.get("", dependencies=[Require(Permission.LEADS_READ)])
async def list_lists(
    tx: TenantTx,
    actor: CurrentActor,
    kind: ListKind | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ListOut]:
    """The tenant's lists, newest first, with the number of leads the caller sees on each."""
    return await lists.list_lists(tx, actor, limit=limit, cursor=cursor, kind=kind)


@router.get("/{list_id}", dependencies=[Require(Permission.LEADS_READ)])
async def get_list(list_id: UUID, tx: TenantTx, actor: CurrentActor) -> ListOut:
    return await lists.get(tx, actor, list_id)


@router.patch("/{list_id}", dependencies=[Require(Permission.LISTS_MANAGE_OWN)])
async def update_list(
    list_id: UUID, body: ListUpdate, tx: TenantTx, actor: CurrentActor
) -> ListOut:
    """Rename, describe, or (a DYNAMIC list) replace the filter."""
    return await lists.update(tx, actor, list_id, body)


@router.delete(
    "/{list_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Require(Permission.LISTS_MANAGE_OWN)],
)
async def delete_list(list_id: UUID, tx: TenantTx, actor: CurrentActor) -> None:
    """The list goes; its leads stay."""
    await lists.delete(tx, actor, list_id)


@router.get("/{list_id}/leads", dependencies=[Require(Permission.LEADS_READ)])
async def list_list_leads(
    list_id: UUID,
    query: Annotated[ListLeadsQuery, Query()],
    tx: TenantTx,
    actor: CurrentActor,
) -> Page[LeadOut]:
    """The list's leads, searched with the GET /v1/leads query (no `listId`, no `deleted`)."""
    return await lists.list_leads(tx, actor, list_id, query)


@router.post("/{list_id}/leads", dependencies=[Require(Permission.LISTS_MANAGE_OWN)])
async def add_list_leads(
    list_id: UUID, body: ListLeadIds, tx: TenantTx, actor: CurrentActor
) -> ListLeadsAdded:
    """Put up to 1,000 leads on a STATIC list; those already on it are not counted again."""
    return await lists.add_leads(tx, actor, list_id, body)


@router.delete("/{list_id}/leads", dependencies=[Require(Permission.LISTS_MANAGE_OWN)])
async def remove_list_leads(
    list_id: UUID, body: ListLeadIds, tx: TenantTx, actor: CurrentActor
) -> ListLeadsRemoved:
    """Take up to 1,000 leads off a STATIC list; those not on it are not counted."""
    return await lists.remove_leads(tx, actor, list_id, body)
