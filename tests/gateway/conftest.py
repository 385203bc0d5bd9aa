"""A live server in the test's event loop (uvicorn on a free port) and Socket.IO clients."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import socketio
import uvicorn
from fastapi import FastAPI

from leedz.app import asgi, create_app
from leedz.config import Settings
from tests.support.live import free_port


@dataclass
class Live:
    base: str
    app: FastAPI
    http: httpx.AsyncClient


async def serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    config = uvicorn.Config(
        asgi(app), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


async def shutdown(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, timeout=15)


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reaper_interval_seconds": 300.0})


@pytest.fixture
def live_database_url(database_url: str) -> str:
    """The URL the live server uses (a test may put a proxy in between)."""
    return database_url


@pytest.fixture
async def live(
    live_settings: Settings, live_database_url: str, owner: asyncpg.Connection
) -> AsyncIterator[Live]:
    app = create_app(live_settings, database_url=live_database_url)
    server, task, base = await serve(app)
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            yield Live(base=base, app=app, http=http)
    finally:
        await shutdown(server, task)


@dataclass
class Recorder:
    """A Socket.IO client that records every event it receives."""

    client: socketio.AsyncClient
    events: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    namespace: str = "/agent"

    async def wait_for(
        self, event: str, predicate: Callable[[Any], bool] = lambda _: True, within: float = 5
    ) -> Any:
        async with asyncio.timeout(within):
            while True:
                for payload in self.events[event]:
                    if predicate(payload):
                        return payload
                await asyncio.sleep(0.01)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.client.call(event, data, namespace=self.namespace, timeout=5)


Connect = Callable[..., Awaitable[Recorder]]


@pytest.fixture
async def connect(live: Live) -> AsyncIterator[Connect]:
    """connect(namespace, auth) -> a connected Recorder; raises socketio's ConnectionError."""
    clients: list[socketio.AsyncClient] = []

    async def open_client(
        namespace: str, auth: dict[str, Any], *, events: tuple[str, ...] = ()
    ) -> Recorder:
        client = socketio.AsyncClient(reconnection=False)
        recorder = Recorder(client=client, namespace=namespace)
        watched = events or (
            "job:available",
            "job:cancel",
            "agent:revoked",
            "job:updated",
            "agent:status",
        )
        for event in watched:

            def record(data: Any = None, _event: str = event) -> None:
                recorder.events[_event].append(data)

            client.on(event, record, namespace=namespace)

        def disconnected(*_: Any) -> None:
            recorder.events["disconnect"].append(True)

        client.on("disconnect", disconnected, namespace=namespace)
        clients.append(client)
        await client.connect(
            live.base,
            namespaces=[namespace],
            auth=auth,
            transports=["websocket"],
            wait_timeout=5,
        )
        return recorder

    yield open_client
    for client in clients:
        if client.connected:
            await client.disconnect()
