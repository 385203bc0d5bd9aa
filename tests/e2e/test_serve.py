"""`leedz serve` as a real process: uvicorn, signals, the embedded database of `make run`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live import LEEDZ, clean_env, free_port, stop, wait_until_up

pytestmark = pytest.mark.e2e

# The first start of a data directory runs initdb.
FIRST_START = 120


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

    def test_first_and_second_run(self, embedded_env: dict[str, str], pgdata: Path) -> None:
        base_env = embedded_env
        base = f"http://127.0.0.1:{base_env['LEEDZ_PORT']}"

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


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid in `postmaster.pid`: the server PostgreSQL says runs on this data directory."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid > 0 else None  # negative: a standalone backend (initdb at work)


def alive(pid: int) -> bool:
    assert pid > 0  # os.kill(-n) would signal a whole process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError, IndexError):  # a zombie has exited: it serves nothing
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def assert_no_postmaster(pgdata: Path, pid: int) -> None:
    deadline = time.monotonic() + 5  # pg_ctl stop -w has returned; the pid may linger a moment
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), f"the postmaster {pid} of {pgdata} is still running"
    assert not (pgdata / "postmaster.pid").exists(), "PostgreSQL did not shut down cleanly"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """LEEDZ_DATA_DIR for the embedded server, outside pytest's temporary root.

    As root, PostgreSQL runs as another user, who must be able to walk every parent directory of
    its data; each pytest session that starts meanwhile (another run on the same machine) takes
    the group and other bits off /tmp/pytest-of-<user>, and initdb or the server fails. A test
    that fails leaves no server behind.
    """
    root = Path(tempfile.mkdtemp(prefix="leedz-serve-"))
    yield root / "data"
    pid = postmaster_pid(root / "data" / "pgdata")
    if pid is not None and alive(pid):
        os.kill(pid, signal.SIGQUIT)
        with contextlib.suppress(AssertionError):
            assert_no_postmaster(root / "data" / "pgdata", pid)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pgdata(data_dir: Path) -> Path:
    return data_dir / "pgdata"


@pytest.fixture
def embedded_env(data_dir: Path) -> dict[str, str]:
    """No DATABASE_URL: `leedz serve` starts the embedded PostgreSQL, as `make run` does."""
    return {**clean_env(data_dir), "LEEDZ_PORT": str(free_port())}


def _exec_with(signum: str, disposition: str) -> list[str]:
    """A prefix that starts the command that follows with `signum` set to `disposition`:
    exec keeps a signal's disposition (ignored or default), and Python keeps it so."""
    return [
        sys.executable,
        "-c",
        f"import os, signal, sys; signal.signal(signal.{signum}, signal.{disposition});"
        " os.execv(sys.argv[1], sys.argv[1:])",
    ]


# SIGINT ignored, as a shell starts a background job (`cmd &` in a script).
SIGINT_IGNORED = _exec_with("SIGINT", "SIG_IGN")
# SIGHUP at its default, as a terminal leaves it, whatever pytest itself was started with.
SIGHUP_DEFAULT = _exec_with("SIGHUP", "SIG_DFL")


