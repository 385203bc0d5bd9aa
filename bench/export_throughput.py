"""export_throughput: 1,000,000 leads to CSV and to XLSX, against COPY of the same cells.

Subject: the EXPORT job's handler (leedz.exports.job) run in this process on the app's
Database, as the tenant's owner: the tenant's settings, the selection (every live lead,
newest first), the count, the object keys in use, the server-side cursor in batches of 2,000,
the cells defused and written to a file on disk (in a thread, beside the next fetch), progress
stored every 20,000 leads, the file stored by the files feature (hashed, copied into the local
store) and the audit row written at the end. Default columns
(every field a person sets, the object fields expanded to the keys in use).

Ceiling: `COPY (SELECT …) TO STDOUT` of the very statement the export's cursor runs (the same
cells, the same order, as the application role with the same tenant context) into a file on
the same disk: PostgreSQL formats and sends the rows, the client only writes bytes.

Rounds: ceiling and subject alternate, CSV then XLSX: 2 rounds of CSV
(LEEDZ_BENCH_EXPORT_ROUNDS), 1 of XLSX (LEEDZ_BENCH_EXPORT_XLSX_ROUNDS: minutes each). A note
gives each writer's own speed on 20,000 rows already read (no database): the bound it sets. Targets:
CSV rows/s >= 0.3 x ceiling, XLSX >= 0.05 x ceiling; the process's RSS (sampled every 20 ms)
grows <= 100 MB above its level before each export.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from pydantic import SecretStr
from tests.support.work import InlineUnit

from bench.harness import Check, Result, Sample
from bench.leads_data import Dataset, Datasets, bench_size
from leedz.access.roles import Role
from leedz.config import Environment, Settings
from leedz.exports import job, service
from leedz.exports.columns import plan
from leedz.exports.repository import ExportReads, rows_sql
from leedz.exports.writers import open_sheet
from leedz.files.storage import ObjectKey, current_storage
from leedz.jobs.models import JobType
from leedz.jobs.schemas import ExportInput
from leedz.jobs.work import Cancelled
from leedz.kit.db import Database
from leedz.tenants import service as tenants

# Rounds per format (XLSX's take minutes each at 1,000,000 leads).
ROUNDS = {
    "CSV": int(os.environ.get("LEEDZ_BENCH_EXPORT_ROUNDS", "2")),
    "XLSX": int(os.environ.get("LEEDZ_BENCH_EXPORT_XLSX_ROUNDS", "1")),
}
RSS_LIMIT_MB = 100.0
TARGETS = {"CSV": 0.3, "XLSX": 0.05}


class RssPeak:
    """The process's resident set, sampled in a thread: the peak above the level at start."""

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE")
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self._page

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def _settings() -> Settings:
    return Settings(
        env=Environment.TEST,
        data_dir=Path(tempfile.mkdtemp(prefix="leedz-bench-export-")),
        jwt_secret=SecretStr("bench-export-" + "e" * 40),
        log_level="WARNING",
    )


def _unit(db: Database, dataset: Dataset, fmt: str) -> InlineUnit:
    owner = dataset.owners[0]
    return InlineUnit(
        db,
        tenant_id=owner.tenant_id,
        user_id=owner.user_id,
        role=Role.OWNER,
        job_type=JobType.EXPORT,
        job_input={"format": fmt},
    )


async def _subject(db: Database, dataset: Dataset, fmt: str) -> tuple[Sample, float, int]:
    with RssPeak() as rss:
        began = time.perf_counter()
        output = await job.run(_unit(db, dataset, fmt))
        seconds = time.perf_counter() - began
    assert not isinstance(output, Cancelled)
    rows = int(output["rows"])
    owner = dataset.owners[0]
    async with db.transaction(tenant_id=owner.tenant_id, user_id=owner.user_id) as tx:
        stored = await tx.raw.fetchrow(
            "SELECT size, storage_key FROM files WHERE id = $1", uuid.UUID(output["fileId"])
        )
    assert stored is not None
    size = int(stored["size"])
    await current_storage().delete(ObjectKey.parse(stored["storage_key"]))  # 100s of MB
    ms = seconds * 1000
    return Sample(rows / seconds, ms, ms), rss.growth_mb, size


