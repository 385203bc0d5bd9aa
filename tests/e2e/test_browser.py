"""A real browser: Debian's Chromium, driven by playwright-core, runs a web page against the server.

`tests/browser/drive.mjs` serves `tests/browser/page` from `http://127.0.0.1:<port>`, the one
origin the server lists in LEEDZ_CORS_ORIGINS. In the page, the browser itself signs up (fetch),
opens `/app` (socket.io-client), registers an agent, creates a SEARCH job and follows it live;
this test reads the agent token the page shows and starts the reference agent (`leedz agent`)
with it, so the job's progress reaches the page while the page is watching. The page must show
COMPLETED and the evidence count, which the database must agree with; a screenshot is saved.
The same page from an unlisted origin must be refused by Chromium's CORS check, creating nothing.

Chromium comes from Debian (`/usr/bin/chromium`, installed here with apt-get when missing and
running as root), never from a browser download. Node.js 20+ and npm are required. A missing piece
fails the test with a message saying so: it is never skipped. `npm ci` installs the pinned
playwright-core and socket.io-client from the committed lock file when `tests/browser/node_modules`
is missing or stale.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from tests.support.live import clean_env, free_port, running_server
from tests.support.node import node_with_packages, read_step, stop

pytestmark = pytest.mark.e2e

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
DRIVER = BROWSER_DIR / "drive.mjs"
CHROMIUM = Path(os.environ.get("LEEDZ_CHROMIUM", "/usr/bin/chromium"))
TOKEN_TIMEOUT = 30.0
DRIVER_TIMEOUT = 100.0  # the driver's own hard timeout is 90 s
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _chromium_missing(detail: str) -> None:
    pytest.fail(f"Chromium is required for the browser test and could not be installed: {detail}")


def _install_chromium() -> None:
    """`apt-get install chromium` (Debian's package), as root only."""
    if os.geteuid() != 0:
        _chromium_missing(
            f"{CHROMIUM} is missing and this is not root; run"
            " `apt-get update && apt-get install -y --no-install-recommends chromium`"
        )
    if shutil.which("apt-get") is None:
        _chromium_missing(f"{CHROMIUM} is missing and there is no apt-get on this machine")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
    ):
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=900, check=False, env=env
        )
        if done.returncode != 0:
            _chromium_missing(
                f"`{' '.join(command)}` exited {done.returncode}:\n"
                f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
            )


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed when missing; it must answer `--version`."""
    if not CHROMIUM.is_file():
        _install_chromium()
    if not CHROMIUM.is_file():
        _chromium_missing(f"apt-get finished but {CHROMIUM} does not exist")
    try:
        done = subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        _chromium_missing(f"{CHROMIUM} does not run: {exc}")
    if done.returncode != 0 or "Chromium" not in done.stdout:
        _chromium_missing(f"{CHROMIUM} --version answered {done.returncode}: {done.stderr[-1500:]}")
    return CHROMIUM


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with tests/browser's packages installed from the lock file (`npm ci`)."""
    return node_with_packages(BROWSER_DIR, "to drive Chromium with playwright-core")


@pytest.fixture
def page_port() -> int:
    return free_port()


@pytest.fixture
async def base_url(
    database_url: str, tmp_path: Path, owner: asyncpg.Connection, page_port: int
) -> AsyncIterator[str]:
    # `owner` first: its teardown (truncation) runs after the server has stopped.
    with running_server(
        database_url, tmp_path / "data", LEEDZ_CORS_ORIGINS=f"http://127.0.0.1:{page_port}"
    ) as base:
        yield base


