"""The agent loop: one Socket.IO connection to `/agent`, kept up, and the jobs it holds.

Connection: our own reconnect loop (backoff.py) rather than python-socketio's, whose jitter is
a fixed ±`randomization_factor` seconds and which does not retry a first connect. Every handshake
sends the jobs still held (`auth.inFlight`), so the server releases only what we lost.

Jobs: claimed one at a time by a single claimer woken by `job:available`, a finished job or a
(re)connect, until the server answers `job: null` (none left, or `maxConcurrency` reached). Each
job runs in its own task, which survives a disconnect: its calls wait for the next connection.

Every action is one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import socketio

from leedz.reference_agent import work
from leedz.reference_agent.backoff import reconnect_delay

NAMESPACE = "/agent"
CALL_TIMEOUT = 15.0
CONNECT_TIMEOUT = 10.0
HEARTBEAT_SECONDS = 20.0
# Codes after which retrying the same call later may succeed.
TRANSIENT = frozenset({"database_unavailable", "rate_limited", "timeout", "disconnected"})
# Refused handshakes that no retry will fix.
FATAL_HANDSHAKE = frozenset({"unauthorized", "invalid_token", "validation_error"})

Transport = Literal["websocket", "polling"]
Ack = dict[str, Any]

EXIT_OK = 0
EXIT_REFUSED = 2
EXIT_REVOKED = 3


@dataclass(frozen=True)
class AgentOptions:
    url: str
    token: str
    max_jobs: int | None = None
    work_seconds: float = 1.0
    transport: Transport = "websocket"


@dataclass
class HeldJob:
    job: dict[str, Any]
    lease_id: str
    task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return str(self.job["id"])


@dataclass
class _Stop:
    code: int
    reason: str


class JobLost(Exception):
    """The server no longer lets us act on the job (lease stale, cancelled)."""

    def __init__(self, ack: Ack) -> None:
        super().__init__(_code(ack))
        self.ack = ack


def _code(ack: Ack) -> str:
    error = ack.get("error")
    return str(error.get("code")) if isinstance(error, dict) else "unknown"


@dataclass
class ReferenceAgent:
    """Runs until `max_jobs` completions, revocation, a refused token, or cancellation."""

    options: AgentOptions
    out: TextIO = field(default_factory=lambda: sys.stdout)

    def __post_init__(self) -> None:
        self._sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        self._held: dict[str, HeldJob] = {}
        self._connected = asyncio.Event()
        self._wake_claimer = asyncio.Event()
        self._wake_heartbeat = asyncio.Event()
        self._done = asyncio.Event()
        self._stop: _Stop | None = None
        self._completed = 0
        self._lease_seconds: float | None = None
        self._last_refusal: dict[str, Any] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._register_handlers()

    # --- output -------------------------------------------------------------------------------

    def log(self, event: str, **fields: Any) -> None:
        line = {"ts": datetime.now(UTC).isoformat(), "event": event, **fields}
        self.out.write(json.dumps(line, default=str) + "\n")
        self.out.flush()

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> int:
        """Connect, work, reconnect; the process exit code."""
        loops = [
            asyncio.create_task(self._claimer()),
            asyncio.create_task(self._heartbeats()),
        ]
        try:
            await self._stay_connected()
        finally:
            for task in [*loops, *(h.task for h in self._held.values() if h.task)]:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self._disconnect_quietly()
        stop = self._stop or _Stop(EXIT_OK, "stopped")
        self.log("exit", code=stop.code, reason=stop.reason, completed=self._completed)
        return stop.code

    async def _disconnect_quietly(self) -> None:
        """Close the socket on the way out, whatever state the server left it in.

        When the server closed the socket first (a revocation), python-engineio's disconnect
        awaits its own read loop, which may already be cancelled: that CancelledError is not
        ours, and must not turn a clean exit code into a traceback. Our own cancellation
        (Ctrl-C) still propagates.
        """
        try:
            await self._sio.disconnect()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        except Exception:  # noqa: S110 - leaving anyway; the exit code says why
            pass

    def _finish(self, code: int, reason: str) -> None:
        if self._stop is None:
            self._stop = _Stop(code, reason)
        self._done.set()

    async def _stay_connected(self) -> None:
        attempt = 0
        while not self._done.is_set():
            self._last_refusal = {}
            try:
                await self._sio.connect(
                    self.options.url,
                    namespaces=[NAMESPACE],
                    auth=self._handshake,
                    transports=[self.options.transport],
                    wait_timeout=CONNECT_TIMEOUT,
                )
            except socketio.exceptions.ConnectionError as exc:
                code = str(self._last_refusal.get("code", ""))
                if code in FATAL_HANDSHAKE:
                    message = self._last_refusal.get("message", str(exc))
                    self.log("refused", code=code, message=message)
                    self._finish(EXIT_REFUSED, f"the server refused the agent token: {message}")
                    return
                delay = reconnect_delay(attempt)
                retry_after = self._last_refusal.get("retryAfter")
                if isinstance(retry_after, int | float):  # rate_limited says how long
                    delay = max(delay, float(retry_after))
                attempt += 1
                self.log("reconnecting", attempt=attempt, delaySeconds=round(delay, 3), code=code)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._done.wait(), delay)
                continue
            attempt = 0
            await self._until_disconnected()

    async def _until_disconnected(self) -> None:
        disconnected = asyncio.create_task(self._sio.wait())
        done = asyncio.create_task(self._done.wait())
        await asyncio.wait({disconnected, done}, return_when=asyncio.FIRST_COMPLETED)
        for task in (disconnected, done):
            task.cancel()
        await asyncio.gather(disconnected, done, return_exceptions=True)

    def _handshake(self) -> dict[str, Any]:
        # Called on every connect: the server keeps exactly the jobs listed here.
        return {"token": self.options.token, "inFlight": list(self._held)}

    # --- server events ------------------------------------------------------------------------

    def _register_handlers(self) -> None:
        on = self._sio.on
        on("connect", self._on_connect, namespace=NAMESPACE)
        on("connect_error", self._on_connect_error, namespace=NAMESPACE)
        on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        on("job:available", self._on_available, namespace=NAMESPACE)
        on("job:cancel", self._on_cancel, namespace=NAMESPACE)
        on("agent:revoked", self._on_revoked, namespace=NAMESPACE)

    async def _on_connect(self) -> None:
        self.log("connected", inFlight=list(self._held), transport=self._sio.transport())
        self._connected.set()
        # Learn at once which of the jobs we reported the server no longer lets us keep.
        self._wake_heartbeat.set()
        self._wake_claimer.set()

    async def _on_connect_error(self, data: object = None) -> None:
        if isinstance(data, dict):
            details = data.get("data")
            self._last_refusal = {
                "message": data.get("message"),
                **(details if isinstance(details, dict) else {}),
            }

    async def _on_disconnect(self, reason: object = None) -> None:
        self._connected.clear()
        self.log("disconnected", reason=str(reason), inFlight=list(self._held))

    async def _on_available(self, data: object = None) -> None:
        self._wake_claimer.set()

    async def _on_cancel(self, data: object = None) -> None:
        job_id = str(data.get("jobId")) if isinstance(data, dict) else ""
        self.log("cancel_requested", jobId=job_id)
        self._stop_job(job_id, answer=True, why="cancelled")

    async def _on_revoked(self, data: object = None) -> None:
        self.log("revoked")
        self._finish(EXIT_REVOKED, "this agent was revoked; register a new one")

    # --- calls --------------------------------------------------------------------------------

    async def _call_once(self, event: str, data: dict[str, Any]) -> Ack:
        try:
            ack = await self._sio.call(event, data, namespace=NAMESPACE, timeout=CALL_TIMEOUT)
        except socketio.exceptions.TimeoutError:
            return {"ok": False, "error": {"code": "timeout", "message": "no ack"}}
        except socketio.exceptions.SocketIOError as exc:  # not connected right now
            return {"ok": False, "error": {"code": "disconnected", "message": str(exc)}}
        return ack if isinstance(ack, dict) else {"ok": False, "error": {"code": "bad_ack"}}

    async def _call(self, event: str, data: dict[str, Any]) -> Ack:
        """`event` with its ack, retried after transient failures (the lease calls are
        idempotent: progress, evidence and complete may be repeated under the same lease)."""
        attempt = 0
        while True:
            await self._connected.wait()
            ack = await self._call_once(event, data)
            if ack.get("ok") or _code(ack) not in TRANSIENT:
                return ack
            await asyncio.sleep(reconnect_delay(attempt, cap=5.0))
            attempt += 1

    # --- claiming -----------------------------------------------------------------------------

    def _room_for_more(self) -> bool:
        limit = self.options.max_jobs
        return limit is None or self._completed + len(self._held) < limit

    async def _claimer(self) -> None:
        while True:
            await self._wake_claimer.wait()
            self._wake_claimer.clear()
            await self._connected.wait()
            while self._room_for_more() and self._connected.is_set():
                ack = await self._call_once("job:claim", {})
                if not ack.get("ok"):
                    self.log("claim_refused", code=_code(ack), error=ack.get("error"))
                    if _code(ack) == "capability_missing":
                        self._finish(EXIT_REFUSED, "this agent has no capability the server runs")
                    break
                job = ack.get("job")
                if not isinstance(job, dict):
                    break
                held = HeldJob(job=job, lease_id=str(ack["leaseId"]))
                self._held[held.id] = held
                self.log("claimed", jobId=held.id, leaseId=held.lease_id, type=job.get("type"))
                held.task = asyncio.create_task(self._run_job(held))

    # --- heartbeats ---------------------------------------------------------------------------

    def _heartbeat_interval(self) -> float:
        # Every 20 s, or a third of the lease when the server's lease is shorter than a minute.
        if self._lease_seconds is None:
            return HEARTBEAT_SECONDS
        return max(1.0, min(HEARTBEAT_SECONDS, self._lease_seconds / 3))

    async def _heartbeats(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_heartbeat.wait(), self._heartbeat_interval())
            self._wake_heartbeat.clear()
            if not self._connected.is_set():
                continue
            in_flight = list(self._held)
            ack = await self._call_once("heartbeat", {"inFlight": in_flight})
            if not ack.get("ok"):
                self.log("heartbeat_failed", code=_code(ack))
                continue
            self._lease_seconds = float(ack.get("leaseSeconds") or HEARTBEAT_SECONDS * 3)
            drop = [str(j) for j in ack.get("drop") or []]
            cancel = [str(j) for j in ack.get("cancel") or []]
            self.log("heartbeat", inFlight=in_flight, drop=drop, cancel=cancel)
            for job_id in drop:
                self._stop_job(job_id, answer=False, why="dropped")
            for job_id in cancel:
                self._stop_job(job_id, answer=True, why="cancelled")

    # --- jobs ---------------------------------------------------------------------------------

    def _stop_job(self, job_id: str, *, answer: bool, why: str) -> None:
        """Stop working on a job; when asked to cancel, tell the server with `job:fail`."""
        held = self._held.pop(job_id, None)
        if held is None:
            return
        if held.task is not None and held.task is not asyncio.current_task():
            held.task.cancel()
        self.log("stopped", jobId=job_id, leaseId=held.lease_id, reason=why)
        self._wake_claimer.set()
        if answer:
            self._spawn(self._answer_cancel(held))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _answer_cancel(self, held: HeldJob) -> None:
        ack = await self._call(
            "job:fail",
            {
                "jobId": held.id,
                "leaseId": held.lease_id,
                "error": {"code": "cancelled", "message": "Stopped at the user's request"},
                "retryable": False,
            },
        )
        self.log(
            "failed",
            jobId=held.id,
            leaseId=held.lease_id,
            ok=bool(ack.get("ok")),
            code="cancelled" if ack.get("ok") else _code(ack),
        )

    async def _lease_call(self, held: HeldJob, event: str, **data: Any) -> Ack:
        ack = await self._call(event, {"jobId": held.id, "leaseId": held.lease_id, **data})
        if not ack.get("ok"):
            raise JobLost(ack)
        return ack

    async def _run_job(self, held: HeldJob) -> None:
        job = held.job
        plan = work.steps(str(job.get("type")))
        pause = self.options.work_seconds / (len(plan) + 1)
        completing = False
        try:
            for step in plan:
                await asyncio.sleep(pause)
                ack = await self._lease_call(
                    held,
                    "job:progress",
                    progress=step.progress,
                    message=step.message,
                    deliveryStarted=step.delivery_started,
                )
                self.log("progress", jobId=held.id, progress=step.progress, message=step.message)
                if ack.get("cancelRequested"):
                    self._stop_job(held.id, answer=True, why="cancelled")
                    return
            await asyncio.sleep(pause)
            items = work.evidence(job)
            ack = await self._lease_call(held, "job:evidence", items=items)
            self.log(
                "evidence",
                jobId=held.id,
                stored=len(ack.get("stored") or []),
                duplicates=len(ack.get("duplicates") or []),
            )
            completing = True
            await self._lease_call(held, "job:complete", output=work.output(job, items))
        except JobLost as lost:
            self.log(
                "completed" if completing else "lost",
                jobId=held.id,
                leaseId=held.lease_id,
                ok=False,
                code=_code(lost.ack),
                error=lost.ack.get("error"),
            )
        else:
            self._completed += 1
            self.log("completed", jobId=held.id, leaseId=held.lease_id, ok=True, code=None)
            if self.options.max_jobs is not None and self._completed >= self.options.max_jobs:
                self._finish(EXIT_OK, f"completed {self._completed} jobs")
        finally:
            if self._held.get(held.id) is held:
                del self._held[held.id]
            self._wake_claimer.set()


async def run_agent(options: AgentOptions, *, out: TextIO | None = None) -> int:
    """Run the reference agent until it stops; the process exit code."""
    return await ReferenceAgent(options, out=out or sys.stdout).run()
