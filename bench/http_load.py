"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams (keep-alive, no client
library in the way), and helpers to run servers as separate processes.

Each of `concurrency` connections sends its next request as soon as the previous answer is read;
the latency of every request is recorded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.harness import Sample


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """One HTTP/1.1 keep-alive request, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


def percentiles(latencies: list[float], seconds: float) -> Sample:
    """Requests per second over `seconds`, p50 and p99 of `latencies` (in seconds)."""
    ordered = sorted(latencies)
    return Sample(
        ops_per_second=len(ordered) / seconds,
        p50_ms=ordered[len(ordered) // 2] * 1000,
        p99_ms=ordered[int(len(ordered) * 0.99)] * 1000,
    )


async def load(
    port: int,
    *,
    method: str = "GET",
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    concurrency: int,
    seconds: float,
    expect: int = 200,
) -> Sample:
    payload = request_bytes(method, path, headers or {}, body)
    sample, _ = await load_varied(
        port, lambda: ("", payload), concurrency=concurrency, seconds=seconds, expect=expect
    )
    return sample


async def load_varied(
    port: int,
    next_request: Callable[[], tuple[str, bytes]],
    *,
    concurrency: int,
    seconds: float,
    expect: int = 200,
) -> tuple[Sample, dict[str, list[float]]]:
    """Like `load`, each connection taking its next request from `next_request` (a label and
    the request's bytes: a mix of queries, or a new body every time). Returns the whole sample
    and the latencies (seconds) by label."""
    latencies: list[float] = []
    by_label: dict[str, list[float]] = {}
    unexpected: list[tuple[int, str]] = []
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                label, payload = next_request()
                started = time.perf_counter()
                writer.write(payload)
                status = await _read_response(reader)
                latency = time.perf_counter() - started
                latencies.append(latency)
                by_label.setdefault(label, []).append(latency)
                if status != expect:
                    unexpected.append((status, label))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if unexpected:
        raise RuntimeError(f"{len(unexpected)} unexpected answers, e.g. {unexpected[:5]}")
    return percentiles(latencies, elapsed), by_label


async def paced_probe(port: int, path: str, *, rate: float, seconds: float) -> Sample:
    """One request every 1/rate seconds on one connection: latency under someone else's load."""
    latencies: list[float] = []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = request_bytes("GET", path, {})
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(payload)
            await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    finally:
        writer.close()
    latencies.sort()
    return Sample(
        ops_per_second=len(latencies) / seconds,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(
    argv: Sequence[str], *, env: dict[str, str], port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait for it to answer, stop it (SIGINT) afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(argv), env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited early; see {log}")
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


PYTHON = sys.executable
