"""`make bench`: every benchmark on a fresh database, ratios against same-run ceilings.

LEEDZ_BENCH_DATABASE_URL points at a PostgreSQL server to use instead of the embedded one.
Exits 1 when a benchmark misses its target. Results land in bench/results/*.json.
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
    dispatch,
    login_flood,
    login_timing,
    rate_limits,
    tenant_transaction,
)
from bench.harness import Result

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


def main() -> int:
    admin = scratch.server_url(
        os.environ.get("LEEDZ_BENCH_DATABASE_URL"), Path(".leedz") / "bench-pgdata"
    )
    chosen = sys.argv[1:] or list(BENCHMARKS)
    failed = 0
    for name in chosen:
        benchmark = BENCHMARKS[name]
        url = scratch.create_migrated_database(admin, "leedz_bench", app_role="leedz_app")
        try:
            outcome = benchmark(url)
        finally:
            scratch.drop_database(admin, url)
        for result in outcome if isinstance(outcome, list) else [outcome]:
            print(result.report())
            print(f"  saved {result.save()}")
            failed += not result.passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
