"""Entity resolution quality on the labelled set: pairwise precision, recall and F1, side by side.

`uv run python -m bench.resolution_quality`: a few seconds. Not part of `make bench` (it
measures answers, not speed). Runs, each a clustering of tests/resolution/labelled_set.jsonl
(record id → cluster id):
- baseline: exact `name` string or exact raw phone string, no normalization;
- reference: the contract's five rules in memory, literally (tests/resolution/evaluate.py);
- refined: the rules with the lead engineer's refinement on bridging, simulated in memory in
  arrival order (what the server does; docs/resolution.md);
- proposal: the five rules with their four weak spots closed (a proposal, see the README there);
- server: the records uploaded as evidence by an agent through the REST twin of an app running
  in-process on a fresh database (embedded PostgreSQL, or LEEDZ_BENCH_DATABASE_URL), the leads
  and their provenance read back (tests/resolution/test_server_labelled_set.py's run).
  `--no-server` leaves it out (no database needed then).
Target for the server: precision >= 0.98 and recall >= 0.95. Prints the table, saves it to
bench/results/resolution_quality.json (git-ignored); exits 0 whatever the scores, since the
contract's literal rules miss the precision target on this set (the README says why).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from tests.resolution.evaluate import (
    DEFAULT_COUNTRY,
    LABELLED_SET,
    TARGET_PRECISION,
    TARGET_RECALL,
    Record,
    Score,
    load,
    naive_baseline,
    proposed_clusters,
    reference_clusters,
    refined_reference_clusters,
    score,
    weak_spot_costs,
)
from tests.support import scratch

from bench.harness import RESULTS_DIR

Run = Callable[[Sequence[Record]], Mapping[str, str]]


async def _through_the_server(url: str, records: Sequence[Record]) -> dict[str, str]:
    # Imported here: the in-memory runs need neither the app nor the test helpers' imports.
    from tests.resolution.support import workspace
    from tests.resolution.test_server_labelled_set import server_clusters

    from leedz.app import create_app
    from leedz.config import Environment, Settings

    settings = Settings(env=Environment.TEST, db_pool_size=4, log_level="WARNING")
    app = create_app(settings, database_url=url)
    owner = await asyncpg.connect(scratch.asyncpg_dsn(url))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):
            ws = await workspace(client, owner)
            return await server_clusters(ws, records)
    finally:
        await owner.close()


def server(records: Sequence[Record]) -> dict[str, str]:
    """Upload the records through a real app on a fresh database; the leads they became."""
    admin = scratch.server_url(
        os.environ.get("LEEDZ_BENCH_DATABASE_URL"), Path(".leedz") / "bench-pgdata"
    )
    url = scratch.create_migrated_database(admin, "leedz_bench", app_role="leedz_app")
    try:
        return asyncio.run(_through_the_server(url, records))
    finally:
        scratch.drop_database(admin, url)


RUNS: dict[str, Run] = {
    "baseline": naive_baseline,
    "reference": lambda records: reference_clusters(records, DEFAULT_COUNTRY),
    "refined": lambda records: refined_reference_clusters(records, DEFAULT_COUNTRY),
    "proposal": lambda records: proposed_clusters(records, DEFAULT_COUNTRY),
    "server": server,
}


def verdict(result: Score) -> str:
    misses = [
        name
        for name, value, target in (
            ("precision", result.precision, TARGET_PRECISION),
            ("recall", result.recall, TARGET_RECALL),
        )
        if value < target
    ]
    return "met" if not misses else "missed: " + ", ".join(misses)


def table(records: Sequence[Record], results: Mapping[str, Score]) -> str:
    first = next(iter(results.values()))
    businesses = len({r["business"] for r in records})
    lines = [
        f"resolution quality: {LABELLED_SET.name}, {len(records)} records, {businesses} "
        f"businesses, {first.true_pairs} true pairs",
        f"target: precision >= {TARGET_PRECISION}, recall >= {TARGET_RECALL} (pairwise)",
        f"  {'run':<10} {'precision':>9} {'recall':>7} {'F1':>6} {'predicted':>10} "
        f"{'correct':>8}  target",
    ]
    lines += [
        f"  {name:<10} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} "
        f"{s.predicted_pairs:>10} {s.correct_pairs:>8}  {verdict(s)}"
        for name, s in results.items()
    ]
    return "\n".join(lines)


def main() -> int:
    records = load()
    runs = {n: r for n, r in RUNS.items() if n != "server" or "--no-server" not in sys.argv}
    predicted = {name: run(records) for name, run in runs.items()}
    results = {name: score(records, clusters) for name, clusters in predicted.items()}
    sys.stdout.write(table(records, results) + "\n")
    costs = weak_spot_costs(records, predicted["reference"])
    sys.stdout.write(
        "  reference wrong pairs by weak spot: "
        + ", ".join(f"{k} {v}" for k, v in costs.items())
        + "\n"
    )
    payload: dict[str, Any] = {
        "name": "resolution_quality",
        "set": str(LABELLED_SET.name),
        "records": len(records),
        "targets": {"precision": TARGET_PRECISION, "recall": TARGET_RECALL},
        "runs": {
            name: {
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "true_pairs": s.true_pairs,
                "predicted_pairs": s.predicted_pairs,
                "correct_pairs": s.correct_pairs,
                "target_met": s.meets_target,
            }
            for name, s in results.items()
        },
        "reference_weak_spots": costs,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "resolution_quality.json"
    path.write_text(json.dumps(payload, indent=2))
    sys.stdout.write(f"  saved {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
