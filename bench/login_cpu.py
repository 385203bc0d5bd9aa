"""Where a sign-in's CPU goes during a login flood (a diagnostic beside bench/login_flood.py).

`uv run python -m bench.login_cpu [ROUNDS]`: starts `leedz serve` on a fresh database as
login_flood does, floods POST /v1/auth/login from 8 connections for 8 s per round, and reads
CPU time (utime + stime, /proc) before and after each round for: the server's event-loop thread
(its main thread), its other threads (the argon2id pool), every PostgreSQL process, and this
process (the load generator). Prints each per sign-in and as a share of a core, then raw argon2id
verifications/s as login_flood measures them. No target: it explains login_flood's ratio.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tests.support import scratch

from bench import login_flood
from bench.http_load import PYTHON, free_port, load, server_process

TICK = os.sysconf("SC_CLK_TCK")
SECONDS = 8.0


def _cpu(stat_path: str) -> float:
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _threads(pid: int) -> dict[int, float]:
    tasks = Path(f"/proc/{pid}/task")
    return {int(t.name): _cpu(f"{t}/stat") for t in tasks.iterdir()}


def _postgres() -> float:
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += _cpu(f"{entry}/stat")
            except OSError:
                continue  # a process that just ended
    return total


def _own() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(rounds: int) -> None:
    admin = scratch.server_url(
        os.environ.get("LEEDZ_BENCH_DATABASE_URL"), Path(".leedz") / "bench-pgdata"
    )
    url = scratch.create_migrated_database(admin, "leedz_bench", app_role="leedz_app")
    try:
        port = free_port()
        env = login_flood.server_env(url, port)
        log = Path(tempfile.mkdtemp(prefix="leedz-bench-")) / "server.log"
        argv = [PYTHON, "-m", "leedz.cli", "serve"]
        with server_process(argv, env=env, port=port, log=log) as server:
            body = {"email": "flood@bench.example", "password": login_flood.PASSWORD, "name": "F"}
            httpx.post(
                f"http://127.0.0.1:{port}/v1/auth/signup", json=body, timeout=30
            ).raise_for_status()
            login = json.dumps({"email": body["email"], "password": login_flood.PASSWORD})

            def flood(concurrency: int, seconds: float) -> float:
                sample = asyncio.run(
                    load(
                        port,
                        method="POST",
                        path="/v1/auth/login",
                        headers={"Content-Type": "application/json"},
                        body=login.encode(),
                        concurrency=concurrency,
                        seconds=seconds,
                    )
                )
                return sample.ops_per_second

            flood(4, 2)  # warm-up
            for _ in range(rounds):
                threads, postgres, own = _threads(server.pid), _postgres(), _own()
                started = time.perf_counter()
                rate = flood(8, SECONDS)
                elapsed = time.perf_counter() - started
                after = _threads(server.pid)
                moved = {tid: cpu - threads.get(tid, 0.0) for tid, cpu in after.items()}
                shares = {
                    "event loop": moved.get(server.pid, 0.0),
                    "argon2id threads": sum(c for t, c in moved.items() if t != server.pid),
                    "postgresql": _postgres() - postgres,
                    "load generator": _own() - own,
                }
                logins = rate * elapsed
                print(f"{rate:.1f} sign-ins/s")
                for name, cpu in shares.items():
                    print(
                        f"  {name:<17} {cpu / logins * 1000:6.2f} ms per sign-in"
                        f"  {cpu / elapsed:5.2f} of a core"
                    )
        raw = login_flood.raw_verifications(SECONDS)
        print(f"raw argon2id: {raw.ops_per_second:.1f} verifications/s, {raw.p50_ms:.2f} ms each")
    finally:
        scratch.drop_database(admin, url)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
