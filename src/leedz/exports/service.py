"""Which leads an export holds, and where its file is kept.

The selection is GET /v1/leads's: the filter (and a list, and ids — all that are given apply)
as the job's creator sees it now (a SALES member while `salesSeeAllLeads` is off: their own
leads and the unassigned ones), in the filter's sort order.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from leedz.access.context import Actor
from leedz.access.permissions import Permission
from leedz.errors import Forbidden
from leedz.exports.repository import Selection
from leedz.files import service as files
from leedz.files.models import FilePurpose
from leedz.jobs.schemas import ExportInput
from leedz.kit.db import Tx
from leedz.leads import search
from leedz.leads.schemas import LeadFilter
from leedz.plans.service import require_feature


async def may_export(tx: Tx, actor: Actor) -> None:
    """403 unless the job's creator may export now (their role read at this run, not at the
    job's creation: a member demoted since exports nothing), 402 `feature_not_in_plan` unless
    the tenant's plan has `bulk_export` (it may have changed plans since)."""
    if not actor.can(Permission.LEADS_EXPORT):
        raise Forbidden(
            f"Your role ({actor.role.value}) lacks the permission {Permission.LEADS_EXPORT.value}",
            permission=Permission.LEADS_EXPORT.value,
        )
    await require_feature(tx, "bulk_export")


async def selection(tx: Tx, actor: Actor, body: ExportInput) -> Selection:
    """The leads `body` selects as `actor` may see them: its filter AND its list AND its ids
    (each when given; none given: every lead the actor sees). An unknown list is a 404."""
    query = body.filter or LeadFilter()
    spec = await search.query_spec(tx, actor, query)
    if body.list_id is not None:
        listed = await search.query_spec(tx, actor, LeadFilter(list_id=body.list_id))
        spec = replace(spec, conditions=spec.conditions + listed.conditions)
    if body.lead_ids is not None:
        spec = replace(spec, among=tuple(dict.fromkeys(body.lead_ids)))
    column, descending = search.sort_column(query.sort)
    return Selection(spec=spec, sort_column=column, descending=descending)


async def keep_file(tx: Tx, *, path: Path, name: str, content_type: str, file_format: str) -> str:
    """Store the finished export at `path` (an EXPORT file: its creator, or a member with
    `leads:export`, may download it for 7 days); its file id."""
    row = await files.store_generated(
        tx,
        path=path,
        name=name,
        purpose=FilePurpose.EXPORT,
        content_type=content_type,
        file_format=file_format,
    )
    return str(row.id)
