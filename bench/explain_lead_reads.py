"""Plans of two lead reads as the request role, under row-level security (no target: a diagnostic).

    LEEDZ_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        uv run python -m bench.explain_lead_reads [LEADS_PER_TENANT]

On a fresh migrated database with two tenants of LEADS_PER_TENANT leads (default 100,000; the
bench data set of bench/leads_data.py), for names of the first tenant's leads:

- the similar-name rule of `GET /v1/leads/{id}/duplicates` (merges/repository.py
  `similar_names`): the query on `leads` alone (what it was before migration 20261201_1850),
  with the old `ix_leads_name_sort_trgm` put back for the occasion, as `leedz_app` and as the
  superuser (who bypasses RLS); then the way it goes now, `leedz_similar_name_lead_ids` and the
  same query narrowed to the ids it names;
- the lead quota's count (`leedz_quota_leads`) against the count it replaced.

Prints each statement's execution time (EXPLAIN ANALYZE, best of 3) and its plan's nodes.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import asyncpg
from tests.support import scratch

from bench.leads_data import prepare
from leedz.kit.repository import _checked
from leedz.merges.duplicates import SIMILARITY_THRESHOLD

APP_ROLE = "leedz_app"
OLD_INDEX = "CREATE INDEX ix_leads_name_sort_trgm ON leads USING gin (name_sort gin_trgm_ops)"

SIMILAR = (
    "SELECT id, similarity(name_sort, $3) AS similarity FROM leads"
    " WHERE tenant_id = $1 AND deleted_at IS NULL AND merged_into_id IS NULL AND id <> $2"
    " AND name_sort % $3 AND similarity(name_sort, $3) >= $4"
    " AND city IS NOT NULL AND lower(city) = lower($5)"
)
NARROWED = SIMILAR + " AND id = ANY($6::uuid[])"
ORDER = " ORDER BY similarity DESC, created_at, id LIMIT 20"
FUNCTION = (
    "SELECT lead_id FROM leedz_similar_name_lead_ids($2::text, $3::real, $4::int4)"
    " WHERE tenant_id = $1"
)
OLD_COUNT = "SELECT count(*) FROM leads WHERE tenant_id = $1 AND merged_into_id IS NULL"
NEW_COUNT = "SELECT q.leads FROM leedz_quota_leads(false) q WHERE q.tenant_id = $1"


def _literal(value: Any) -> str:
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + "]::uuid[]"
    if isinstance(value, float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _inline(sql: str, args: list[Any]) -> str:
    """The statement with its parameters as literals (EXPLAIN of a custom plan)."""
    for i in range(len(args), 0, -1):
        sql = sql.replace(f"${i}", _literal(args[i - 1]))
    return sql


async def _explain(
    conn: asyncpg.Connection, sql: str, args: list[Any], *, tenant: str, as_app: bool
) -> tuple[float, list[str]]:
    _checked(sql)  # the tenant's statements, as a repository would run them
    best, nodes = float("inf"), []
    for _ in range(3):
        async with conn.transaction():
            if as_app:
                await conn.execute(
                    "SELECT set_config('role', $1, true),"
                    " set_config('app.current_tenant_id', $2, true)",
                    APP_ROLE,
                    tenant,
                )
            plan = await conn.fetch("EXPLAIN (ANALYZE, FORMAT TEXT) " + _inline(sql, args))
        lines = [r[0] for r in plan]
        took = float(re.search(r"Execution Time: ([\d.]+)", lines[-1])[1])  # type: ignore[index]
        if took < best:
            best = took
            nodes = [
                line.strip().split("  (")[0].lstrip("-> ").strip()
                for line in lines
                if "->" in line or line == lines[0]
            ]
    return best, nodes


def _report(label: str, took: float, nodes: list[str]) -> None:
    print(f"  {label}: {took:.1f} ms")
    for node in nodes[:6]:
        print(f"      {node}")


async def _run(url: str, leads: int) -> None:
    dataset = await prepare(url, leads)
    tenant = str(dataset.owners[0].tenant_id)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
        samples = await conn.fetch(
            "SELECT DISTINCT ON (name_sort) id, name_sort, city FROM leads"
            " WHERE tenant_id = $1 AND city IS NOT NULL AND merged_into_id IS NULL"
            " ORDER BY name_sort, id LIMIT 2000",
            dataset.owners[0].tenant_id,
        )
        picks = [samples[i] for i in range(0, len(samples), max(len(samples) // 4, 1))][:4]
        for pick in picks:
            args = [tenant, str(pick["id"]), pick["name_sort"], SIMILARITY_THRESHOLD, pick["city"]]
            print(f"{pick['name_sort']!r} in {pick['city']!r}:")
            await conn.execute(OLD_INDEX)
            try:
                for label, as_app in (("before, as leedz_app", True), ("before, superuser", False)):
                    took, nodes = await _explain(
                        conn, SIMILAR + ORDER, args, tenant=tenant, as_app=as_app
                    )
                    _report(label + " (ix_leads_name_sort_trgm there)", took, nodes)
            finally:
                await conn.execute("DROP INDEX ix_leads_name_sort_trgm")
            function_args = [tenant, pick["name_sort"], SIMILARITY_THRESHOLD, 10_001]
            took, nodes = await _explain(conn, FUNCTION, function_args, tenant=tenant, as_app=True)
            _report("now, leedz_similar_name_lead_ids as leedz_app", took, nodes)
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('role', $1, true),"
                    " set_config('app.current_tenant_id', $2, true)",
                    APP_ROLE,
                    tenant,
                )
                ids = [r[0] for r in await conn.fetch(_inline(FUNCTION, function_args))]
            print(f"      ({len(ids)} ids)")
            took, nodes = await _explain(
                conn, NARROWED + ORDER, [*args, ids], tenant=tenant, as_app=True
            )
            _report("now, leads narrowed to them as leedz_app", took, nodes)
        print("the lead quota's count:")
        for label, sql in (("before: count(*)", OLD_COUNT), ("now: leedz_quota_leads", NEW_COUNT)):
            took, nodes = await _explain(conn, sql, [tenant], tenant=tenant, as_app=True)
            _report(label + " as leedz_app", took, nodes)
    finally:
        await conn.close()


def main() -> None:
    leads = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    admin_url = scratch.server_url(
        os.environ.get("LEEDZ_BENCH_DATABASE_URL"), Path(".leedz") / "bench-pgdata"
    )
    url = scratch.create_migrated_database(admin_url, "leedz_explain", app_role=APP_ROLE)
    try:
        asyncio.run(_run(scratch.asyncpg_dsn(url), leads))
    finally:
        scratch.drop_database(admin_url, url)


if __name__ == "__main__":
    main()
