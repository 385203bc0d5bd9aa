"""Entity resolution quality on the labelled set: pairwise precision, recall and F1, side by side.

`uv run python -m bench.resolution_quality`: no database, about a second. Not part of
`make bench` (it measures answers, not speed). Runs, each a clustering of
tests/resolution/labelled_set.jsonl (record id → cluster id):
- baseline: exact `name` string or exact raw phone string, no normalization;
- reference: the contract's five rules in memory (tests/resolution/evaluate.py);
- proposal: the five rules with their four weak spots closed (a proposal, see the README there).
A server-backed run (upload the records as evidence, read the leads back) is one more entry in
RUNS. Target for the server: precision >= 0.98 and recall >= 0.95. Prints the table, saves it
to bench/results/resolution_quality.json (git-ignored); exits 0 whatever the scores, since the
contract's own rules miss the precision target on this set (the README says why).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

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
    score,
    weak_spot_costs,
)

from bench.harness import RESULTS_DIR

Run = Callable[[Sequence[Record]], Mapping[str, str]]

RUNS: dict[str, Run] = {
    "baseline": naive_baseline,
    "reference": lambda records: reference_clusters(records, DEFAULT_COUNTRY),
    "proposal": lambda records: proposed_clusters(records, DEFAULT_COUNTRY),
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
    predicted = {name: run(records) for name, run in RUNS.items()}
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
