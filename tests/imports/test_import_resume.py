"""A worker killed mid-import: the next run resumes from the last committed checkpoint, and
the leads, the counts and the report equal an uninterrupted run's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.imports import job
from leedz.imports.repository import ImportRows
from leedz.jobs.schemas import ImportInput
from leedz.jobs.work import Cancelled
from tests.imports.support import HEADER, MAPPING, Workspace, numbered, workspace

ROWS = [
    ["مطعم البيك", "0501234567", "", "جدة"],
    ["Kudu", "0551234567", "kudu@example.com", "Riyadh"],
    ["", "", "", ""],
    ["Al Baik", "+966501234567", "info@albaik.example", ""],  # row 2's business
    ["Bad", "12", "", ""],
    ["Herfy", "0561234567", "", ""],
    ["كودو", "", "kudu@example.com", ""],  # row 3's business
    ["Maestro", "0571234567", "", ""],
    ["Shawarmer", "0581234567", "", ""],
]


class Crash(Exception):
    """The worker dies."""


def crashing(rows: Sequence[tuple[int, list[str]]], after: int) -> Iterator[tuple[int, list[str]]]:
    for n, row in enumerate(rows):
        if n == after:
            raise Crash
        yield row


async def leads_of(ws: Workspace) -> list[tuple[Any, ...]]:
    rows = await ws.owner.fetch(
        "SELECT name, phones, emails, tags, city FROM leads WHERE tenant_id = $1", ws.tenant_id
    )
    return sorted(tuple(r) for r in rows)


def report_of(lines: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(line["row"], line["action"], line["error"]) for line in lines]


async def resumed(ws: Workspace, *, crash: Any, dry_run: bool = False) -> dict[str, Any]:
    """An import that crashes as `crash` says, then resumes with the checkpoint it left."""
    body = ImportInput.model_validate(
        {"fileId": str(uuid.uuid4()), "mapping": MAPPING, "dryRun": dry_run}
    )
    job_input = body.model_dump(mode="json", by_alias=True)
    job_id = await ws.job_row(job_input)
    first = ws.unit(job_id, job_input)
    with pytest.raises(Crash):
        await job.import_rows(
            first, body, HEADER, crash(numbered(ROWS)), store_report=ws.reports.store,
            batch_rows=2,
        )  # fmt: skip
    assert first.checkpoint is not None
    second = ws.unit(job_id, job_input, checkpoint=first.checkpoint)
    result = await job.import_rows(
        second, body, HEADER, numbered(ROWS), store_report=ws.reports.store, batch_rows=2
    )
    assert not isinstance(result, Cancelled)
    return result


@pytest.fixture
async def pair(
    client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection
) -> tuple[Workspace, Workspace]:
    return await workspace(client, app, owner), await workspace(client, app, owner)


def same_output(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert {k: v for k, v in a.items() if k != "reportFileId"} == {
        k: v for k, v in b.items() if k != "reportFileId"
    }


async def test_a_crash_between_batches(pair: tuple[Workspace, Workspace]) -> None:
    calm, crashed = pair
    expected = await calm.run(ROWS, batch_rows=2)
    output = await resumed(crashed, crash=lambda rows: crashing(rows, after=5))
    same_output(output, expected.output)
    lines = crashed.reports.files[uuid.UUID(output["reportFileId"])]
    report = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert report_of(report) == report_of(expected.lines)
    assert await leads_of(crashed) == await leads_of(calm)
    ids = {str(r["id"]) for r in await crashed.leads()}
    assert {line["leadId"] for line in report if line["leadId"]} == ids


async def test_a_crash_inside_a_batch(
    pair: tuple[Workspace, Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    calm, crashed = pair
    expected = await calm.run(ROWS, batch_rows=2)
    insert = ImportRows.insert
    calls = {"n": 0}

    async def dies_on_the_third_batch(self: ImportRows, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the batch's leads are written, its lines not yet: no commit
            raise Crash
        await insert(self, *args)

    monkeypatch.setattr(ImportRows, "insert", dies_on_the_third_batch)
    output = await resumed(crashed, crash=iter)
    same_output(output, expected.output)
    assert await leads_of(crashed) == await leads_of(calm)


async def test_a_dry_run_starts_over(pair: tuple[Workspace, Workspace]) -> None:
    calm, crashed = pair
    expected = await calm.run(ROWS, batch_rows=2, dry_run=True)
    output = await resumed(crashed, crash=lambda rows: crashing(rows, after=5), dry_run=True)
    same_output(output, expected.output)
    assert await leads_of(crashed) == []
    assert (
        await crashed.owner.fetchval(
            "SELECT count(*) FROM import_rows WHERE tenant_id = $1", crashed.tenant_id
        )
        == 0
    )


async def test_a_run_after_the_report_only_answers(pair: tuple[Workspace, Workspace]) -> None:
    ws, _ = pair
    run = await ws.run(ROWS, batch_rows=4, complete=False)
    body = ImportInput.model_validate({"fileId": str(uuid.uuid4()), "mapping": MAPPING})
    checkpoint = {
        "nextRow": 99,
        "counts": {"created": 1},
        "reportFileId": run.output["reportFileId"],
    }
    unit = ws.unit(run.job_id, body.model_dump(mode="json", by_alias=True), checkpoint=checkpoint)
    again = await job.import_rows(unit, body, HEADER, [], store_report=ws.reports.store)
    assert again == {
        "rows": 1, "created": 1, "updated": 0, "joined": 0, "skipped": 0, "failed": 0,
        "reportFileId": run.output["reportFileId"],
    }  # fmt: skip
    assert unit.batches == 0


async def test_cancel_stops_between_batches_with_a_report(
    pair: tuple[Workspace, Workspace],
) -> None:
    ws, _ = pair
    body = ImportInput.model_validate({"fileId": str(uuid.uuid4()), "mapping": MAPPING})
    job_input = body.model_dump(mode="json", by_alias=True)
    unit = ws.unit(await ws.job_row(job_input), job_input, cancel_after=2)
    result = await job.import_rows(
        unit, body, HEADER, numbered(ROWS), store_report=ws.reports.store, batch_rows=2
    )
    assert isinstance(result, Cancelled)
    assert result.output["rows"] == 4
    lines = ws.reports.files[uuid.UUID(result.output["reportFileId"])]
    assert [line[0] for line in lines[1:]] == ["2", "3", "4", "5"]
    assert unit.progress[-1] == 100
