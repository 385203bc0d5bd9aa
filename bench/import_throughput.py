"""import_throughput: an Arabic CSV imported into a tenant of 1,000,000 leads, against a ceiling.

Subject: the IMPORT job's work on a file already uploaded (`imports.job.import_rows` with the
reader's `numbered_rows`, exactly what `job.run` does after copying the upload out of storage):
each row read and decoded, mapped, checked as a person's input (`LeadFields`), its phones
(mixed spellings: `050 123 4567`, `+966 50…`, `00966…`, Arabic-Indic digits) normalized to
E.164, resolved against the tenant's leads under the resolution locks (candidate lookup by key,
domain and name), written in batches of 1,000 (leads, keys, timeline entries, report lines,
checkpoint), then the report CSV written and stored. Mode CREATE_OR_UPDATE; every business is
new, so every row is `created`. Run in-process with tests/support/work.py `InlineUnit`.

Ceiling: the same file read with `csv.reader`, each row's phones parsed with `phonenumbers`
and formatted to E.164, and the same rows `COPY`-ed into the same table (`leads`, the other
tenant of the data set, which holds as many leads and shares every index and trigger).

Rows: LEEDZ_BENCH_IMPORT_ROWS (default 100,000) per round, a fresh file per subject round;
2 rounds per side, interleaved. Target: subject rows/s >= 0.5 x ceiling rows/s.

Memory: a file of LEEDZ_BENCH_IMPORT_RSS_ROWS rows (default 1,000,000) imported once more,
the process's peak RSS growth over the import (Linux: VmHWM reset through clear_refs) at or
under 200 MB.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import phonenumbers
from pydantic import SecretStr
from tests.support.scratch import asyncpg_dsn
from tests.support.work import InlineUnit

from bench.harness import Check, Result, Sample
from bench.leads_data import Dataset, Datasets, Generator, bench_size, spelling
from leedz.access.roles import Role
from leedz.config import Environment, Settings
from leedz.files.storage import LocalStorage, use_storage
from leedz.imports import job, reader
from leedz.jobs.models import JobType
from leedz.jobs.schemas import ImportInput
from leedz.kit.db import Database

HEADER = ["الاسم", "الجوال", "البريد الإلكتروني", "المدينة", "التصنيف"]
MAPPING = {
    "الاسم": "name", "الجوال": "phones", "البريد الإلكتروني": "emails", "المدينة": "city",
    "التصنيف": "category",
}  # fmt: skip
ROUNDS = 2
TARGET = 0.5
RSS_LIMIT_MB = 200.0


def import_rows() -> int:
    return int(os.environ.get("LEEDZ_BENCH_IMPORT_ROWS", "100000").replace("_", ""))


def rss_rows() -> int:
    return int(os.environ.get("LEEDZ_BENCH_IMPORT_RSS_ROWS", "1000000").replace("_", ""))


def write_csv(path: Path, rows: int, seed: int) -> None:
    """`rows` new businesses, as a spreadsheet exported them (UTF-8 with a BOM), streamed.
    Each file's phones, e-mail addresses and domains are its own (a fresh generator starts
    at an offset per seed): no file repeats another's businesses."""
    generator = Generator(seed, fresh=True)
    offset = (seed % 100) * 2_000_000
    generator._phones = dict.fromkeys(generator._phones, offset)
    generator.serial += offset
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            b = generator.business()
            # Spelled as on a Saudi workspace's sheet (its default country): national forms for
            # Saudi numbers, international ones for the others.
            phones = " / ".join(spelling(p, "SA", n + i) for i, p in enumerate(b.phones))
            writer.writerow([b.name, phones, "; ".join(b.emails), b.city or "", b.category or ""])


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


