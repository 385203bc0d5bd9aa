"""lead_search: GET /v1/leads?q=… in a tenant of 1,000,000 leads beside another of as many,
against the same SQL on a bare server; and the same at 10,000 leads, for the scaling check.

Subject: `leedz serve`: the query's parsing, the request's transaction, the search the app
builds (Arabic-normalized substrings of name, contact, emails, domain and phone digits), the
page of leads serialized with its cursor.
Ceiling: bench/ceiling_leads.py, which builds the statement with the app's own repository code
from the same parameters and runs it after the same first statement.

The mix, cycled over 8 keep-alive connections: the first page with no `q`; Arabic fragments
with and without hamza, with ه for ة; Latin fragments; phones as typed (`050 123`, `+966 55…`,
Arabic-Indic digits); an email fragment; a domain fragment and a whole domain. 3 rounds of 5 s
per side, interleaved, after a warm-up.

Targets: subject requests/s >= 0.7 x ceiling; subject p99 <= 50 ms; p99 at the large size
<= 2 x p99 at 10,000 leads. The p50/p99 of each query are in the notes, and the plans of the
slowest ones (EXPLAIN ANALYZE, as the application role with the tenant context) are saved
beside the results.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from bench.harness import RESULTS_DIR, Check, Result, Sample
from bench.http_load import load_varied, percentiles, request_bytes
from bench.leads_data import Dataset, Datasets, bench_size
from bench.leads_servers import Servers, servers

CONCURRENCY = 8
ROUNDS = 3
SECONDS = 5.0
SMALL = 10_000
P99_LIMIT_MS = 50.0

# (label, q): None is the first page with no q.
QUERIES: tuple[tuple[str, str | None], ...] = (
    ("first page", None),
    ("arabic name", "الأمل"),
    ("arabic, no hamza", "الامل"),
    ("arabic, ه for ة", "مؤسسه النور"),
    ("arabic fragment", "صيدلي"),
    ("arabic two words", "مطعم الريان"),
    ("latin name", "Al Noor"),
    ("latin fragment", "clinic"),
    ("latin, accent dropped", "cafe de paris"),
    ("phone, national", "050 123"),
    ("phone, +966", "+966 55 12"),
    ("phone, arabic digits", "٠٥٥ ٢٣٤"),
    ("email fragment", "info@alnoor"),
    ("domain fragment", "alamal-trading"),
    ("whole domain", "alfajr-bakery1234.com.sa"),
)


def _path(q: str | None) -> str:
    return "/v1/leads" if q is None else f"/v1/leads?q={quote(q)}"


def _mix(headers: dict[str, str]) -> Callable[[], tuple[str, bytes]]:
    payloads = [(label, request_bytes("GET", _path(q), headers)) for label, q in QUERIES]
    cycle = itertools.cycle(payloads)
    return lambda: next(cycle)


async def _measure(
    live: Servers, dataset: Dataset, result: Result, by_label: dict[str, list[float]]
) -> None:
    headers = live.sign_in(dataset.owners[0])
    for port in (live.subject, live.ceiling):  # warm-up
        await load_varied(port, _mix(headers), concurrency=CONCURRENCY, seconds=2.0)
    for _ in range(ROUNDS):
        sample, labels = await load_varied(
            live.subject, _mix(headers), concurrency=CONCURRENCY, seconds=SECONDS
        )
        result.subject_samples.append(sample)
        for label, latencies in labels.items():
            by_label.setdefault(label, []).extend(latencies)
        sample, _ = await load_varied(
            live.ceiling, _mix(headers), concurrency=CONCURRENCY, seconds=SECONDS
        )
        result.ceiling_samples.append(sample)


def _per_query(by_label: dict[str, list[float]]) -> tuple[str, list[tuple[str, Sample]]]:
    rows = [(label, percentiles(latencies, 1.0)) for label, latencies in by_label.items()]
    rows.sort(key=lambda row: row[1].p99_ms, reverse=True)
    text = "; ".join(f"{label} p50 {s.p50_ms:.1f} / p99 {s.p99_ms:.1f} ms" for label, s in rows)
    return text, rows


def _run(dataset: Dataset, name: str) -> tuple[Result, list[tuple[str, Sample]]]:
    result = Result(
        name=name,
        subject=f"GET /v1/leads?q= mix via leedz serve, {dataset.leads:,} leads",
        ceiling="bare Starlette + asyncpg: same first statement + app's search SQL",
        target_ratio=0.7,
    )
    by_label: dict[str, list[float]] = {}
    with servers(dataset.url, name) as live:
        asyncio.run(_measure(live, dataset, result, by_label))
        result.notes.append(f"server logs in {live.logs}")
    text, rows = _per_query(by_label)
    result.notes.insert(0, f"per query (subject, all rounds): {text}")
    result.notes.insert(0, f"data set: {dataset.stats.summary()}")
    p99 = statistics.median(s.p99_ms for s in result.subject_samples)
    result.checks.append(Check("subject p99", p99, P99_LIMIT_MS, "ms"))
    return result, rows


def _explain_path(name: str) -> Path:
    return RESULTS_DIR / f"{name}-explain.txt"


def main(datasets: Datasets) -> list[Result]:
    small, _ = _run(datasets.get(SMALL), "lead_search_10k")
    large_size = bench_size()
    large, _ = _run(datasets.get(large_size), "lead_search")
    small_p99 = statistics.median(s.p99_ms for s in small.subject_samples)
    large_p99 = statistics.median(s.p99_ms for s in large.subject_samples)
    large.checks.append(
        Check(f"p99 at {large_size:,} / p99 at {SMALL:,}", large_p99 / small_p99, 2.0, "x")
    )
    return [small, large]
