"""A small in-process bus for domain events, delivered after the transaction commits.

Features publish (`InviteCreated`, `JobCreated`, …) without knowing who listens; the mailer and
the Socket.IO gateway subscribe at start-up. Events of a rolled-back transaction are dropped,
because delivery is registered with `Tx.after_commit`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

if TYPE_CHECKING:
    from leedz.kit.db import Tx

log = structlog.get_logger("leedz.events")

E = TypeVar("E")
Handler = Callable[[Any], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, tx: Tx, event: object) -> None:
        """Deliver `event` to its subscribers once `tx` has committed."""
        handlers = list(self._handlers.get(type(event), ()))
        if not handlers:
            return

        async def deliver() -> None:
            for handler in handlers:
                try:
                    await handler(event)
                except Exception:  # one failing subscriber must not starve the others
                    log.exception("event_handler_failed", event=type(event).__name__)

        tx.after_commit(deliver)
