"""A small in-process bus for domain events, delivered after the transaction commits.

Features publish (`InviteCreated`, `JobCreated`, …) without knowing who listens; the mailer and
the Socket.IO gateway subscribe at start-up. Events of a rolled-back transaction are dropped,
because delivery is registered with `Tx.after_commit`.

`publish_detached` delivers an event that belongs to no transaction in a task of its own, after
the caller has moved on: work whose time must not show in the answer (a failed sign-in's audit
rows, which an unknown email would not have). `drain` waits for those tasks at shutdown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from leedz.kit.background import Background

if TYPE_CHECKING:
    from leedz.kit.db import Tx

log = structlog.get_logger("leedz.events")

E = TypeVar("E")
Handler = Callable[[Any], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self._detached = Background("detached events")

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, tx: Tx, event: object) -> None:
        """Deliver `event` to its subscribers once `tx` has committed."""
        deliver = self._delivery(event)
        if deliver is not None:
            tx.after_commit(deliver)

    def publish_detached(self, event: object) -> None:
        """Deliver `event` to its subscribers in a task of its own, without waiting for it."""
        deliver = self._delivery(event)
        if deliver is None:
            return
        self._detached.spawn(deliver(), name=type(event).__name__)

    async def drain(self, within_seconds: float) -> None:
        """Wait up to `within_seconds` for detached deliveries; cancel what is left."""
        await self._detached.drain(within_seconds)

    def _delivery(self, event: object) -> Callable[[], Coroutine[Any, Any, None]] | None:
        handlers = list(self._handlers.get(type(event), ()))
        if not handlers:
            return None

        async def deliver() -> None:
            for handler in handlers:
                try:
                    await handler(event)
                except Exception:  # one failing subscriber must not starve the others
                    log.exception("event_handler_failed", event=type(event).__name__)

        return deliver
