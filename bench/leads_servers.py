"""The two servers of the lead benchmarks, on one data set: `leedz serve` and the ceiling
(bench/ceiling_leads.py) under the same uvicorn flags, pools of the same size."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.http_load import PYTHON, free_port, server_process
from bench.leads_data import PASSWORD, Owner

SECRET = "bench-secret-" + "l" * 40
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


@dataclass(frozen=True)
class Servers:
    subject: int
    ceiling: int
    logs: Path

    def sign_in(self, owner: Owner) -> dict[str, str]:
        """Headers with a fresh access token of `owner` (tokens live 15 minutes)."""
        response = httpx.post(
            f"http://127.0.0.1:{self.subject}/v1/auth/login",
            json={"email": owner.email, "password": PASSWORD},
            timeout=30,
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['accessToken']}"}


@contextmanager
def servers(url: str, name: str) -> Iterator[Servers]:
    subject_port, ceiling_port = free_port(), free_port()
    env = {
        "DATABASE_URL": url,
        "LEEDZ_JWT_SECRET": SECRET,
        "LEEDZ_ENV": "development",
        "LEEDZ_LOG_LEVEL": "WARNING",
        "LEEDZ_DB_POOL_SIZE": "10",
        "LEEDZ_DB_MAX_OVERFLOW": "0",
    }
    logs = Path(tempfile.mkdtemp(prefix=f"leedz-bench-{name}-"))
    subject = [PYTHON, "-m", "leedz.cli", "serve", "--port", str(subject_port)]
    ceiling = [PYTHON, "-m", "uvicorn", "bench.ceiling_leads:app", "--port", str(ceiling_port)]
    with (
        server_process(
            subject,
            env={**env, "LEEDZ_PORT": str(subject_port)},
            port=subject_port,
            log=logs / "subject.log",
        ),
        server_process([*ceiling, *UVICORN], env=env, port=ceiling_port, log=logs / "ceiling.log"),
    ):
        yield Servers(subject_port, ceiling_port, logs)