async def _drive(
    node: str, chromium: Path, base_url: str, page_port: int, screenshot: Path, tmp_path: Path
) -> dict[str, dict[str, Any]]:
    """Run the driver and, once the page shows its agent token, the reference agent."""
    driver = await asyncio.create_subprocess_exec(
        node,
        str(DRIVER),
        base_url,
        str(page_port),
        str(screenshot),
        cwd=BROWSER_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_NO_WARNINGS": "1", "LEEDZ_CHROMIUM": str(chromium)},
    )
    assert driver.stdout is not None
    agent: asyncio.subprocess.Process | None = None
    agent_log = tmp_path / "agent.log"
    steps: list[dict[str, Any]] = []
    errors = b""
    try:
        async with asyncio.timeout(TOKEN_TIMEOUT):
            while (step := await read_step(driver.stdout, steps))["step"] != "agent-token":
                assert step["ok"], steps
        with agent_log.open("wb") as log:
            agent = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "leedz.cli",
                "agent",
                "--url",
                base_url,
                "--token",
                step["token"],
                "--work-seconds",
                "0.3",
                "--max-jobs",
                "1",
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(tmp_path / "agent-data"),
            )
        async with asyncio.timeout(DRIVER_TIMEOUT):
            rest, errors = await driver.communicate()
        steps += [json.loads(line) for line in rest.decode().splitlines() if line.strip()]
    except (TimeoutError, EOFError, json.JSONDecodeError, AssertionError) as exc:
        await stop(driver)
        assert driver.stderr is not None
        errors += await driver.stderr.read()
        pytest.fail(f"{exc!r}\nsteps: {steps}\n{errors.decode()[-3000:]}")
    finally:
        await stop(driver)
        if agent is not None:
            await stop(agent)
    failure = (
        f"driver exit {driver.returncode}\nsteps: {steps}\n{errors.decode()[-3000:]}\n"
        f"agent:\n{agent_log.read_text()[-2000:] if agent_log.exists() else ''}"
    )
    assert driver.returncode == 0, failure
    assert all(step["ok"] for step in steps), failure
    names = [step["step"] for step in steps]
    assert names == ["launch", "agent-token", "completed", "refused", "done"], failure
    return {step["step"]: step for step in steps}


async def test_a_web_page_in_chromium_runs_a_search_job_live(
    chromium: Path,
    node: str,
    base_url: str,
    page_port: int,
    owner: asyncpg.Connection,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    allowed = f"http://127.0.0.1:{page_port}"
    screenshot = tmp_path / "browser-completed.png"

    refused_shot = screenshot.with_name(screenshot.stem + "-refused.png")
    # Where to look at them (also in JUnit XML); pytest keeps the last runs' tmp_path.
    record_property("screenshot", str(screenshot))
    record_property("screenshot_refused", str(refused_shot))
    steps = await _drive(node, chromium, base_url, page_port, screenshot, tmp_path)

    # The page, from the listed origin, did the work and saw it live.
    completed = steps["completed"]
    assert completed["origin"] == allowed
    seen = completed["seen"]
    assert seen[-1] == {"status": "COMPLETED", "progress": 100}, seen
    # Progress strictly between start and end arrived over /app while the job ran.
    assert any(s["status"] == "RUNNING" and 0 < s["progress"] < 100 for s in seen), seen
    assert [s["progress"] for s in seen] == sorted(s["progress"] for s in seen), seen

    # The database agrees: the page's user, its tenant's job, completed with that much evidence.
    user = await owner.fetchrow("SELECT id FROM users WHERE email = $1", completed["email"])
    assert user is not None
    job = await owner.fetchrow(
        "SELECT j.status::text AS status, j.progress, j.type::text AS type, j.agent_id,"
        " (SELECT count(*) FROM evidence e WHERE e.job_id = j.id) AS evidence"
        " FROM jobs j JOIN memberships m ON m.tenant_id = j.tenant_id"
        " WHERE j.id = $1 AND m.user_id = $2",
        UUID(completed["job-id"]),
        user["id"],
    )
    assert job is not None
    assert (job["type"], job["status"], job["progress"]) == ("SEARCH", "COMPLETED", 100)
    assert job["agent_id"] is not None
    assert job["evidence"] == completed["evidenceCount"] > 0

    # From an unlisted origin the browser refused the first call: nothing was created.
    refused = steps["refused"]
    assert refused["origin"] != allowed
    assert refused["error"].startswith("TypeError"), refused
    assert any("blocked by CORS policy" in message for message in refused["cors"]), refused
    assert refused["websocket"] != "opened", refused
    assert (
        await owner.fetchval("SELECT count(*) FROM users WHERE email = $1", refused["email"]) == 0
    )
    assert await owner.fetchval("SELECT count(*) FROM jobs") == 1

    # What the browser relied on, at the HTTP level: CORS on REST and on the Socket.IO handshake.
    refused_origin = refused["origin"]
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        for origin, allow in ((allowed, allowed), (refused_origin, None)):
            preflight = await http.options(
                "/v1/auth/signup",
                headers={
                    "origin": origin,
                    "access-control-request-method": "POST",
                    "access-control-request-headers": "content-type",
                },
            )
            assert preflight.headers.get("access-control-allow-origin") == allow, preflight
            handshake = await http.get(
                "/socket.io/",
                params={"EIO": "4", "transport": "polling"},
                headers={"origin": origin},
            )
            assert handshake.status_code == (200 if allow else 400), handshake.text
            assert handshake.headers.get("access-control-allow-origin") == allow

    for path in (screenshot, refused_shot):
        assert path.read_bytes()[:8] == PNG_MAGIC, path
