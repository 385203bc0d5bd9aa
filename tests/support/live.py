"""Real servers for end-to-end tests: `leedz serve` as a process, on a free port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

LEEDZ = [sys.executable, "-m", "leedz.cli"]
TEST_JWT_SECRET = "e2e-secret-" + "y" * 40
LOG_TAIL = 6000  # characters of a server's output shown when a test fails while it runs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(data_dir: Path) -> dict[str, str]:
    """The process environment without LEEDZ_/DATABASE_/REDIS_ settings, plus a data dir."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LEEDZ_", "DATABASE_", "REDIS_"))
    }
    env["LEEDZ_DATA_DIR"] = str(data_dir)
    return env


async def leedz(*args: str, env: dict[str, str]) -> str:
    """`leedz <args>` in a process of its own; its standard output (it must exit 0)."""
    process = await asyncio.create_subprocess_exec(
        *LEEDZ, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


def wait_until_up(
    base: str, process: subprocess.Popen[bytes], timeout: float = 150, log_path: Path | None = None
) -> None:
    """Until `base`/healthz answers; fails with the server's output if it exits first. The
    wait is long because importing the app alone took 22-34 s on a machine at load 10-15."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if log_path is not None:
                out = log_path.read_text()
            else:
                out = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"server exited with {process.returncode}:\n{out[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("server did not come up")


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()


@contextmanager
def server_process(
    database_url: str,
    data_dir: Path,
    *,
    port: int | None = None,
    log_path: Path | None = None,
    environment: dict[str, str] | None = None,
    **settings: str,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`leedz serve` against `database_url` (already migrated): (process, base URL).

    `environment` and `settings` are extra variables (LEEDZ_LEASE_SECONDS="5", REDIS_URL=…). The
    server's output goes to `log_path` (default: a file in `data_dir`) so a chatty server never
    blocks on a full pipe. Stopped with SIGINT on exit, unless the test ended it already.
    """
    port = port or free_port()
    env = {
        **clean_env(data_dir),
        "DATABASE_URL": database_url,
        "LEEDZ_PORT": str(port),
        "LEEDZ_JWT_SECRET": TEST_JWT_SECRET,
        "LEEDZ_LOG_LEVEL": "WARNING",
        **(environment or {}),
        **settings,
    }
    log_path = log_path or data_dir / f"server-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen([*LEEDZ, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, process, log_path=log_path)
            try:
                yield process, base
            except GeneratorExit:
                raise
            except BaseException:  # pytest's failures are BaseExceptions
                # The test failed while the server ran: its last words go to the test's
                # captured output, for a failure seen once on CI and never again here.
                tail = log_path.read_text(errors="replace")[-LOG_TAIL:]
                sys.stderr.write(f"--- {log_path.name}, its end:\n{tail}\n")
                raise
        finally:
            if process.poll() is None:
                stop(process)


@contextmanager
def running_server(
    database_url: str, data_dir: Path, *, log_path: Path | None = None, **settings: str
) -> Iterator[str]:
    """`server_process`, yielding only the base URL."""
    with server_process(database_url, data_dir, log_path=log_path, environment=settings) as (
        _,
        base,
    ):
        yield base
