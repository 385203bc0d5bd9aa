from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from pydantic import SecretStr

from leedz.app import create_app
from leedz.config import Environment, Settings
from leedz.kit import passwords
from leedz.kit.db import Database
from tests.support import databases

# argon2id at a test's cost. At OWASP's (kit/passwords.py: 19 MiB, t=2) a hash takes 40 ms here,
# and the suite makes and signs in thousands of accounts. Tests marked `owasp_hashing` keep the
# real hasher; servers the tests start as processes always do.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
CHEAP_DUMMY_HASH = CHEAP_HASHER.hash("leedz-timing-equaliser")


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("owasp_hashing") is None:
        monkeypatch.setattr(passwords, "HASHER", CHEAP_HASHER)
        monkeypatch.setattr(passwords, "_DUMMY_HASH", CHEAP_DUMMY_HASH)


@pytest.fixture(scope="session")
def admin_url() -> str:
    return databases.server_url()


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """One migrated database for the whole run, dropped at the end."""
    url = databases.create_migrated_database(admin_url)
    yield url
    databases.drop_database(admin_url, url)


@pytest.fixture
async def owner(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection as the database owner (bypasses nothing but RLS policies' FORCE)."""
    conn = await asyncpg.connect(databases.asyncpg_dsn(database_url))
    try:
        yield conn
    finally:
        # Each test starts from empty tenant data; plans (seeded once) stay.
        await databases.empty_tenant_data(conn, database_url)
        await conn.close()


REDIS_URL = os.environ.get("LEEDZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_url() -> str:
    """Redis for scale-out tests: required in CI (its machines run one), else skipped."""
    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail("CI machines run Redis on 127.0.0.1:6379; it does not answer")
        pytest.skip("no Redis on 127.0.0.1:6379 on this machine")
    return REDIS_URL


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env=Environment.TEST,
        data_dir=tmp_path / "data",
        jwt_secret=SecretStr("test-secret-" + "x" * 40),
        cors_origins=["http://127.0.0.1:5173"],
        cors_extension_ids=["abcdefghijklmnopabcdefghijklmnop"],
        log_json=True,
        db_pool_size=4,
        max_body_bytes=64 * 1024,
        # No in-process worker of server-run jobs: a test's app claims nothing behind its back
        # (and opens no worker connection per app). tests/worker and the worker's live-update
        # tests run workers of their own; test_worker_events checks `leedz serve` starts one.
        worker=False,
    )


@pytest.fixture
def app(settings: Settings, database_url: str) -> FastAPI:
    return create_app(settings, database_url=database_url)


@pytest.fixture
async def db(settings: Settings, database_url: str) -> AsyncIterator[Database]:
    """A started pool of the app's kind, outside any app (what the CLI's passes run on)."""
    database = Database(settings, database_url)
    await database.start()
    yield database
    await database.dispose()


@pytest.fixture
async def client(app: FastAPI, owner: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the app in-process, with its lifespan running."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http
