"""10,000 agents connected to one server process: connection rate, memory, idle CPU.

Subject: `leedz serve` (one process: uvicorn, the FastAPI app and the Socket.IO gateway). Every
agent opens a WebSocket (`/socket.io/?EIO=4&transport=websocket`) and joins `/agent` with its own
token: the handshake rate limit, the token lookup and `last_seen_at` touch in one RLS-scoped
transaction, five rooms (the agent's and one per capability), the `agent:status` emit.
Ceiling: bench/ceiling_socketio.py, a bare python-socketio AsyncServer whose `/agent` accepts any
token, under uvicorn with the same flags, connected by the same clients.

Clients: CLIENT_PROCESSES processes of this module (`python -m bench.agents_connected client`),
each holding its share of the connections with a minimal Engine.IO v4 / Socket.IO v5 client on
raw asyncio transports (the WebSocket upgrade, the open packet, `40/agent,{token}`, then `3` for
every server ping `2`), at most IN_FLIGHT handshakes in flight per process. They offer
permessage-deflate, as browsers do (LEEDZ_BENCH_DEFLATE=0: they don't).

Measured per server: connections/s from the first attempt to the last successful connect across
all clients (with each handshake's latency), then, with everyone connected, the server process's
RSS and its CPU over IDLE_SECONDS (more than two ping cycles), and how many connections are still
open at the end. Targets (the issue): RSS <= 1 GB, idle CPU <= 25 % of a core, >= 500
connections/s — absolute checks on the subject; the ratio against the ceiling is the
project's same-run comparison.

LEEDZ_BENCH_AGENTS (default 10000) sets the number of agents; LEEDZ_BENCH_IDLE_SECONDS (45).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import asyncpg
from tests.support.scratch import asyncpg_dsn

from bench.harness import Check, Result, Sample
from bench.http_load import PYTHON, free_port, server_process
from leedz.agents.context import AGENT_TOKEN_PREFIX
from leedz.jobs.schemas import AGENT_INPUTS
from leedz.kit import opaque

AGENTS = int(os.environ.get("LEEDZ_BENCH_AGENTS", "10000"))
IDLE_SECONDS = float(os.environ.get("LEEDZ_BENCH_IDLE_SECONDS", "45"))
CLIENT_PROCESSES = 4
IN_FLIGHT = 200
PING_INTERVAL = 20
SETTLE_SECONDS = 2.0
RAMP_TIMEOUT = 600.0
SECRET = "bench-secret-" + "c" * 40
UVICORN = [
    # As `leedz serve` runs uvicorn (cli.py): no deflate, no websocket pings of uvicorn's own
    # (Engine.IO pings; the CLI cannot say None, so an interval nobody reaches).
    "--ws-per-message-deflate",
    "false",
    "--ws-ping-interval",
    "1000000",
    "--host",
    "127.0.0.1",
    "--no-access-log",
    "--no-server-header",
    "--proxy-headers",
    "--log-level",
    "warning",
]
# The targets of the issue, beside the ratio.
RSS_LIMIT_MB = 1024.0
IDLE_CPU_LIMIT = 25.0
RATE_LIMIT = 500.0
TARGET_RATIO = 0.5
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


# --- the client processes -------------------------------------------------------------------


class _Agent(asyncio.Protocol):
    """One agent's WebSocket on a raw asyncio transport: the upgrade, frames, Engine.IO packets.

    Frames from the client are masked with a zero key (the payload goes out as is) and never
    compressed; frames from the server are inflated when permessage-deflate was agreed.
    """

    def __init__(self, client: _Client, token: str) -> None:
        self.client = client
        self.token = token
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.inflate: Any = None
        self.fragments: list[bytes] = []
        self.compressed = False
        self.joined = False
        self.outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.client.upgrade)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            del self.buffer[: end + 4]
            if not head.startswith(b"http/1.1 101"):
                self._fail(f"upgrade refused: {head[:60]!r}")
                return
            if b"permessage-deflate" in head:
                bits = 15
                if b"server_max_window_bits=" in head:
                    bits = int(head.split(b"server_max_window_bits=", 1)[1][:2].strip(b"; \r"))
                self.inflate = zlib.decompressobj(-bits)
            self.upgraded = True
        self._frames()

    def _frames(self) -> None:  # noqa: C901 - a frame parser: a branch per length and opcode
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + length:
                return
            payload = bytes(buffer[offset : offset + length])
            del buffer[: offset + length]
            opcode = first & 0x0F
            if opcode in (0, 1, 2):
                if opcode:
                    self.compressed = bool(first & 0x40)
                self.fragments.append(payload)
                if first & 0x80:
                    message = b"".join(self.fragments)
                    self.fragments.clear()
                    if self.compressed and self.inflate is not None:
                        message = self.inflate.decompress(message + b"\x00\x00\xff\xff")
                    self._packet(message.decode())
            elif opcode == 9:  # a WebSocket ping from uvicorn
                self._send(0xA, payload)
            elif opcode == 8 and self.transport is not None:
                self.transport.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        length = len(payload)
        if length < 126:
            head = bytes((0x80 | opcode, 0x80 | length))
        else:
            head = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
        self.transport.write(head + b"\x00\x00\x00\x00" + payload)

    def _packet(self, packet: str) -> None:
        client = self.client
        if packet == "2":
            self._send(1, b"3")
            client.pongs += 1
        elif packet.startswith("0{"):
            self._send(1, b"40/agent," + json.dumps({"token": self.token}).encode())
        elif packet.startswith("40/agent,"):
            self.joined = True
            if not self.outcome.done():
                self.outcome.set_result(None)
        elif packet.startswith("44/agent,"):
            client.refused.append(packet[9:200])
            if self.transport is not None:
                self.transport.close()
            if not self.outcome.done():
                self.outcome.set_result(None)

    def _fail(self, error: str) -> None:
        self.client.errors.append(error)
        if self.transport is not None:
            self.transport.close()
        if not self.outcome.done():
            self.outcome.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.joined:
            self.client.open -= 1
            if not self.client.closing:
                self.client.dropped += 1
        elif not self.outcome.done():
            self._fail(f"closed before joining: {exc!r}")


@dataclass
class _Client:
    """One client process's connections and counters."""

    port: int
    tokens: list[str]
    in_flight: int
    deflate: bool
    started: list[float] = field(default_factory=list)
    connected: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    open: int = 0
    pongs: int = 0
    dropped: int = 0
    closing: bool = False
    upgrade: bytes = b""

    def __post_init__(self) -> None:
        lines = [
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: bGVlZHotYmVuY2gtYWdudA==",
            "Sec-WebSocket-Version: 13",
        ]
        if self.deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        self.upgrade = ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def agent(self, token: str, gate: asyncio.Semaphore) -> None:
        loop = asyncio.get_running_loop()
        async with gate:
            started = time.monotonic()
            self.started.append(started)
            agent = _Agent(self, token)
            try:
                await loop.create_connection(lambda: agent, "127.0.0.1", self.port)
                await asyncio.wait_for(agent.outcome, 120)
            except Exception as exc:  # counted and reported, not raised
                agent._fail(f"{type(exc).__name__}: {exc}")
                return
            if agent.joined:
                now = time.monotonic()
                self.connected.append(now)
                self.latencies.append(now - started)
                self.open += 1

    async def run(self, out: Path) -> None:
        loop = asyncio.get_running_loop()
        commands = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(commands), os.fdopen(0, "rb", buffering=0)
        )

        def say(word: str) -> None:
            sys.stdout.write(word + "\n")
            sys.stdout.flush()

        say("ready")
        if (await commands.readline()).strip() != b"go":
            return
        gate = asyncio.Semaphore(self.in_flight)
        await asyncio.gather(*(self.agent(token, gate) for token in self.tokens))
        _write(
            out,
            {
                "started": self.started,
                "connected": self.connected,
                "latencies": self.latencies,
                "refused": self.refused,
                "errors": self.errors,
            },
        )
        say("connected")
        while line := (await commands.readline()).strip():
            if line == b"report":
                _write(out, {"open": self.open, "pongs": self.pongs, "dropped": self.dropped})
                say("reported")
            elif line == b"close":
                break
        self.closing = True
        sys.stdout.flush()
        # The kernel closes the sockets: thousands of closing handshakes would only add noise.
        os._exit(0)


