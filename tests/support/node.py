"""Node.js for the tests that drive real JavaScript clients (tests/js, tests/browser).

Node 20+ and npm are required: a missing one fails the test, it never skips (CI has them). Each
folder's pinned packages are installed with `npm ci` from its committed lock file when one is
missing or at another version, with install scripts off: nothing may download a browser.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_MAJOR_MIN = 20


def tool(name: str, why: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: Node.js {NODE_MAJOR_MIN}+ and npm are needed {why}")
    return path


def stale_packages(directory: Path) -> list[str]:
    """The pinned dependencies of `directory` whose installed version is missing or different."""
    pinned: dict[str, str] = json.loads((directory / "package.json").read_text())["dependencies"]
    stale = []
    for name, version in pinned.items():
        installed = directory / "node_modules" / name / "package.json"
        if not installed.is_file() or json.loads(installed.read_text())["version"] != version:
            stale.append(name)
    return stale


def node_with_packages(directory: Path, why: str) -> str:
    """The node binary, `directory`'s packages installed (`npm ci` when stale)."""
    node = tool("node", why)
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR_MIN:
        pytest.fail(f"Node.js {NODE_MAJOR_MIN}+ is needed {why}, found {version}")
    if stale_packages(directory):
        done = subprocess.run(
            [tool("npm", why), "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        )
        if done.returncode != 0:
            pytest.fail(
                f"npm ci in {directory} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
        assert not stale_packages(directory)
    return node


async def read_step(stdout: asyncio.StreamReader, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The next JSON line a script printed (appended to `steps` too)."""
    raw = await stdout.readline()
    if not raw:
        raise EOFError("the script closed its stdout")
    step: dict[str, Any] = json.loads(raw)
    steps.append(step)
    return step


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
