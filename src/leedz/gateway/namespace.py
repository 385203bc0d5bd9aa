"""What the gateway's namespaces share: one dispatch, one way to answer a failure, one handshake
limit.

python-socketio hands a namespace every event through `trigger_event(event, sid, *args)`: the
handshake (`connect`), the socket's end (`disconnect`) and whatever a client emits, under any
name it likes — `connect` and `disconnect` included. `EventNamespace` tells them apart by the
socket's state, which a client cannot fake: the library runs the connect handler before it
counts the socket as connected and the disconnect handler after it stopped counting it, and
hands on a client's event only while the socket is connected. So a client's event reaches only
the handlers in `events`, and any other name is answered `unknown_event`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import socketio
import structlog
from pydantic import ValidationError

from leedz.config import Settings
from leedz.errors import (
    InternalError,
    LeedzError,
    Unauthorized,
    ValidationFailed,
    database_error,
)
from leedz.gateway.packets import Refusal
from leedz.kit.clientip import ProxyTrust
from leedz.kit.ratelimit import RateLimits

log = structlog.get_logger("leedz.gateway")

# Raised in a connect handler: the client's `connect_error` gets `{message, data: {code, …}}`.
Refused = socketio.exceptions.ConnectionRefusedError

Ack = dict[str, Any]
# A client's event: the socket's sid and the event's payload (None when it sent none).
EventHandler = Callable[[str, object], Awaitable[Ack]]

LIFECYCLE_EVENTS = ("connect", "disconnect")


class UnknownEvent(LeedzError):
    status, code, title = 404, "unknown_event", "Unknown event"


def failure(error: LeedzError) -> Ack:
    """The ack of a refused or failed event: `{ok: false, error: {code, message, …}}`."""
    return {"ok": False, "error": {"code": error.code, "message": error.detail, **error.extra}}


def refusal(error: LeedzError) -> Exception:
    """A refused handshake: the client's `connect_error` carries `message` and `data.code`."""
    refused: Exception = Refused(error.detail, {"code": error.code, **error.extra})
    return refused


def client_error(exc: Exception, *, what: str, **context: object) -> LeedzError:
    """What the client is told about `exc`, met handling `what` (an event, a handshake): the
    error itself, the database failure it stands for (errors.py, as over REST), or
    `internal_error` for a bug, which is logged."""
    if isinstance(exc, LeedzError):
        return exc
    error = database_error(exc)
    if error is None:
        log.error(f"{what}_failed", exc_info=exc, **context)
        return InternalError(f"The server failed to handle this {what}")
    return error


def auth_token(auth: object) -> str:
    """The handshake's `auth.token`."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise Unauthorized("The handshake needs `auth: {token}`")
    return token


def _client_ip(environ: dict[str, Any], trust: ProxyTrust) -> str:
    """The handshake's client address, as kit/clientip.py takes it for HTTP requests."""
    scope = environ.get("asgi.scope") or {}
    client = scope.get("client")
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"x-forwarded-for"
    ]
    return trust.client(str(client[0]) if client else None, forwarded) or "unknown"


class HandshakeLimits:
    """Handshakes per client IP (counted where `RateLimits` counts: Redis when configured) and
    per instance from every IP (always in this instance's memory: the reconnect-storm guard)."""

    def __init__(self, settings: Settings, rate_limits: RateLimits) -> None:
        self._per_ip = settings.rate_limit_socket_connect
        self._per_instance = settings.rate_limit_socket_connect_instance
        self._rate_limits = rate_limits
        self._instance_limits = RateLimits(None, fixed_window=True)
        self._trust = ProxyTrust.of(settings.proxy_hops, settings.trusted_proxies)

    async def admit(self, environ: dict[str, Any]) -> None:
        """Count one handshake; `RateLimited` once either limit is spent."""
        await self._instance_limits.hit(self._per_instance, "socket-instance")
        await self._rate_limits.hit(self._per_ip, "socket", _client_ip(environ, self._trust))


class EventNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # socketio is untyped
    """A namespace that answers every event a client sends: through its handler in `events`,
    or with `unknown_event`. Subclasses override `on_connect` and `on_disconnect`."""

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self.events: Mapping[str, EventHandler] = {}
        self._background: set[asyncio.Future[None]] = set()

    async def trigger_event(self, event: object, *args: Any) -> Any:
        sid: str = args[0]
        if event in LIFECYCLE_EVENTS and not self.server.manager.is_connected(sid, self.namespace):
            if event == "connect":
                await self._handshake(*args)
            else:
                await self.on_disconnect(*args)
            return None
        if isinstance(event, Refusal):  # the packet's data was refused as it was decoded
            return failure(ValidationFailed(event.reason))
        handler = self.events.get(event) if isinstance(event, str) else None
        if handler is None:
            return failure(UnknownEvent(f"{self.namespace} has no event {event!r:.80}"))
        payloads = args[1:]
        if len(payloads) > 1:
            return failure(
                ValidationFailed(f"{event!r:.80} takes one payload, not {len(payloads)}")
            )
        return await handler(sid, payloads[0] if payloads else None)

    async def _handshake(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        try:
            await self.on_connect(sid, environ, auth)
        except Refused:
            raise
        except ValidationError as exc:
            raise Refused("The handshake is malformed", {"code": "validation_error"}) from exc
        except Exception as exc:  # every handshake is answered, a failed one with its reason
            raise refusal(client_error(exc, what="handshake", namespace=self.namespace)) from exc

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        """Accept the handshake (return), or refuse it (raise)."""

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
        """The socket is gone (the client left, the server closed it, or it timed out)."""

    def later(self, delay: float, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after `delay` seconds, holding a reference until it is done."""

        async def run() -> None:
            await asyncio.sleep(delay)
            await work

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class DefaultNamespace(EventNamespace):
    """`/`: serves nothing. A handshake is counted like the others' (issue 12: 150 connects from
    one IP in 0.2 s were accepted here) and refused with `unknown_namespace`: clients connect to
    `/agent` or `/app`. Events never arrive (no socket is connected here)."""

    def __init__(self, handshakes: HandshakeLimits) -> None:
        super().__init__("/")
        self._handshakes = handshakes

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        await self._handshakes.admit(environ)
        raise Refused(
            "Nothing is served on /: connect to /agent or /app", {"code": "unknown_namespace"}
        )