def _write(out: Path, payload: dict[str, object]) -> None:
    out.write_text(json.dumps(payload))


def _client_main(argv: list[str]) -> None:
    import uvloop

    port, token_file, first, count, out = argv
    tokens = Path(token_file).read_text().split()[int(first) : int(first) + int(count)]
    deflate = os.environ.get("LEEDZ_BENCH_DEFLATE", "1") == "1"
    client = _Client(port=int(port), tokens=tokens, in_flight=IN_FLIGHT, deflate=deflate)
    uvloop.run(client.run(Path(out)))


# --- the parent -----------------------------------------------------------------------------


def _raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _seed(url: str, count: int) -> tuple[list[str], uuid.UUID]:
    """One tenant and user, `count` agents with every agent capability; their tokens."""
    tenant, user = uuid.uuid4(), uuid.uuid4()
    tokens = [opaque.new_token(AGENT_TOKEN_PREFIX, tenant) for _ in range(count)]
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', 'bench')",
            user,
            f"agents-{user.hex[:8]}@bench.example",
        )
        await conn.execute(
            "INSERT INTO tenants (id, name, slug) VALUES ($1, 'bench', $2)", tenant, tenant.hex
        )
        await conn.execute(
            "INSERT INTO agents (tenant_id, user_id, name, capabilities, token_hash, token_prefix)"
            " SELECT $1, $2, 'bench agent ' || n, $3::text[]::job_type[], hash, prefix"
            " FROM unnest($4::bytea[], $5::text[]) WITH ORDINALITY AS t(hash, prefix, n)",
            tenant,
            user,
            [c.value for c in AGENT_INPUTS],
            [t.digest for t in tokens],
            [t.value[:12] for t in tokens],
        )
    finally:
        await conn.close()
    return [t.value for t in tokens], tenant


