"""A worker in a process of its own tells the web app how its jobs go (`job:updated` on `/app`,
and a bulk job's `leads:bulk`) through the Socket.IO gateway's Redis channel, as an emit from
any instance does; without Redis there is no other instance to tell (`leedz serve`'s in-process
worker publishes on the app's own event bus, which the gateway relays)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import socketio

from leedz.bulk.events import LeadsChangedInBulk
from leedz.gateway import relay as gateway_relay
from leedz.gateway.server import Gateway
from leedz.jobs.events import JobUpdated
from leedz.kit.events import EventBus

CHANNEL = "leedz-socketio"  # the gateway's (gateway/server.py)


@dataclass(frozen=True)
class _Emitter:
    """What the gateway's emit functions use of a `Gateway` (its `sio.emit`), over Redis."""

    sio: Any


def subscribe(bus: EventBus, redis_url: str) -> socketio.AsyncRedisManager:
    """Relay this process's `JobUpdated` events to the app sockets of every instance."""
    manager = socketio.AsyncRedisManager(redis_url, channel=CHANNEL, write_only=True)
    emitter = cast(Gateway, _Emitter(manager))

    async def job_updated(event: JobUpdated) -> None:
        await gateway_relay.emit_job_updated(emitter, event)

    async def leads_changed_in_bulk(event: LeadsChangedInBulk) -> None:
        await gateway_relay.emit_bulk_change(emitter, event)

    bus.subscribe(JobUpdated, job_updated)
    bus.subscribe(LeadsChangedInBulk, leads_changed_in_bulk)
    return manager