class ServeProcess:
    """`leedz serve`, its output in a file (never a full pipe)."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *args: str,
        group: bool = False,
        sigint_ignored: bool = False,
        nohup: bool = False,
    ) -> None:
        self.base = f"http://127.0.0.1:{env['LEEDZ_PORT']}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    # SIGHUP as a terminal leaves it, whatever pytest was started with
                    # (`nohup make test` would pass "ignored" on, and serve keeps it so).
                    *(["nohup"] if nohup else SIGHUP_DEFAULT),
                    *(SIGINT_IGNORED if sigint_ignored else []),
                    *LEEDZ,
                    "serve",
                    *args,
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=group,  # its own process group, as a terminal's job is
            )

    def wait_until_up(self) -> None:
        # This process says it listens (not some other server that took the port meanwhile).
        deadline = time.monotonic() + FIRST_START
        while "Uvicorn running on" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"leedz serve did not start:\n{self.output()[-6000:]}")
            time.sleep(0.05)
        wait_until_up(self.base, self.process, log_path=self.log)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"leedz serve still running after {timeout} s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class TestEveryWayOutStopsTheDatabase:
    """README: Ctrl-C stops the API and the database. So does every other way `serve` ends."""

    @pytest.mark.parametrize(
        ("how", "status"),
        [
            pytest.param("sigint", 0, id="SIGINT-to-the-API"),
            pytest.param("ctrl-c", 0, id="Ctrl-C-SIGINT-to-the-process-group"),
            pytest.param("sigterm", 128 + signal.SIGTERM, id="SIGTERM"),
            pytest.param("sighup", 128 + signal.SIGTERM, id="SIGHUP-terminal-closed"),
        ],
    )
    def test_a_signal(
        self, embedded_env: dict[str, str], pgdata: Path, tmp_path: Path, how: str, status: int
    ) -> None:
        serve = ServeProcess(embedded_env, tmp_path / "serve.log", group=how == "ctrl-c")
        serve.wait_until_up()
        pid = postmaster_pid(pgdata)
        assert pid is not None
        assert alive(pid)
        if how == "ctrl-c":
            os.killpg(serve.process.pid, signal.SIGINT)
        else:
            serve.process.send_signal(
                {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM, "sighup": signal.SIGHUP}[how]
            )
        assert serve.wait(timeout=30) == status, serve.output()[-3000:]
        assert_no_postmaster(pgdata, pid)

    def test_nohup_outlives_the_terminal(
        self, embedded_env: dict[str, str], pgdata: Path, tmp_path: Path
    ) -> None:
        """`nohup leedz serve`: SIGHUP (the terminal closed) is ignored, as nohup asks."""
        serve = ServeProcess(embedded_env, tmp_path / "serve.log", nohup=True)
        serve.wait_until_up()
        pid = postmaster_pid(pgdata)
        assert pid is not None
        serve.process.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert serve.process.poll() is None, serve.output()[-3000:]
        assert httpx.get(f"{serve.base}/healthz").status_code == 200
        serve.process.send_signal(signal.SIGINT)
        assert serve.wait(timeout=30) == 0, serve.output()[-3000:]
        assert_no_postmaster(pgdata, pid)

    def test_a_failed_start(
        self, embedded_env: dict[str, str], pgdata: Path, tmp_path: Path
    ) -> None:
        with socket.socket() as taken:  # the port is in use: uvicorn cannot bind
            taken.bind(("127.0.0.1", int(embedded_env["LEEDZ_PORT"])))
            taken.listen()
            serve = ServeProcess(embedded_env, tmp_path / "serve.log")
            assert serve.wait(timeout=FIRST_START) != 0
        assert "address already in use" in serve.output().lower()
        assert (pgdata / "PG_VERSION").exists(), "the database had started"
        assert not (pgdata / "postmaster.pid").exists(), serve.output()[-3000:]

    def test_an_exception_in_the_lifespan(
        self, embedded_env: dict[str, str], pgdata: Path, tmp_path: Path
    ) -> None:
        # A pool of no connections: asyncpg raises ValueError in the lifespan's db.start().
        env = {**embedded_env, "LEEDZ_DB_POOL_SIZE": "0", "LEEDZ_DB_MAX_OVERFLOW": "0"}
        serve = ServeProcess(env, tmp_path / "serve.log")
        assert serve.wait(timeout=FIRST_START) != 0
        assert "Application startup failed" in serve.output()
        assert (pgdata / "PG_VERSION").exists(), "the database had started"
        assert not (pgdata / "postmaster.pid").exists(), serve.output()[-3000:]

    def test_a_killed_servers_database_is_adopted_then_stopped(
        self, embedded_env: dict[str, str], pgdata: Path, tmp_path: Path
    ) -> None:
        killed = ServeProcess(embedded_env, tmp_path / "killed.log")
        killed.wait_until_up()
        leftover = postmaster_pid(pgdata)
        assert leftover is not None
        killed.process.kill()  # SIGKILL: nothing of the API runs any more
        killed.wait(timeout=10)
        assert alive(leftover), "SIGKILL leaves the postmaster behind (nothing can stop it)"

        again = ServeProcess(embedded_env, tmp_path / "again.log")
        again.wait_until_up()
        assert postmaster_pid(pgdata) == leftover, "the running server is adopted"
        assert httpx.get(f"{again.base}/readyz").status_code in (200, 503)  # it answers
        again.process.send_signal(signal.SIGINT)
        assert again.wait(timeout=30) == 0, again.output()[-3000:]
        assert_no_postmaster(pgdata, leftover)


def in_single_user_mode(initdb: int) -> bool:
    """Whether initdb runs its single-user backend, `postgres --single` (past the bootstrap)."""
    shells = children_named(initdb, "sh")  # popen() may run it through /bin/sh
    for parent in (initdb, *shells):
        for pid in children_named(parent, "postgres"):
            with contextlib.suppress(OSError):
                if b"--single" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                    return True
    return False


def children_named(pid: int, name: str) -> list[int]:
    """Child processes of `pid` running `name` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            head, tail = stat.read_text().rsplit(")", 1)
            if head.split("(", 1)[1] == name and int(tail.split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


class TestInterruptedFirstStart:
    @pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
    @pytest.mark.parametrize(
        ("sigint_ignored", "single_user"),
        [
            pytest.param(False, False, id="from-a-terminal"),
            # A suite run in the background passed SIGINT ignored down to `leedz serve`: the
            # Ctrl-C was dropped and the process went on to serve (uvicorn handles SIGINT).
            pytest.param(True, False, id="SIGINT-ignored-by-the-parent"),
            # initdb's single-user backend, past the bootstrap, unblocks SIGINT: it died of the
            # Ctrl-C and initdb removed the data directory.
            pytest.param(False, True, id="in-the-single-user-phase"),
        ],
    )
    def test_ctrl_c_during_initdb_leaves_a_database_that_starts(
        self,
        embedded_env: dict[str, str],
        pgdata: Path,
        tmp_path: Path,
        sigint_ignored: bool,
        single_user: bool,
    ) -> None:
        # The first `make run` is slow (initdb); Ctrl-C reaches every process of the group. The
        # API used to give initdb a quarter of a second to clean up, then SIGKILL it: a data
        # directory half made, half removed, that no later run could start.
        first = ServeProcess(
            embedded_env, tmp_path / "first.log", group=True, sigint_ignored=sigint_ignored
        )
        deadline = time.monotonic() + 60
        while not (children_named(first.process.pid, "initdb") and (pgdata / "base").exists()):
            assert first.process.poll() is None, first.output()[-3000:]
            assert time.monotonic() < deadline, "initdb never started"
            time.sleep(0.01)
        while single_user and not any(
            in_single_user_mode(initdb) for initdb in children_named(first.process.pid, "initdb")
        ):
            assert first.process.poll() is None, first.output()[-3000:]
            assert time.monotonic() < deadline, "initdb never ran its single-user backend"
            time.sleep(0.01)
        os.killpg(first.process.pid, signal.SIGINT)
        assert first.wait(timeout=60) != 0
        # The start ran whole (then stopped), where initdb used to be cut short: either it
        # removed what it had made or, killed meanwhile, left half of it.
        assert (pgdata / "PG_VERSION").exists(), first.output()[-3000:]
        assert not (pgdata / "postmaster.pid").exists(), first.output()[-3000:]

        again = ServeProcess(embedded_env, tmp_path / "again.log")
        again.wait_until_up()
        pid = postmaster_pid(pgdata)
        assert pid is not None
        again.process.send_signal(signal.SIGINT)
        assert again.wait(timeout=30) == 0, again.output()[-3000:]
        assert_no_postmaster(pgdata, pid)


class TestBoundedShutdown:
    GRACE = 2

    def test_sigterm_ends_requests_whose_bodies_never_come(
        self, embedded_env: dict[str, str], pgdata: Path, tmp_path: Path
    ) -> None:
        env = {**embedded_env, "LEEDZ_SHUTDOWN_GRACE_SECONDS": str(self.GRACE)}
        serve = ServeProcess(env, tmp_path / "serve.log")
        serve.wait_until_up()
        pid = postmaster_pid(pgdata)
        assert pid is not None
        port = int(env["LEEDZ_PORT"])
        polling = "/socket.io/?EIO=4&transport=polling"
        sid = json.loads(httpx.get(serve.base + polling).text[1:])["sid"]
        stalled = []
        # Headers promising a body that never comes (under every size limit: nothing to refuse),
        # to the API and to an Engine.IO polling session.
        for target in ("/v1/auth/login", f"{polling}&sid={sid}"):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(
                f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
            )
            stalled.append(client)
        time.sleep(0.5)  # both requests are in flight, each waiting for its body
        try:
            started = time.monotonic()
            serve.process.send_signal(signal.SIGTERM)
            status = serve.wait(timeout=self.GRACE + 5)
            took = time.monotonic() - started
        finally:
            for client in stalled:
                client.close()
        assert status == 128 + signal.SIGTERM, serve.output()[-3000:]
        assert took >= self.GRACE - 0.5, "in-flight requests get the grace period first"
        assert_no_postmaster(pgdata, pid)