async def _seen_since(url: str, since: float) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        seen: int = await conn.fetchval(
            "SELECT count(*) FROM agents WHERE last_seen_at >= to_timestamp($1)", since
        )
    finally:
        await conn.close()
    return seen


def _rss_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (peak) of `pid`, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (
        int(fields["VmRSS"].split()[0]) / 1024,
        int(fields["VmHWM"].split()[0]) / 1024,
    )


def _cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_name = stat.rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / TICKS  # utime, stime


def _sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def _expect(process: subprocess.Popen[bytes], word: bytes, timeout: float) -> None:
    """Wait for the client's next line (one short write each), which must be `word`."""
    assert process.stdout is not None
    stream: IO[bytes] = process.stdout
    readable, _, _ = select.select([stream], [], [], timeout)
    if not readable:
        raise RuntimeError(f"a client did not say {word!r} within {timeout} s")
    line = stream.readline().strip()  # b"" when the client died
    if line != word:
        raise RuntimeError(f"a client said {line!r}, expected {word!r}")


def _tell(process: subprocess.Popen[bytes], word: bytes) -> None:
    assert process.stdin is not None
    process.stdin.write(word + b"\n")
    process.stdin.flush()


@dataclass
class _Round:
    sample: Sample
    connected: int
    refused: list[str]
    errors: list[str]
    ramp_seconds: float
    ramp_cpu_percent: float
    clients_cpu_percent: float
    rss_before_mb: float
    rss_mb: float
    peak_rss_mb: float
    idle_cpu_percent: float
    sockets: int
    open_at_end: int
    dropped: int
    pongs: int

    def describe(self, label: str) -> str:
        kb_each = (self.rss_mb - self.rss_before_mb) * 1024 / max(1, self.connected)
        return (
            f"{label}: {self.connected:,} connected in {self.ramp_seconds:.1f} s"
            f" (CPU during the ramp: server {self.ramp_cpu_percent:.0f} %,"
            f" clients {self.clients_cpu_percent:.0f} %),"
            f" {len(self.refused)} refused, {len(self.errors)} errors;"
            f" RSS {self.rss_before_mb:.0f} -> {self.rss_mb:.0f} MB"
            f" (~{kb_each:.0f} KB per connection, peak {self.peak_rss_mb:.0f} MB);"
            f" idle CPU {self.idle_cpu_percent:.1f} % of a core over {IDLE_SECONDS:.0f} s;"
            f" {self.sockets:,} sockets in the server; {self.open_at_end:,} still open at the end"
            f" ({self.dropped} dropped by the server), {self.pongs:,} pings answered"
        )


