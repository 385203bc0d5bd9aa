"""An ended session's `/app` sockets close at once (issue 12: they stayed open until their access
token expired): sign-out, a password change, a leaked refresh token; on every instance."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
import socketio

from leedz.auth import sessions
from leedz.kit.db import Tx
from tests.factories.accounts import PASSWORD, Account, login, signup
from tests.factories.agents import create_job
from tests.gateway.conftest import Connect, Live, Recorder
from tests.support.live import running_server

CLOSES_WITHIN = 3.0


async def refreshed(http: httpx.AsyncClient, account: Account) -> Account:
    """The same session (refresh-token family), one rotation later."""
    response = await http.post("/v1/auth/refresh", json={"refreshToken": account.refresh})
    assert response.status_code == 200, response.text
    return Account(email=account.email, password=account.password, tokens=response.json())


async def stays_open(live: Live, owner_of_tenant: Account, *sockets: Recorder) -> None:
    """Each socket still hears its tenant's jobs."""
    await create_job(live.http, owner_of_tenant)
    for socket in sockets:
        assert socket.client.connected
        await socket.wait_for("job:updated")
        assert socket.events["disconnect"] == []


@pytest.fixture
async def account(live: Live, owner: asyncpg.Connection) -> Account:
    return await signup(live.http)


class TestAnEndedSessionsSocketsClose:
    async def test_sign_out_closes_that_sessions_sockets_only(
        self, live: Live, connect: Connect, account: Account
    ) -> None:
        laptop = await login(live.http, account)
        tab = await connect("/app", {"token": account.access})
        second_tab = await connect("/app", {"token": account.access})
        # A token of the same session issued later (after a refresh) is the same session.
        rotated = await connect("/app", {"token": (await refreshed(live.http, account)).access})
        other_session = await connect("/app", {"token": laptop.access})

        out = await live.http.post("/v1/auth/logout", json={"refreshToken": account.refresh})
        assert out.status_code == 204

        for socket in (tab, second_tab, rotated):
            await socket.wait_for("disconnect", within=CLOSES_WITHIN)
        await stays_open(live, laptop, other_session)

    async def test_a_password_change_closes_every_other_sessions_sockets(
        self, live: Live, connect: Connect, account: Account
    ) -> None:
        phone, laptop = await login(live.http, account), await login(live.http, account)
        current = await connect("/app", {"token": account.access})
        others = [await connect("/app", {"token": s.access}) for s in (phone, laptop)]

        changed = await live.http.post(
            "/v1/auth/password",
            json={"currentPassword": PASSWORD, "newPassword": "an entirely new passphrase"},
            headers=account.headers,
        )
        assert changed.status_code == 204

        for socket in others:
            await socket.wait_for("disconnect", within=CLOSES_WITHIN)
        await stays_open(live, account, current)

    async def test_a_reused_refresh_token_closes_its_familys_sockets(
        self, live: Live, connect: Connect, account: Account, owner: asyncpg.Connection
    ) -> None:
        laptop = await login(live.http, account)
        rotated = await refreshed(live.http, account)
        leaked_family = await connect("/app", {"token": rotated.access})
        other_session = await connect("/app", {"token": laptop.access})
        # Past the grace window: presenting the spent token again is reuse.
        await owner.execute(
            "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 hour'"
            " WHERE rotated_at IS NOT NULL"
        )
        replay = await live.http.post("/v1/auth/refresh", json={"refreshToken": account.refresh})
        assert replay.status_code == 401

        await leaked_family.wait_for("disconnect", within=CLOSES_WITHIN)
        await stays_open(live, laptop, other_session)

    async def test_a_sign_out_during_the_handshake_is_not_missed(
        self,
        live: Live,
        connect: Connect,
        account: Account,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # The sign-out commits (and its sockets are closed) after the handshake found the
        # session alive, before the socket joined its session's room.
        found = sessions.session_of

        async def signed_out_meanwhile(tx: Tx, token_id: UUID) -> UUID | None:
            family = await found(tx, token_id)
            out = await live.http.post("/v1/auth/logout", json={"refreshToken": account.refresh})
            assert out.status_code == 204
            return family

        monkeypatch.setattr(sessions, "session_of", signed_out_meanwhile)
        refused: list[Any] = []
        try:
            socket = await connect("/app", {"token": account.access})
        except socketio.exceptions.ConnectionError as exc:
            refused.append(exc)
        else:
            await socket.wait_for("disconnect", within=CLOSES_WITHIN)
        assert refused, "a signed-out session's socket was accepted"


@pytest.fixture
def two_instances(
    database_url: str, redis_url: str, tmp_path: Path, owner: asyncpg.Connection
) -> Iterator[tuple[str, str]]:
    unlimited = "100000/hour"  # rate-limit counters outlive test runs in Redis
    with (
        running_server(
            database_url, tmp_path / "a", REDIS_URL=redis_url, LEEDZ_RATE_LIMIT_SIGNUP=unlimited
        ) as first,
        running_server(
            database_url, tmp_path / "b", REDIS_URL=redis_url, LEEDZ_RATE_LIMIT_SIGNUP=unlimited
        ) as second,
    ):
        yield first, second


@pytest.mark.e2e
async def test_the_socket_on_the_other_instance_closes(two_instances: tuple[str, str]) -> None:
    base_a, base_b = two_instances
    closed: list[str] = []
    ended = asyncio.Event()
    sockets = {name: socketio.AsyncClient(reconnection=False) for name in ("ended", "kept")}

    def on_disconnect(name: str) -> None:
        closed.append(name)
        if name == "ended":
            ended.set()

    for name, client in sockets.items():
        client.on("disconnect", lambda *_, n=name: on_disconnect(n), namespace="/app")
    async with httpx.AsyncClient(base_url=base_a) as via_a:
        account = await signup(via_a)
        laptop = await login(via_a, account)
        try:
            for client, session in ((sockets["ended"], account), (sockets["kept"], laptop)):
                await client.connect(
                    base_b,
                    namespaces=["/app"],
                    auth={"token": session.access},
                    transports=["websocket"],
                )
            out = await via_a.post("/v1/auth/logout", json={"refreshToken": account.refresh})
            assert out.status_code == 204
            await asyncio.wait_for(ended.wait(), CLOSES_WITHIN)
            await asyncio.sleep(0.3)
            assert closed == ["ended"]
            assert sockets["kept"].connected
        finally:
            for client in sockets.values():
                if client.connected:
                    await client.disconnect()