async def _ceiling(db: Database, dataset: Dataset, fmt: str) -> tuple[Sample, int]:
    """COPY of the export's own statement, as the app role in the tenant, into a file."""
    owner = dataset.owners[0]
    unit = _unit(db, dataset, fmt)
    body = ExportInput.model_validate(unit.job.input)
    wanted = plan(body.columns)
    with tempfile.TemporaryDirectory(prefix="leedz-bench-copy-") as scratch:
        target = Path(scratch) / "copy.txt"
        async with db.transaction(tenant_id=owner.tenant_id, user_id=owner.user_id) as tx:
            await ExportReads(tx).allow_long_statements(job.READ_STATEMENT_TIMEOUT_MS)
            settings = await tenants.settings(tx)
            chosen = await service.selection(tx, unit.actor, body)
            columns = wanted.expand((await ExportReads(tx).survey(chosen, wanted.families)).keys)
            sql, args = rows_sql(chosen, columns, typed=fmt == "XLSX", timezone=settings.timezone)
            began = time.perf_counter()  # the COPY alone
            status = await tx.raw.copy_from_query(sql, owner.tenant_id, *args, output=target)
            seconds = time.perf_counter() - began
        rows = int(status.split()[-1])
        size = target.stat().st_size
    ms = seconds * 1000
    return Sample(rows / seconds, ms, ms), size


async def _writer_alone(db: Database, dataset: Dataset, fmt: str, count: int = 20_000) -> float:
    """rows/s of the file writer alone on `count` rows already read (no database)."""
    owner = dataset.owners[0]
    unit = _unit(db, dataset, fmt)
    body = ExportInput.model_validate(unit.job.input)
    wanted = plan(body.columns)
    async with db.transaction(tenant_id=owner.tenant_id, user_id=owner.user_id) as tx:
        settings = await tenants.settings(tx)
        chosen = await service.selection(tx, unit.actor, body)
        reads = ExportReads(tx)
        columns = wanted.expand((await reads.survey(chosen, wanted.families)).keys)
        rows = await anext(
            reads.rows(
                chosen, columns, typed=fmt == "XLSX", timezone=settings.timezone, batch=count
            )
        )
    with tempfile.TemporaryDirectory(prefix="leedz-bench-writer-") as scratch:
        sheet = open_sheet(fmt, Path(scratch) / "w", [c.kind for c in columns], right_to_left=True)
        began = time.perf_counter()
        sheet.header([c.key for c in columns])
        for start in range(0, len(rows), job.FETCH_ROWS):
            sheet.write(rows[start : start + job.FETCH_ROWS])
        sheet.close()
        return len(rows) / (time.perf_counter() - began)


async def _measure(dataset: Dataset) -> list[Result]:
    db = Database(_settings(), dataset.url)
    await db.start()
    results = []
    try:
        for fmt, target in TARGETS.items():
            result = Result(
                name=f"export_throughput_{fmt.lower()}",
                subject=f"EXPORT job to {fmt}, {dataset.leads:,} leads (rows/s)",
                ceiling="COPY (the same SELECT) TO STDOUT into a file (rows/s)",
                target_ratio=target,
            )
            growths, sizes = [], []
            for _ in range(ROUNDS[fmt]):
                ceiling, copy_size = await _ceiling(db, dataset, fmt)
                result.ceiling_samples.append(ceiling)
                sample, growth, size = await _subject(db, dataset, fmt)
                result.subject_samples.append(sample)
                growths.append(growth)
                sizes.append(size)
            result.checks.append(
                Check("RSS growth during the export", max(growths), RSS_LIMIT_MB, "MB")
            )
            seconds = statistics.median(s.p50_ms for s in result.subject_samples) / 1000
            result.notes.append(
                f"{fmt} file {statistics.median(sizes) / 2**20:,.0f} MB in {seconds:,.1f} s;"
                f" COPY's text {copy_size / 2**20:,.0f} MB; RSS growth per round"
                f" {', '.join(f'{g:,.0f}' for g in growths)} MB"
            )
            alone = await _writer_alone(db, dataset, fmt)
            result.notes.append(
                f"the {fmt} writer alone (no database, 20,000 rows read beforehand):"
                f" {alone:,.0f} rows/s"
            )
            results.append(result)
    finally:
        await db.dispose()
    return results


def main(datasets: Datasets) -> list[Result]:
    dataset = datasets.get(bench_size())
    return asyncio.run(_measure(dataset))
