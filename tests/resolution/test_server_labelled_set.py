"""The labelled set through the server: every record uploaded as evidence by an agent, through
the REST twin, then the leads read back with their provenance.

One SEARCH job per upload country (the record's `country` hint: the job's `country` input, or
none, the tenant's default SA); the records go in file order, in batches of at most 25 of one
hint. A record's predicted cluster is the lead its evidence item is linked to at the end. The
scores must reach the targets, and the clusters must be exactly those of
`evaluate.refined_reference_clusters`, the server's behaviour simulated in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import httpx

from tests.resolution.evaluate import (
    CONFIDENCE_BY_TYPE,
    TARGET_PRECISION,
    TARGET_RECALL,
    Record,
    load,
    missed_and_wrong,
    refined_reference_clusters,
    score,
)
from tests.resolution.support import Held, Workspace, item, workspace

BATCH = 25


def batches(records: Sequence[Record]) -> list[list[int]]:
    """Indexes of the records, in file order, cut where the hint changes or at 25."""
    out: list[list[int]] = []
    for index, record in enumerate(records):
        last = out[-1] if out else None
        if last and len(last) < BATCH and records[last[0]]["country"] == record["country"]:
            last.append(index)
        else:
            out.append([index])
    return out


def evidence_of(record: Record, index: int) -> dict[str, Any]:
    return item(
        record["rawData"],
        kind=record["type"],
        confidence=CONFIDENCE_BY_TYPE[record["type"]],
        title=record["record"],
        collected=index,
    )


async def server_clusters(ws: Workspace, records: Sequence[Record]) -> dict[str, str]:
    """Record id → the lead its evidence is linked to, as the API tells."""
    jobs: dict[str | None, Held] = {}
    for hint in dict.fromkeys(r["country"] for r in records):
        jobs[hint] = await ws.job({"query": "labelled set", **({"country": hint} if hint else {})})
    seen: set[str] = set()
    for indexes in batches(records):
        answer = await ws.upload(
            jobs[records[indexes[0]]["country"]],
            [evidence_of(records[i], i) for i in indexes],
        )
        assert len(answer["leads"]) == len(indexes)
        seen |= {e["leadId"] for e in answer["leads"] if e["leadId"]}
    clusters: dict[str, str] = {}
    for lead_id in sorted(seen):
        if await ws.lead(lead_id) is None:
            continue  # merged into another lead since
        for evidence in await ws.evidence(lead_id):
            clusters[evidence["title"]] = lead_id
    return clusters


def partition(clusters: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for record, cluster in clusters.items():
        groups.setdefault(cluster, set()).add(record)
    return {frozenset(g) for g in groups.values()}


async def test_the_labelled_set_resolves_on_the_server(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    records = load()
    ws = await workspace(client, owner)
    predicted = await server_clusters(ws, records)
    result = score(records, predicted)
    assert result.precision >= TARGET_PRECISION, result.line("server")
    assert result.recall >= TARGET_RECALL, result.line("server")
    expected = refined_reference_clusters(records)
    missed, wrong = missed_and_wrong(records, predicted)
    assert partition(predicted) == partition(expected), (result.line("server"), wrong[:10])
    # Every record became, or joined, a lead: none is left out.
    assert set(predicted) == {r["record"] for r in records}
    assert len(missed) == result.true_pairs - result.correct_pairs
