"""A real PgBouncer (the Debian package) in transaction mode in front of the test server.

Like Neon's pooler: clients connect to PgBouncer, which lends one of `pool_size` server
connections per transaction and takes it back at COMMIT/ROLLBACK, without any reset query in
between (`server_reset_query` only runs in session mode). Whatever a transaction leaves on the
server connection is seen by the next client's transaction on it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.engine import make_url

PGBOUNCER = "/usr/sbin/pgbouncer"


@dataclass(frozen=True)
class Bouncer:
    url: str  # `database_url` with PgBouncer as the server
    version: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _binary() -> str:
    """PgBouncer's binary, installed from Debian when missing and running as root."""
    if not Path(PGBOUNCER).exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.fail(
                f"{PGBOUNCER} is missing: install the Debian package (`apt-get install pgbouncer`)"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "pgbouncer"]
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:  # stale package lists (a fresh container): update, then retry
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
            done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not Path(PGBOUNCER).exists():
            pytest.fail(f"could not install pgbouncer:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return PGBOUNCER


def version() -> str:
    out = subprocess.run([_binary(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0].removeprefix("PgBouncer ").strip()


def _server(database_url: str) -> tuple[str, int]:
    """(host or Unix socket directory, port) of the server behind `database_url`."""
    parsed = urlsplit(database_url)
    host = parse_qs(parsed.query).get("host", [parsed.hostname or "127.0.0.1"])[0]
    port = parse_qs(parsed.query).get("port", [str(parsed.port or 5432)])[0]
    return host, int(port)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as(server_host: str) -> str | None:
    """PgBouncer refuses to run as root: as root, run it as the owner of the server's socket
    directory (the embedded server's 0700 data directory), or as `nobody` over TCP."""
    if os.geteuid() != 0:
        return None
    if server_host.startswith("/"):
        return pwd.getpwuid(Path(server_host).stat().st_uid).pw_name
    return "nobody"


@contextmanager
def pgbouncer(database_url: str, *, pool_size: int = 2) -> Iterator[Bouncer]:
    """PgBouncer in transaction mode in front of `database_url`'s server, on a free port.

    `pool_size` server connections per (database, user) pair; up to 500 clients. Clients log in
    without a password (`auth_type = trust`) as any user named in the auth file, which PgBouncer
    then uses on the server.
    """
    binary = _binary()
    host, server_port = _server(database_url)
    url = make_url(database_url)
    user = url.username or "postgres"
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="leedz-pgbouncer-"))
    log_path = workdir / "pgbouncer.log"
    (workdir / "users.txt").write_text(f'"{user}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={host} port={server_port} user={user}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {workdir / 'users.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {pool_size}",
                "min_pool_size = 0",
                "reserve_pool_size = 0",
                "max_client_conn = 500",
                "max_db_connections = 0",
                "server_login_retry = 1",
                # Transaction mode runs no reset query between clients: nothing hides state a
                # transaction leaves behind.
                "server_reset_query_always = 0",
                f"logfile = {log_path}",
                f"pidfile = {workdir / 'pgbouncer.pid'}",
                "log_connections = 1",
                "log_disconnections = 0",
                "",
            ]
        )
    )
    command = [binary, "-q"]  # logs go to `logfile` only
    run_as = _run_as(host)
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        for path in (workdir, *workdir.iterdir()):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        command += ["-u", run_as]
    command.append(str(workdir / "pgbouncer.ini"))
    with (workdir / "stderr.log").open("wb") as stderr:  # a file: a full pipe would block it
        process = subprocess.Popen(command, stdout=stderr, stderr=subprocess.STDOUT)
    bouncer = Bouncer(
        url=url.set(host="127.0.0.1", port=port, query={}).render_as_string(hide_password=False),
        version=version(),
        log_path=log_path,
    )
    try:
        _wait_for(port, process, bouncer)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes], bouncer: Bouncer) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = (bouncer.log_path.parent / "stderr.log").read_text(errors="replace")
            pytest.fail(f"pgbouncer exited with {process.returncode}:\n{stderr}{bouncer.log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    pytest.fail(f"pgbouncer did not listen on {port}:\n{bouncer.log()}")