class Subject:
    """The import job, in this process, on the data set's first tenant."""

    def __init__(self, url: str, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
        self.url, self.tenant_id, self.user_id = url, tenant_id, user_id
        data = Path(tempfile.mkdtemp(prefix="leedz-bench-import-"))
        self.settings = Settings(
            env=Environment.TEST,
            data_dir=data,
            jwt_secret=SecretStr("bench-import-" + "s" * 40),
            log_level="WARNING",
        )
        use_storage(LocalStorage(data / "files"))
        self.database = Database(self.settings, url)

    async def run(self, path: Path, detected: reader.Detected) -> dict[str, Any]:
        """The import of an upload `detect` described already (as POST /v1/files does)."""
        body = ImportInput.model_validate(
            {"fileId": str(uuid.uuid4()), "mapping": MAPPING, "mode": "CREATE_OR_UPDATE"}
        )
        job_input = body.model_dump(mode="json", by_alias=True)
        conn = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            job_id = await conn.fetchval(
                "INSERT INTO jobs (tenant_id, type, input, created_by_id, status, started_at)"
                " VALUES ($1, 'IMPORT', $2::jsonb, $3, 'RUNNING', now()) RETURNING id",
                self.tenant_id,
                json.dumps(job_input),
                self.user_id,
            )
        finally:
            await conn.close()
        unit = InlineUnit(
            self.database, tenant_id=self.tenant_id, user_id=self.user_id, role=Role.OWNER,
            job_type=JobType.IMPORT, job_input=job_input, job_id=job_id,
        )  # fmt: skip
        rows = reader.numbered_rows(path, detected)
        output = await job.import_rows(
            unit, body, detected.header, rows, total=detected.row_estimate, batch_rows=1000
        )
        assert isinstance(output, dict)
        return output


def _ceiling_rows(path: Path, tenant_id: uuid.UUID) -> Iterator[tuple[Any, ...]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        records = csv.reader(source)
        next(records)
        for name, phones, emails, city, category in records:
            e164 = []
            for spelled in phones.split(" / ") if phones else ():
                number = phonenumbers.parse(spelled, "SA")
                e164.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
            yield (
                tenant_id, name, e164, emails.split("; ") if emails else [], city or None,
                category or None, "IMPORT",
            )  # fmt: skip


async def ceiling(url: str, tenant_id: uuid.UUID, path: Path) -> int:
    """csv.reader + phonenumbers + COPY of the same rows into `leads`; the rows copied."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = list(_ceiling_rows(path, tenant_id))  # parsing is timed: see `timed`
        await conn.copy_records_to_table(
            "leads",
            records=rows,
            columns=["tenant_id", "name", "phones", "emails", "city", "category", "source_type"],
        )
        return len(rows)
    finally:
        await conn.close()


def _sample(rows: int, seconds: float) -> Sample:
    per_row_ms = seconds * 1000 / max(rows, 1)
    return Sample(ops_per_second=rows / seconds, p50_ms=per_row_ms, p99_ms=per_row_ms)


async def _measure(dataset: Dataset) -> Result:
    subject_owner, ceiling_owner = dataset.owners
    subject = Subject(asyncpg_dsn(dataset.url), subject_owner.tenant_id, subject_owner.user_id)
    size = import_rows()
    result = Result(
        name="import_throughput",
        subject=f"IMPORT job, {size:,} Arabic rows into {dataset.leads:,} leads",
        ceiling="csv.reader + phonenumbers E.164 + COPY, same rows, same table",
        target_ratio=TARGET,
        notes=[f"data set: {dataset.stats.summary()}"],
    )
    with tempfile.TemporaryDirectory(prefix="leedz-bench-csv-") as directory:
        files = [Path(directory) / f"round-{n}.csv" for n in range(ROUNDS)]
        for n, path in enumerate(files):
            write_csv(path, size, seed=1000 + n)
        detected = [reader.detect(path, name=path.name) for path in files]
        await subject.database.start()
        try:
            for path, described in zip(files, detected, strict=True):
                started = time.perf_counter()
                copied = await ceiling(asyncpg_dsn(dataset.url), ceiling_owner.tenant_id, path)
                result.ceiling_samples.append(_sample(copied, time.perf_counter() - started))
                started = time.perf_counter()
                output = await subject.run(path, described)
                result.subject_samples.append(
                    _sample(output["rows"], time.perf_counter() - started)
                )
                if output["created"] != size:
                    result.notes.append(f"a round's output: {output}")
            result.notes.append(
                "subject s/round: "
                + ", ".join(f"{s.p50_ms * size / 1000:.1f}" for s in result.subject_samples)
            )
            big = rss_rows()
            if big:
                path = Path(directory) / "rss.csv"
                write_csv(path, big, seed=1000 + ROUNDS)
                described = reader.detect(path, name=path.name)
                before = _status_kb("VmRSS")
                reset_peak()
                started = time.perf_counter()
                output = await subject.run(path, described)
                elapsed = time.perf_counter() - started
                growth_mb = (_status_kb("VmHWM") - before) / 1024
                result.notes.append(
                    f"{big:,}-row file: {output['rows']:,} rows in {elapsed:.0f} s"
                    f" ({output['rows'] / elapsed:,.0f} rows/s)"
                )
                result.checks.append(
                    Check(f"peak RSS growth, {big:,}-row file", growth_mb, RSS_LIMIT_MB, "MB")
                )
        finally:
            await subject.database.dispose()
    ratios = [
        s.ops_per_second / c.ops_per_second
        for s, c in zip(result.subject_samples, result.ceiling_samples, strict=True)
    ]
    result.notes.append(f"round ratios: {', '.join(f'{r:.2f}' for r in ratios)}")
    median = statistics.median(s.ops_per_second for s in result.subject_samples)
    result.notes.append(f"median subject rows/s {median:,.0f}")
    return result


def main(datasets: Datasets) -> Result:
    return asyncio.run(_measure(datasets.get(bench_size())))
