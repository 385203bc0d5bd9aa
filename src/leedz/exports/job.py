"""The EXPORT job: the selected leads into a CSV or XLSX file, streamed (docs/exports.md).

One long read (`unit.read()`) walks a server-side cursor `FETCH_ROWS` leads at a time; each
batch is written to a file on the worker's disk (in a thread, while the next batch is fetched),
so memory holds two batches whatever the export's size. Every `PROGRESS_ROWS` leads a short
batch transaction stores the progress (and proves the lease is still held); a cancel request
seen there stops the export: the output says how many leads were read, and no file is kept.
The last batch keeps the file, writes the `leads.exported` audit row and a checkpoint naming
the file, in one transaction.

A worker that dies mid-export leaves nothing behind but progress: the next one starts over
(the half-written file was on the dead worker's disk, and a fresh read is one consistent
snapshot), unless the checkpoint names the file, in which case the export is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from leedz.audit import service as audit
from leedz.errors import ValidationFailed
from leedz.exports import service
from leedz.exports.columns import plan
from leedz.exports.repository import ExportReads
from leedz.exports.writers import XLSX_MAX_ROWS, ExportTooLarge, open_sheet
from leedz.jobs.schemas import ExportFormat, ExportInput
from leedz.jobs.work import Cancelled, WorkUnit
from leedz.tenants import service as tenants

FETCH_ROWS = 2_000
PROGRESS_ROWS = 20_000
READ_STATEMENT_TIMEOUT_MS = 600_000
"""The survey of the selection reads all of it in one statement (seconds per million leads),
and a sort no index serves (by rating) sorts it before the first row: more than a request's
statement timeout allows."""


async def run(unit: WorkUnit) -> dict[str, Any] | Cancelled:
    """Run an EXPORT job: `{rows, fileId}`, or Cancelled(`{rows, fileId: null}`)."""
    return await export(unit)


def _input(unit: WorkUnit) -> ExportInput:
    columns = unit.job.input.get("columns")
    if isinstance(columns, list) and all(isinstance(c, str) for c in columns):
        plan(columns)  # an unknown one: export_column_unknown, naming them all
    try:
        return ExportInput.model_validate(unit.job.input)
    except ValidationError as exc:
        raise ValidationFailed(
            "The job's input is not a valid EXPORT input",
            errors=[{"loc": ["input", *e["loc"]], "msg": e["msg"]} for e in exc.errors()],
        ) from exc


def _cancelled(unit: WorkUnit) -> bool:
    """Read anew each time (a batch refreshes it)."""
    return unit.cancel_requested


async def export(
    unit: WorkUnit, *, fetch_rows: int = FETCH_ROWS, progress_rows: int = PROGRESS_ROWS
) -> dict[str, Any] | Cancelled:
    """`run`, with the batch sizes as parameters (tests use small ones)."""
    done = unit.checkpoint or {}
    if done.get("fileId"):  # the last batch committed before the worker died
        return {"rows": done["rows"], "fileId": done["fileId"]}
    body = _input(unit)
    wanted = plan(body.columns)
    if _cancelled(unit):
        return Cancelled({"rows": 0, "fileId": None})
    name = f"leads-{datetime.now(UTC):%Y%m%d-%H%M%S}.{body.format.value.lower()}"
    with tempfile.TemporaryDirectory(prefix="leedz-export-") as scratch:
        path = Path(scratch) / name
        async with unit.read() as tx:
            reads = ExportReads(tx)
            await reads.allow_long_statements(READ_STATEMENT_TIMEOUT_MS)
            await service.may_export(tx, unit.actor)
            settings = await tenants.settings(tx)
            chosen = await service.selection(tx, unit.actor, body)
            survey = await reads.survey(chosen, wanted.families)
            total = survey.leads
            if body.format is ExportFormat.XLSX and total >= XLSX_MAX_ROWS:
                raise ExportTooLarge(
                    f"{total:,} leads do not fit in an Excel sheet"
                    f" ({XLSX_MAX_ROWS - 1:,} at most): export them as CSV, or fewer",
                    rows=total,
                )
            columns = wanted.expand(survey.keys)
            sheet = open_sheet(
                body.format.value,
                path,
                [c.kind for c in columns],
                right_to_left=settings.language == "ar",
            )
            rows = reported = 0
            pending: asyncio.Future[None] | None = None
            try:
                sheet.header([c.header(settings.language) for c in columns])
                async for batch in reads.rows(
                    chosen,
                    columns,
                    typed=body.format is ExportFormat.XLSX,
                    timezone=settings.timezone,
                    batch=fetch_rows,
                ):
                    if pending is not None:
                        await pending
                    # Written in a thread while the cursor fetches the next batch.
                    pending = asyncio.ensure_future(asyncio.to_thread(sheet.write, batch))
                    rows += len(batch)
                    if rows - reported >= progress_rows:
                        reported = rows
                        async with unit.batch() as progress_tx:
                            unit.save(
                                progress_tx,
                                checkpoint={"rows": rows},
                                progress=min(99, rows * 100 // max(total, 1)),
                            )
                        if _cancelled(unit):
                            return Cancelled({"rows": rows, "fileId": None})
                if pending is not None:
                    await pending
                    pending = None
            finally:
                if pending is not None:  # never close the file under a writing thread
                    with contextlib.suppress(Exception):
                        await pending
                await asyncio.to_thread(sheet.close)
        async with unit.batch() as tx:
            await service.may_export(tx, unit.actor)  # the role as the lease re-read it
            file_id = await service.keep_file(
                tx,
                path=path,
                name=name,
                content_type=sheet.content_type,
                file_format=body.format.value,
            )
            await audit.record(
                tx,
                "leads.exported",
                actor=unit.actor,
                entity_type="job",
                entity_id=unit.job.id,
                details={
                    "rows": rows,
                    "format": body.format.value,
                    "fileId": file_id,
                    "columns": [c.key for c in columns],
                },
            )
            unit.save(tx, checkpoint={"rows": rows, "fileId": file_id}, progress=100)
    return {"rows": rows, "fileId": file_id}
