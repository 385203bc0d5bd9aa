"""Shared measuring: closed-loop workers for a fixed time, interleaved rounds, percentiles."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Sample:
    ops_per_second: float
    p50_ms: float
    p99_ms: float


@dataclass
class Check:
    """An absolute target measured in the run (latency, memory, CPU), beside the ratio."""

    name: str
    value: float
    limit: float
    unit: str
    # "max": value must stay at or under the limit; "min": reach it.
    kind: str = "max"

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.kind == "max" else self.value >= self.limit

    def report(self) -> str:
        sign = "<=" if self.kind == "max" else ">="
        verdict = "PASS" if self.passed else "FAIL"
        return f"  {self.name}: {self.value:,.2f} {self.unit} (target {sign} {self.limit:,.2f}): {verdict}"


@dataclass
class Result:
    name: str
    subject: str
    ceiling: str
    target_ratio: float
    subject_samples: list[Sample] = field(default_factory=list)
    ceiling_samples: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # With "throughput" the ratio of ops/s must reach the target; with "p99" (or "p50") the
    # ratio of those latencies must stay at or under it.
    compare: str = "throughput"
    checks: list[Check] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        metric = f"{self.compare}_ms" if self.compare in ("p50", "p99") else "ops_per_second"
        subject: float = statistics.median(getattr(s, metric) for s in self.subject_samples)
        ceiling: float = statistics.median(getattr(s, metric) for s in self.ceiling_samples)
        return subject / ceiling

    @property
    def ratio_passed(self) -> bool:
        if self.compare in ("p50", "p99"):
            return self.ratio <= self.target_ratio
        return self.ratio >= self.target_ratio

    @property
    def passed(self) -> bool:
        return self.ratio_passed and all(check.passed for check in self.checks)

    def report(self) -> str:
        def line(label: str, samples: list[Sample]) -> str:
            ops = statistics.median(s.ops_per_second for s in samples)
            p99 = statistics.median(s.p99_ms for s in samples)
            p50 = statistics.median(s.p50_ms for s in samples)
            return f"  {label:<60} {ops:>10,.0f} ops/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"

        verdict = "PASS" if self.ratio_passed else "FAIL"
        return "\n".join(
            [
                f"{self.name}",
                line(self.subject, self.subject_samples),
                line(self.ceiling, self.ceiling_samples),
                *(f"  note: {note}" for note in self.notes),
                f"  {self.compare} ratio {self.ratio:.2f}"
                f" (target {'>=' if self.compare == 'throughput' else '<='} {self.target_ratio:.2f}):"
                f" {verdict}",
                *(check.report() for check in self.checks),
            ]
        )

    def save(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        payload = {
            **asdict(self),
            "ratio": self.ratio,
            "passed": self.passed,
            "checks": [{**asdict(c), "passed": c.passed} for c in self.checks],
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        path.write_text(json.dumps(payload, indent=2))
        return path


async def closed_loop(
    operation: Callable[[int], Awaitable[None]], *, concurrency: int, seconds: float
) -> Sample:
    """`concurrency` workers call `operation` back to back for `seconds`; latency per call."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await operation(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Sample(
        ops_per_second=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
    )
