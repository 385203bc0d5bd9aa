from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response, status

from leedz.access.context import CurrentActor, Require, TenantTx
from leedz.access.permissions import Permission
from leedz.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from leedz.leads import fields, search
from leedz.leads import service as leads
from leedz.leads.schemas import (
    ActivityOut,
    CountOut,
    FieldsOut,
    LeadCreate,
    LeadCreatedOut,
    LeadFilter,
    LeadOut,
    LeadQuery,
    LeadUpdate,
    NoteCreate,
)

router = APIRouter(prefix="/leads", tags=["leads"])


def _etag(response: Response, lead: LeadOut) -> None:
    response.headers["ETag"] = f'"{lead.version}"'


@router.post(
    "", status_code=status.HTTP_201_CREATED, dependencies=[Require(Permission.LEADS_WRITE)]
)
async def create_lead(
    body: LeadCreate, tx: TenantTx, actor: CurrentActor, response: Response
) -> LeadCreatedOut:
    """A lead typed in by a person: 409 `lead_duplicate` when a phone, email or external id
    already belongs to a lead; same-name leads in the same city are named in
    `possibleDuplicates`."""
    lead = await leads.create(tx, actor, body)
    _etag(response, lead)
    response.headers["Location"] = f"/v1/leads/{lead.id}"
    return lead


# Fixed paths (/leads/count, /leads/fields) are declared before /leads/{lead_id}.


@router.get("", dependencies=[Require(Permission.LEADS_READ)])
async def search_leads(
    query: Annotated[LeadQuery, Query()], tx: TenantTx, actor: CurrentActor
) -> Page[LeadOut]:
    """Leads matching `q` and the filters, in `sort` order (then by id), a page at a time:
    pass `nextCursor` back as `cursor` (with the same sort) for the next page. `q` matches
    name, contact name, e-mail, domain and phone (any spelling), Arabic-normalized, as a
    substring (1-2 characters: the start of a word). `tag` and `status` repeat. An unknown
    parameter is a 422. docs/search.md."""
    return await search.search(tx, actor, query, limit=query.limit, cursor=query.cursor)


@router.get("/count", dependencies=[Require(Permission.LEADS_READ)])
async def count_leads(
    query: Annotated[LeadFilter, Query()], tx: TenantTx, actor: CurrentActor
) -> CountOut:
    """How many leads GET /v1/leads would page through with the same filters."""
    return CountOut(count=await search.count(tx, actor, query))


@router.get("/fields", dependencies=[Require(Permission.LEADS_READ)])
async def lead_fields() -> FieldsOut:
    """A lead's fields: type, Arabic and English label, and whether a CSV column may be
    mapped to it (`importable`), a filter or a sort applies to it."""
    return fields.fields()


@router.get("/{lead_id}", dependencies=[Require(Permission.LEADS_READ)])
async def get_lead(lead_id: UUID, tx: TenantTx, actor: CurrentActor, response: Response) -> LeadOut:
    """The lead (also from the trash), its version as `ETag`."""
    lead = await leads.get(tx, actor, lead_id)
    _etag(response, lead)
    return lead


@router.patch("/{lead_id}", dependencies=[Require(Permission.LEADS_WRITE)])
async def update_lead(
    lead_id: UUID,
    body: LeadUpdate,
    tx: TenantTx,
    actor: CurrentActor,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> LeadOut:
    """Change the fields sent; with `If-Match` (the ETag read), 412 `version_conflict` if the
    lead changed since."""
    lead = await leads.update(tx, actor, lead_id, body, if_match=if_match)
    _etag(response, lead)
    return lead


@router.delete(
    "/{lead_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Require(Permission.LEADS_DELETE)],
)
async def delete_lead(lead_id: UUID, tx: TenantTx, actor: CurrentActor) -> None:
    """To the trash: restorable for 30 days, then purged."""
    await leads.delete(tx, actor, lead_id)


@router.post("/{lead_id}/restore", dependencies=[Require(Permission.LEADS_DELETE)])
async def restore_lead(
    lead_id: UUID, tx: TenantTx, actor: CurrentActor, response: Response
) -> LeadOut:
    lead = await leads.restore(tx, actor, lead_id)
    _etag(response, lead)
    return lead


@router.get("/{lead_id}/activities", dependencies=[Require(Permission.LEADS_READ)])
async def list_lead_activities(
    lead_id: UUID,
    tx: TenantTx,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ActivityOut]:
    """The timeline: notes and what happened, with actor and time, newest first."""
    return await leads.activities(tx, actor, lead_id, limit=limit, cursor=cursor)


@router.post(
    "/{lead_id}/notes",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Require(Permission.LEADS_WRITE)],
)
async def add_lead_note(
    lead_id: UUID, body: NoteCreate, tx: TenantTx, actor: CurrentActor
) -> ActivityOut:
    """A note on the timeline, stored as plain text (markup removed)."""
    return await leads.add_note(tx, actor, lead_id, body)
