"""Test databases: a fresh, migrated and seeded database per test run on a real server."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import scratch
from tests.support.scratch import asyncpg_dsn, drop_database

APP_ROLE = "leedz_app"
TEST_PGDATA = Path(".leedz") / "test-pgdata"

__all__ = [
    "APP_ROLE",
    "asyncpg_dsn",
    "create_database",
    "create_migrated_database",
    "drop_database",
]


def server_url() -> str:
    """LEEDZ_TEST_DATABASE_URL, else the embedded test server."""
    return scratch.server_url(os.environ.get("LEEDZ_TEST_DATABASE_URL"), TEST_PGDATA)


def create_database(admin_url: str, prefix: str = "leedz_test") -> str:
    return scratch.create_database(admin_url, prefix)


def create_migrated_database(admin_url: str) -> str:
    return scratch.create_migrated_database(admin_url, "leedz_test", app_role=APP_ROLE)
