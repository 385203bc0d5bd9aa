"""`leedz serve` as a real process: uvicorn, signals, the embedded database of `make run`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live import LEEDZ, clean_env, free_port, stop, wait_until_up

pytestmark = pytest.mark.e2e


def serve(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*LEEDZ, "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    return {**clean_env(tmp_path / "data"), "LEEDZ_PORT": str(free_port())}


@pytest.fixture
def server(base_env: dict[str, str], database_url: str) -> Iterator[str]:
    process = serve({**base_env, "DATABASE_URL": database_url})
    base = f"http://127.0.0.1:{base_env['LEEDZ_PORT']}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        assert stop(process) == 0


class TestServe:
    def test_serves_health_docs_and_openapi(self, server: str) -> None:
        assert httpx.get(f"{server}/readyz").json()["status"] == "ready"
        docs = httpx.get(f"{server}/docs")
        assert docs.status_code == 200
        assert "swagger" in docs.text.lower()
        spec = httpx.get(f"{server}/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        assert spec["paths"]["/readyz"]["get"]["operationId"] == "readyz"

    def test_logs_are_json_lines_with_the_request_id(
        self, base_env: dict[str, str], database_url: str
    ) -> None:
        process = serve({**base_env, "DATABASE_URL": database_url})
        base = f"http://127.0.0.1:{base_env['LEEDZ_PORT']}"
        wait_until_up(base, process)
        request_id = httpx.get(f"{base}/v1/nope").headers["x-request-id"]
        assert stop(process) == 0
        output = process.stdout.read().decode() if process.stdout else ""
        lines = [json.loads(line) for line in output.splitlines() if request_id in line]
        assert lines, output[-2000:]
        assert lines[0]["status"] == 404
        assert lines[0]["route"] == "unmatched"
        assert lines[0]["event"] == "request"
        assert lines[0]["level"] == "info"

    def test_production_refuses_to_start_without_secrets(self, base_env: dict[str, str]) -> None:
        result = subprocess.run(
            [*LEEDZ, "serve"],
            env={**base_env, "LEEDZ_ENV": "production"},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0
        assert b"LEEDZ_JWT_SECRET" in result.stderr


class TestEmbeddedDatabase:
    """What `make run` does with no DATABASE_URL: embedded PostgreSQL under the data dir."""

    def test_first_and_second_run(self, base_env: dict[str, str], tmp_path: Path) -> None:
        base = f"http://127.0.0.1:{base_env['LEEDZ_PORT']}"
        pgdata = tmp_path / "data" / "pgdata"

        first = serve(base_env, "--upgrade", "--seed")
        wait_until_up(base, first, timeout=120)
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        assert stop(first) == 0
        assert not (pgdata / "postmaster.pid").exists(), "Ctrl-C must stop PostgreSQL too"

        second = serve(base_env, "--upgrade", "--seed")
        wait_until_up(base, second, timeout=120)
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        assert stop(second) == 0
        assert (pgdata / "PG_VERSION").exists(), "the second run reuses the same data"
