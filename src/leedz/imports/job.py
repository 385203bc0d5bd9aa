"""The IMPORT job: a file's rows into leads, in batches that a killed worker resumes.

`run(unit)` is the worker's handler (jobs/work.py). The rows are handled `import_batch_rows`
(1,000) at a time, each batch one `unit.batch()` transaction that stores the leads, the
batch's report lines (`import_rows`) and the checkpoint together:

    {"nextRow": <the first row number not yet handled>, "counts": {...}}

A worker killed mid-import leaves the last committed batch; the next one skips the rows before
`nextRow` and goes on, so the leads, the counts and the report equal an uninterrupted run's
(the report is read back from `import_rows`, where each line was stored once, by its batch).
A dry run stores no lead and keeps what it would have created in memory: resumed, it starts
over (its lines so far are deleted first). At the end the report CSV (`row, action, leadId,
error`) is stored as an IMPORT_REPORT file and the checkpoint names it, so a worker killed
after that only answers the output.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import shutil
import tempfile
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from leedz.audit import service as audit
from leedz.config import get_settings
from leedz.exports.cells import defuse
from leedz.files import service as files
from leedz.files.models import FilePurpose
from leedz.files.repository import Files
from leedz.imports import reader, service
from leedz.imports.record import Phones, RowMapping, read_row
from leedz.imports.repository import ImportRows, ReportLine
from leedz.jobs.schemas import ImportInput
from leedz.jobs.work import Cancelled, WorkUnit
from leedz.kit.db import Tx
from leedz.tenants import service as tenants

REPORT_HEADER = ("row", "action", "leadId", "error")
COUNTED = ("created", "updated", "joined", "skipped", "failed")

Rows = Iterable[tuple[int, Sequence[str]]] | AsyncIterable[tuple[int, Sequence[str]]]
_Pending = list[tuple[int, Sequence[str]]]
StoreReport = Callable[[Tx, Path, str], Awaitable[UUID]]
"""Stores the report CSV at the path (as the transaction's user) under a name; its file id."""


async def run(unit: WorkUnit) -> dict[str, Any] | Cancelled:
    """The IMPORT handler (jobs/work.py): the job's file, read as its upload was detected
    (or on the sheet the input names), imported with `import_rows`."""
    body = ImportInput.model_validate(unit.job.input)
    progress = Progress.of(unit.checkpoint)
    if progress.report_file_id is not None:
        return progress.output()
    with tempfile.TemporaryDirectory(prefix="leedz-import-") as directory:
        path = Path(directory) / "upload"
        async with unit.read() as tx:
            row = await Files(tx).get(body.file_id)
            async with files.local_copy(tx, file_id=body.file_id) as stored:
                await asyncio.to_thread(shutil.copyfile, stored, path)
        detected = (
            reader.Detected.from_json(row.detected) if row is not None and row.detected else None
        )
        if detected is None or (body.sheet is not None and body.sheet != detected.sheet):
            name = row.name if row is not None else "upload"
            detected = await asyncio.to_thread(reader.detect, path, name=name, sheet=body.sheet)
        after = 0 if body.dry_run else max(progress.next_row - 1, 0)
        numbered = reader.numbered_rows(path, detected, sheet=body.sheet, after=after)
        return await import_rows(
            unit,
            body,
            detected.header,
            _in_thread(numbered, get_settings().import_batch_rows),
            store_report=store_report,
            total=detected.row_estimate or None,
        )


async def _in_thread(
    rows: Iterator[tuple[int, list[str]]], size: int
) -> AsyncIterator[tuple[int, list[str]]]:
    """The reader's rows, read (and decoded, parsed) `size` at a time off the event loop."""
    while chunk := await asyncio.to_thread(lambda: list(itertools.islice(rows, size))):
        for row in chunk:
            yield row


async def store_report(tx: Tx, path: Path, name: str) -> UUID:
    """The report CSV, stored as an IMPORT_REPORT file (kept 7 days)."""
    stored = await files.store_generated(
        tx,
        path=path,
        name=name,
        purpose=FilePurpose.IMPORT_REPORT,
        content_type="text/csv; charset=utf-8",
        file_format="CSV",
    )
    return stored.id


@dataclass
class Progress:
    """The checkpoint: where the import is, and what it did so far."""

    next_row: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    report_file_id: str | None = None

    @classmethod
    def of(cls, checkpoint: dict[str, Any] | None) -> Progress:
        if not checkpoint:
            return cls()
        counts = dict.fromkeys(COUNTED, 0) | {
            k: int(v) for k, v in (checkpoint.get("counts") or {}).items() if k in COUNTED
        }
        return cls(
            next_row=int(checkpoint.get("nextRow", 0)),
            counts=counts,
            report_file_id=checkpoint.get("reportFileId"),
        )

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"nextRow": self.next_row, "counts": dict(self.counts),
                               "report": "import_rows"}  # fmt: skip
        if self.report_file_id is not None:
            out["reportFileId"] = self.report_file_id
        return out

    def output(self) -> dict[str, Any]:
        return {
            "rows": sum(self.counts.values()),
            **self.counts,
            "reportFileId": self.report_file_id,
        }