def _idle_window(pid: int) -> tuple[float, float]:
    """The highest RSS (MB, sampled each second) and the CPU (% of a core) over IDLE_SECONDS."""
    rss, _ = _rss_mb(pid)
    cpu_start, wall_start = _cpu_seconds(pid), time.monotonic()
    deadline = wall_start + IDLE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        rss = max(rss, _rss_mb(pid)[0])
    return rss, (_cpu_seconds(pid) - cpu_start) / (time.monotonic() - wall_start) * 100


def _measure(  # noqa: C901 - one round step by step; split, the timing points would scatter
    port: int, pid: int, token_file: Path, count: int, work: Path
) -> _Round:
    """Connect `count` agents from the client processes, hold them idle, measure `pid`."""
    rss_before, _ = _rss_mb(pid)
    share = -(-count // CLIENT_PROCESSES)
    clients: list[subprocess.Popen[bytes]] = []
    outs = [work / f"client-{port}-{i}.json" for i in range(CLIENT_PROCESSES)]
    try:
        for i, out in enumerate(outs):
            first, size = i * share, max(0, min(share, count - i * share))
            argv = ["client", str(port), str(token_file), str(first), str(size), str(out)]
            clients.append(
                subprocess.Popen(
                    [PYTHON, "-m", "bench.agents_connected", *argv],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            )
        for client in clients:
            _expect(client, b"ready", 60)
        cpu_start, wall_start = _cpu_seconds(pid), time.monotonic()
        clients_cpu = sum(_cpu_seconds(c.pid) for c in clients)
        for client in clients:
            _tell(client, b"go")
        for client in clients:
            _expect(client, b"connected", RAMP_TIMEOUT)
        wall = time.monotonic() - wall_start
        ramp_cpu = (_cpu_seconds(pid) - cpu_start) / wall * 100
        clients_cpu = (sum(_cpu_seconds(c.pid) for c in clients) - clients_cpu) / wall * 100
        reports = [json.loads(out.read_text()) for out in outs]
        started = [t for r in reports for t in r["started"]]
        connected = sorted(t for r in reports for t in r["connected"])
        latencies = sorted(t for r in reports for t in r["latencies"])
        refused = [m for r in reports for m in r["refused"]]
        errors = [m for r in reports for m in r["errors"]]
        if not connected:
            raise RuntimeError(f"no agent connected: {refused[:3]} {errors[:3]}")
        ramp = connected[-1] - min(started)
        sample = Sample(
            ops_per_second=len(connected) / ramp,
            p50_ms=latencies[len(latencies) // 2] * 1000,
            p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        )
        time.sleep(SETTLE_SECONDS)
        sockets = _sockets(pid)
        rss, idle_cpu = _idle_window(pid)
        peak = _rss_mb(pid)[1]
        for client in clients:
            _tell(client, b"report")
        for client in clients:
            _expect(client, b"reported", 60)
        ends = [json.loads(out.read_text()) for out in outs]
        for client in clients:
            _tell(client, b"close")
        for client in clients:
            client.wait(timeout=60)
        return _Round(
            sample=sample,
            connected=len(connected),
            refused=refused,
            errors=errors,
            ramp_seconds=ramp,
            ramp_cpu_percent=ramp_cpu,
            clients_cpu_percent=clients_cpu,
            rss_before_mb=rss_before,
            rss_mb=rss,
            peak_rss_mb=peak,
            idle_cpu_percent=idle_cpu,
            sockets=sockets,
            open_at_end=sum(e["open"] for e in ends),
            dropped=sum(e["dropped"] for e in ends),
            pongs=sum(e["pongs"] for e in ends),
        )
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()


def main(url: str) -> Result:
    fd_limit = _raise_fd_limit()
    count = AGENTS
    work = Path(tempfile.mkdtemp(prefix="leedz-bench-agents-"))
    tokens, _ = asyncio.run(_seed(url, count))
    token_file = work / "tokens.txt"
    token_file.write_text("\n".join(tokens) + "\n")
    subject_port, ceiling_port = free_port(), free_port()
    env = {
        "DATABASE_URL": url,
        "LEEDZ_JWT_SECRET": SECRET,
        "LEEDZ_ENV": "development",
        "LEEDZ_LOG_LEVEL": "WARNING",
        "LEEDZ_HOST": "127.0.0.1",
        "LEEDZ_DB_POOL_SIZE": "10",
        "LEEDZ_DB_MAX_OVERFLOW": "0",
        "LEEDZ_RATE_LIMIT_SOCKET_CONNECT": "1000000/minute",
        "LEEDZ_RATE_LIMIT_SOCKET_CONNECT_INSTANCE": "1000000/second",
        "LEEDZ_SOCKET_PING_INTERVAL": str(PING_INTERVAL),
    }
    subject_argv = [PYTHON, "-m", "leedz.cli", "serve", "--host", "127.0.0.1"]
    ceiling_argv = [PYTHON, "-m", "uvicorn", "bench.ceiling_socketio:app", *UVICORN]
    rounds: dict[str, _Round] = {}
    seen = 0
    for label, argv, port in (
        ("ceiling", [*ceiling_argv, "--port", str(ceiling_port)], ceiling_port),
        ("subject", [*subject_argv, "--port", str(subject_port)], subject_port),
    ):
        with server_process(argv, env=env, port=port, log=work / f"{label}.log") as server:
            since = time.time()
            rounds[label] = _measure(port, server.pid, token_file, count, work)
            if label == "subject":
                seen = asyncio.run(_seen_since(url, since))
            time.sleep(3)  # the server notices the closed sockets before it is stopped
    subject, ceiling = rounds["subject"], rounds["ceiling"]
    result = Result(
        name="agents_connected",
        subject=f"{count:,} /agent handshakes via leedz serve (token tx, rooms)",
        ceiling="bare python-socketio AsyncServer /agent, same uvicorn",
        target_ratio=TARGET_RATIO,
        subject_samples=[subject.sample],
        ceiling_samples=[ceiling.sample],
        checks=[
            Check("rss_mb", subject.rss_mb, RSS_LIMIT_MB, "MB", "max"),
            Check("idle_cpu_percent", subject.idle_cpu_percent, IDLE_CPU_LIMIT, "% of a core"),
            Check("connections_per_second", subject.sample.ops_per_second, RATE_LIMIT, "/s", "min"),
            Check("connected_at_once", subject.open_at_end, count, "agents", "min"),
        ],
    )
    result.notes += [
        subject.describe("subject"),
        ceiling.describe("ceiling"),
        f"agents seen (last_seen_at) during the subject run: {seen:,}",
        f"{CLIENT_PROCESSES} client processes, {IN_FLIGHT} handshakes in flight each;"
        f" ping interval {PING_INTERVAL} s; open files limit {fd_limit}",
        *(f"subject refused e.g. {m}" for m in subject.refused[:2]),
        *(f"subject error e.g. {m}" for m in subject.errors[:2]),
        *(f"ceiling error e.g. {m}" for m in ceiling.errors[:2]),
        f"server logs and client reports in {work}",
    ]
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        _client_main(sys.argv[2:])
    else:
        sys.exit("usage: python -m bench.agents_connected client PORT TOKENS FIRST COUNT OUT")
