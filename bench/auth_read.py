"""Authenticated tenant read: GET /v1/members through the whole API against a bare ceiling.

Subject: `leedz serve` (uvicorn, one process): middleware, JWT check, membership check and the
RLS-scoped listing in one transaction, pydantic serialization, one JSON access-log line.
Ceiling: bench/ceiling_app.py under the same uvicorn settings, on the same database and token.
Load: 16 keep-alive connections from this process, 5 s per round, rounds interleaved.
Target: subject requests/s >= 0.7 x ceiling requests/s.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import httpx

from bench.harness import Result
from bench.http_load import PYTHON, free_port, load, server_process

CONCURRENCY = 16
ROUNDS = 3
SECONDS = 5.0
SECRET = "bench-secret-" + "b" * 40
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


def _members(base: str) -> str:
    """An owner with four members on PRO; returns the owner's access token."""
    with httpx.Client(base_url=base, timeout=30) as http:
        owner = http.post(
            "/v1/auth/signup",
            json={"email": "owner@bench.example", "password": "bench password 1", "name": "Owner"},
        ).json()
        headers = {"authorization": f"Bearer {owner['accessToken']}"}
        for i in range(2):
            link = http.post(
                "/v1/invites",
                json={"email": f"m{i}@bench.example", "role": "SALES"},
                headers=headers,
            ).json()["acceptUrl"]
            http.post(
                "/v1/auth/signup",
                json={
                    "email": f"m{i}@bench.example",
                    "password": "bench password 1",
                    "name": f"Member {i}",
                    "inviteToken": link.rsplit("/", 1)[1],
                },
            ).raise_for_status()
        return str(owner["accessToken"])


def main(url: str) -> Result:
    subject_port, ceiling_port = free_port(), free_port()
    env = {
        "DATABASE_URL": url,
        "LEEDZ_JWT_SECRET": SECRET,
        "LEEDZ_ENV": "development",
        "LEEDZ_DB_POOL_SIZE": "10",
        "LEEDZ_DB_MAX_OVERFLOW": "0",
    }
    logs = Path(tempfile.mkdtemp(prefix="leedz-bench-"))
    subject = [PYTHON, "-m", "leedz.cli", "serve", "--port", str(subject_port)]
    ceiling = [
        PYTHON,
        "-m",
        "uvicorn",
        "bench.ceiling_app:app",
        "--port",
        str(ceiling_port),
        *UVICORN,
    ]
    result = Result(
        name="auth_read",
        subject="GET /v1/members via leedz serve (FastAPI, full stack)",
        ceiling="bare Starlette + asyncpg: PyJWT + same SQL, same uvicorn",
        target_ratio=0.7,
    )
    with (
        server_process(
            subject,
            env={**env, "LEEDZ_PORT": str(subject_port)},
            port=subject_port,
            log=logs / "subject.log",
        ),
        server_process(ceiling, env=env, port=ceiling_port, log=logs / "ceiling.log"),
    ):
        token = _members(f"http://127.0.0.1:{subject_port}")
        headers = {"Authorization": f"Bearer {token}"}

        async def measure() -> None:
            for port in (subject_port, ceiling_port):  # warm-up
                await load(
                    port, path="/v1/members", headers=headers, concurrency=CONCURRENCY, seconds=1
                )
            for _ in range(ROUNDS):
                result.subject_samples.append(
                    await load(
                        subject_port,
                        path="/v1/members",
                        headers=headers,
                        concurrency=CONCURRENCY,
                        seconds=SECONDS,
                    )
                )
                result.ceiling_samples.append(
                    await load(
                        ceiling_port,
                        path="/v1/members",
                        headers=headers,
                        concurrency=CONCURRENCY,
                        seconds=SECONDS,
                    )
                )

        asyncio.run(measure())
    result.notes.append(f"server logs in {logs}")
    return result
