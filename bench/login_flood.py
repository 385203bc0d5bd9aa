"""Login flood: sign-ins over HTTP against raw argon2id verifications, and /healthz meanwhile.

1. Ceiling: argon2id verifications/s in this process, on as many threads as CPUs (the server's
   hashing pool has the same width), while the server idles.
2. Subject: POST /v1/auth/login with valid credentials from 8 keep-alive connections.
   Target: logins/s >= 0.9 x verifications/s.
3. /healthz probed 50 times a second, idle and then during the flood (same run), from a
   process of its own: sharing the load generator's event loop would add that loop's delays.
   Target: p99 during the flood <= 2 x idle p99 — the event loop never waits for hashing.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.harness import Result, Sample
from bench.http_load import PYTHON, free_port, load, paced_probe, server_process
from leedz.kit.passwords import HASHER

ROUNDS = 2
SECONDS = 8.0
SECRET = "bench-secret-" + "b" * 40
PASSWORD = "bench password 1"


def raw_verifications(seconds: float) -> Sample:
    digest = HASHER.hash(PASSWORD)
    workers = os.cpu_count() or 1
    deadline = time.perf_counter() + seconds
    counts = [0] * workers

    def spin(index: int) -> None:
        while time.perf_counter() < deadline:
            HASHER.verify(digest, PASSWORD)
            counts[index] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(spin, range(workers)))
    elapsed = time.perf_counter() - started
    per_op = elapsed * workers / max(1, sum(counts)) * 1000
    return Sample(ops_per_second=sum(counts) / elapsed, p50_ms=per_op, p99_ms=per_op)


def _probe(port: int, seconds: float) -> Sample:
    return asyncio.run(paced_probe(port, "/healthz", rate=50, seconds=seconds))


def server_env(url: str, port: int) -> dict[str, str]:
    """`leedz serve`'s settings for a flood from one address (the limits would stop it)."""
    return {
        "DATABASE_URL": url,
        "LEEDZ_JWT_SECRET": SECRET,
        "LEEDZ_PORT": str(port),
        "LEEDZ_RATE_LIMIT_LOGIN_IP": "1000000/minute",
        "LEEDZ_RATE_LIMIT_LOGIN_EMAIL": "1000000/minute",
        "LEEDZ_RATE_LIMIT_SIGNUP": "1000000/minute",
    }


def main(url: str) -> list[Result]:
    port = free_port()
    env = server_env(url, port)
    logs = Path(tempfile.mkdtemp(prefix="leedz-bench-"))
    logins_result = Result(
        name="login_flood",
        subject="POST /v1/auth/login over HTTP (8 connections)",
        ceiling=f"raw argon2id verify, {os.cpu_count()} threads",
        target_ratio=0.9,
    )
    probe = Result(
        name="healthz_during_login_flood",
        subject="/healthz p99 during the login flood",
        ceiling="/healthz p99 idle",
        target_ratio=2.0,
        compare="p99",
    )
    with server_process(
        [PYTHON, "-m", "leedz.cli", "serve"], env=env, port=port, log=logs / "server.log"
    ):
        body = {"email": "flood@bench.example", "password": PASSWORD, "name": "Flood"}
        httpx.post(
            f"http://127.0.0.1:{port}/v1/auth/signup", json=body, timeout=30
        ).raise_for_status()
        login = json.dumps({"email": body["email"], "password": PASSWORD}).encode()
        headers = {"Content-Type": "application/json"}

        def flood(concurrency: int, seconds: float) -> Sample:
            return asyncio.run(
                load(
                    port,
                    method="POST",
                    path="/v1/auth/login",
                    headers=headers,
                    body=login,
                    concurrency=concurrency,
                    seconds=seconds,
                )
            )

        flood(4, 2)  # warm-up
        with ProcessPoolExecutor(1) as prober:
            prober.submit(_probe, port, 0.5).result()  # the probe process is up before measuring
            for _ in range(ROUNDS):
                logins_result.ceiling_samples.append(raw_verifications(SECONDS))
                probe.ceiling_samples.append(prober.submit(_probe, port, SECONDS / 2).result())
                during = prober.submit(_probe, port, SECONDS)
                logins_result.subject_samples.append(flood(8, SECONDS))
                probe.subject_samples.append(during.result())
    logins_result.notes.append(f"server log in {logs}")
    return [logins_result, probe]
