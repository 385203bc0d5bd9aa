"""Login timing: does a wrong password for a known email answer like an unknown email?

Interleaved pairs on one keep-alive connection, the order inside each pair drawn at random:
`POST /v1/auth/login` with a known email and a wrong password, and with an email nobody has.
Reported: the median latency of each (subject: known, ceiling: unknown), their ratio (target
0.95-1.05), the difference of the medians, and how often the known one was the slower of its
pair (target 35-65 %): with the same work on both paths that is a coin toss; before, it was 40
of 40.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.harness import Check, Result, Sample
from bench.http_load import PYTHON, _read_response, free_port, request_bytes, server_process
from bench.login_flood import PASSWORD, server_env

PAIRS = 300
WARM_UP = 20


def _sample(latencies: list[float]) -> Sample:
    ordered = sorted(latencies)
    return Sample(
        ops_per_second=len(ordered) / sum(ordered),
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[int(len(ordered) * 0.99)] * 1000,
    )


async def _pairs(port: int, known_email: str, pairs: int) -> tuple[list[float], list[float]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"}

    async def attempt(email: str) -> float:
        body = json.dumps({"email": email, "password": "not the password"}).encode()
        started = time.perf_counter()
        writer.write(request_bytes("POST", "/v1/auth/login", headers, body))
        status = await _read_response(reader)
        elapsed = time.perf_counter() - started
        if status != 401:
            raise RuntimeError(f"expected 401, got {status}")
        return elapsed

    known: list[float] = []
    unknown: list[float] = []
    try:
        for _ in range(pairs):
            stranger = f"nobody-{uuid.uuid4().hex[:12]}@bench.example"
            if random.random() < 0.5:
                known.append(await attempt(known_email))
                unknown.append(await attempt(stranger))
            else:
                unknown.append(await attempt(stranger))
                known.append(await attempt(known_email))
    finally:
        writer.close()
    return known, unknown


def main(url: str) -> Result:
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="leedz-bench-"))
    result = Result(
        name="login_timing",
        subject="known email, wrong password (median)",
        ceiling="unknown email (median)",
        target_ratio=1.05,
        compare="p50",
    )
    with server_process(
        [PYTHON, "-m", "leedz.cli", "serve"],
        env=server_env(url, port),
        port=port,
        log=logs / "server.log",
    ):
        email = "timing@bench.example"
        httpx.post(
            f"http://127.0.0.1:{port}/v1/auth/signup",
            json={"email": email, "password": PASSWORD, "name": "Timing"},
            timeout=30,
        ).raise_for_status()
        asyncio.run(_pairs(port, email, WARM_UP))
        known, unknown = asyncio.run(_pairs(port, email, PAIRS))
    result.subject_samples.append(_sample(known))
    result.ceiling_samples.append(_sample(unknown))
    difference = (statistics.median(known) - statistics.median(unknown)) * 1000
    slower = sum(k > u for k, u in zip(known, unknown, strict=True)) / PAIRS
    result.notes.append(f"median difference (known - unknown): {difference:+.3f} ms")
    result.notes.append(f"{PAIRS} interleaved pairs; server log in {logs}")
    # Two-sided: neither path may be the steadily slower one (a sign test over the pairs; the
    # absolute difference is reported, not checked: it is within the machine's noise).
    result.checks.append(
        Check(name="median ratio", value=result.ratio, limit=0.95, unit="x", kind="min")
    )
    for bound, kind in ((35.0, "min"), (65.0, "max")):
        result.checks.append(
            Check(
                name="pairs where the known email was slower",
                value=slower * 100,
                limit=bound,
                unit="%",
                kind=kind,
            )
        )
    return result
