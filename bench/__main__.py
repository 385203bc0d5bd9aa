"""`make bench`: every benchmark on a fresh database, ratios against same-run ceilings.

LEEDZ_BENCH_DATABASE_URL points at a PostgreSQL server to use instead of the embedded one.
Exits 1 when a benchmark misses its target. Results land in bench/results/*.json.

The lead benchmarks share their data sets (a database per size, loaded once per run, dropped
at its end); LEEDZ_BENCH_LEADS sets the large one's leads per tenant (default 1,000,000).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support import scratch

from bench import (
    agents_connected,
    auth_read,
    bulk_update,
    dispatch,
    evidence_ingest,
    export_throughput,
    import_throughput,
    lead_search,
    lead_write,
    login_flood,
    login_timing,
    rate_limits,
    tenant_transaction,
)
from bench.harness import Result
from bench.leads_data import Datasets

BENCHMARKS: dict[str, Callable[[str], Result | list[Result]]] = {
    "tenant_transaction": tenant_transaction.main,
    "auth_read": auth_read.main,
    "login_flood": login_flood.main,
    "login_timing": login_timing.main,
    "dispatch_latency": dispatch.dispatch_latency,
    "claim_throughput": dispatch.claim_throughput,
    "agents_connected": agents_connected.main,
    "rate_limits": rate_limits.main,
}
# Benchmarks on the run's lead data sets instead of a database of their own.
LEAD_BENCHMARKS: dict[str, Callable[[Datasets], Result | list[Result]]] = {
    "lead_search": lead_search.main,
    "lead_write": lead_write.main,
    "bulk_update": bulk_update.main,
    "evidence_ingest": evidence_ingest.main,
    "import_throughput": import_throughput.main,
    "export_throughput": export_throughput.main,
}


def main() -> int:
    admin = scratch.server_url(
        os.environ.get("LEEDZ_BENCH_DATABASE_URL"), Path(".leedz") / "bench-pgdata"
    )
    chosen = sys.argv[1:] or [*BENCHMARKS, *LEAD_BENCHMARKS]
    unknown = [name for name in chosen if name not in BENCHMARKS and name not in LEAD_BENCHMARKS]
    if unknown:
        print(f"unknown benchmarks: {', '.join(unknown)}", file=sys.stderr)
        return 2
    datasets = Datasets(admin)
    failed = 0
    try:
        for name in chosen:
            if name in LEAD_BENCHMARKS:
                outcome = LEAD_BENCHMARKS[name](datasets)
            else:
                url = scratch.create_migrated_database(admin, "leedz_bench", app_role="leedz_app")
                try:
                    outcome = BENCHMARKS[name](url)
                finally:
                    scratch.drop_database(admin, url)
            for result in outcome if isinstance(outcome, list) else [outcome]:
                print(result.report())
                print(f"  saved {result.save()}")
                failed += not result.passed
    finally:
        datasets.drop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