async def _aiter(rows: Rows) -> AsyncIterator[tuple[int, Sequence[str]]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


@dataclass
class _ReadAhead:
    """A batch's rows, being read (`read_row`) in a thread while the batch before it is at the
    database, with the tenant's default country as it was known then."""

    pending: Sequence[tuple[int, Sequence[str]]]
    default_country: str
    task: asyncio.Task[list[service.RowIn]]

    def discard(self) -> None:
        self.task.cancel()  # the thread finishes on its own: reading is pure


@dataclass
class _Import:
    """One run of an import over the file's rows (a resumed run is a new one)."""

    unit: WorkUnit
    body: ImportInput
    mapping: RowMapping
    progress: Progress
    total: int | None
    restart: bool  # a dry run resumed: its lines so far go, it starts over
    ghosts: service.Ghosts | None
    default_country: str  # the tenant's, as the last batch read it
    done: int = 0
    phones: Phones = field(default_factory=Phones)  # the job's phone spellings, normalized

    def read(
        self, pending: Sequence[tuple[int, Sequence[str]]], default_country: str
    ) -> list[service.RowIn]:
        body = self.body
        return [
            service.RowIn(
                number,
                read_row(
                    cells,
                    self.mapping,
                    tags=body.tags,
                    country=body.country,
                    default_country=default_country,
                    phones=self.phones,
                ),
            )
            for number, cells in pending
        ]

    def read_ahead(self, pending: Sequence[tuple[int, Sequence[str]]]) -> _ReadAhead:
        country = self.default_country
        task = asyncio.ensure_future(asyncio.to_thread(self.read, pending, country))
        return _ReadAhead(pending, country, task)

    async def batch(self, ahead: _ReadAhead) -> None:
        """The rows of one batch, in one transaction with their lines and the checkpoint. The
        rows were read ahead; read again when the tenant's default country changed since."""
        body, pending = self.body, ahead.pending
        read = await ahead.task
        async with self.unit.batch() as tx:
            if self.restart:
                await ImportRows(tx).delete(self.unit.job.id)
                self.restart = False
            ctx = await service.context(tx, self.unit.actor, self.unit.job.id, body)
            self.default_country = (await tenants.settings(tx)).default_country
            if self.default_country != ahead.default_country:
                read = self.read(pending, self.default_country)
            lines = await service.import_batch(tx, ctx, read, ghosts=self.ghosts)
            for line in lines:
                self.progress.counts[line.action] += 1
            self.progress.next_row = pending[-1][0] + 1
            self.done += len(pending)
            percent = min(99, self.done * 100 // self.total) if self.total else 0
            self.unit.save(tx, checkpoint=self.progress.dump(), progress=percent)

    async def batches(self, rows: Rows, size: int) -> AsyncIterator[_Pending]:
        """The rows of `rows` from `progress.next_row` on, `size` at a time, then the rest
        (fewer; none when there is no rest), then an empty list: the end."""
        pending: _Pending = []
        async for number, cells in _aiter(rows):
            if number < self.progress.next_row:
                continue
            pending.append((number, cells))
            if len(pending) >= size:
                yield pending
                pending = []
        if pending:
            yield pending
        yield []

    async def all(self, rows: Rows, size: int) -> bool:
        """Every batch of `rows` from `progress.next_row` on, `size` rows each, the next one
        read while one is at the database; whether the job was cancelled (checked after each
        full batch)."""
        queued: _ReadAhead | None = None  # the next batch, being read
        try:
            async for pending in self.batches(rows, size):
                ahead = self.read_ahead(pending) if pending else None
                if queued is not None:
                    current, queued = queued, ahead
                    await self.batch(current)
                    full = len(current.pending) >= size  # the rest is not checked after
                    if full and self.unit.cancel_requested:
                        return True
                queued = ahead
            return False
        finally:
            if queued is not None:
                queued.discard()


async def import_rows(
    unit: WorkUnit,
    body: ImportInput,
    header: Sequence[str],
    rows: Rows,
    *,
    store_report: StoreReport = store_report,
    total: int | None = None,
    batch_rows: int | None = None,
) -> dict[str, Any] | Cancelled:
    """Import `rows` ((spreadsheet row number, cells), in order) of a file with `header`
    under `body`; the output, or `Cancelled` with the output so far.

    Each batch's rows are read (`read_row`: validation, phones, name keys, pure Python) in a
    thread while the batch before it is at the database, so the two overlap; the batches
    still run one after the other, in order, each in its own transaction."""
    size = batch_rows or get_settings().import_batch_rows
    progress = Progress.of(unit.checkpoint)
    if progress.report_file_id is not None:
        return progress.output()
    restart = body.dry_run and unit.checkpoint is not None
    async with unit.read() as tx:
        default_country = (await tenants.settings(tx)).default_country
    run = _Import(
        unit=unit,
        body=body,
        mapping=RowMapping.compile(header, body.mapping),
        progress=Progress() if restart else progress,
        total=total,
        restart=restart,
        ghosts=service.Ghosts() if body.dry_run else None,
        default_country=default_country,
    )
    cancelled = await run.all(rows, size)
    await _finish(unit, body, run.progress, store_report)
    return Cancelled(run.progress.output()) if cancelled else run.progress.output()


async def _finish(
    unit: WorkUnit, body: ImportInput, progress: Progress, store_report: StoreReport
) -> None:
    """The report, stored as a file; the checkpoint names it (a dry run's lines go)."""
    async with unit.batch() as tx:
        rows = ImportRows(tx)
        with tempfile.TemporaryDirectory(prefix="leedz-import-") as directory:
            path = Path(directory) / "report.csv"
            await _write_report(path, rows.lines(unit.job.id))
            file_id = await store_report(tx, path, f"import-{unit.job.id}-report.csv")
        progress.report_file_id = str(file_id)
        if body.dry_run:  # stores nothing: not even its lines, nor an audit row
            await rows.delete(unit.job.id)
        else:
            await audit.record(
                tx,
                "import.completed",
                actor=unit.actor,
                entity_type="job",
                entity_id=unit.job.id,
                details={**progress.counts, "reportFileId": str(file_id)},
            )
        unit.save(tx, checkpoint=progress.dump(), progress=100)


async def _write_report(path: Path, lines: AsyncIterator[ReportLine]) -> None:
    """`row, action, leadId, error` per line, UTF-8 with a BOM (Excel shows Arabic errors)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(REPORT_HEADER)
        async for line in lines:
            writer.writerow(
                (line.row_number, line.action, line.lead_id or "", defuse(line.error or ""))
            )
