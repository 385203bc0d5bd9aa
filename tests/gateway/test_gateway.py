"""The Socket.IO gateway against a live server: handshakes, dispatch, fencing, tenant walls."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import socketio

from leedz.gateway.agent_namespace import AgentNamespace
from leedz.kit.jwt import ACCESS_TOKEN_TTL
from leedz.leases import service as leases
from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.agents import AgentHandle, create_job, register_agent
from tests.gateway.conftest import Connect, Live
from tests.support.problems import DATABASE_FAILURES, database_failure


@pytest.fixture
async def boss(live: Live, owner: asyncpg.Connection) -> Account:
    account = await signup(live.http)
    await on_plan(owner, account, "PRO")
    return account


@pytest.fixture
async def agent(live: Live, boss: Account) -> AgentHandle:
    return await register_agent(live.http, boss, maxConcurrency=3)


class TestHandshake:
    @pytest.mark.parametrize(
        "auth", [{}, {"token": ""}, {"token": "lza_x"}, {"token": "nonsense"}, {"token": 42}]
    )
    async def test_agent_without_a_valid_token_is_refused(
        self, connect: Connect, auth: dict[str, object]
    ) -> None:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect("/agent", auth)

    async def test_revoked_agent_and_user_token_are_refused(
        self, live: Live, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect("/agent", {"token": boss.access})
        await live.http.delete(f"/v1/agents/{agent.id}", headers=boss.headers)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect("/agent", {"token": agent.token})

    async def test_app_needs_a_members_access_token(
        self, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        for auth in ({}, {"token": "x.y.z"}, {"token": agent.token}):
            with pytest.raises(socketio.exceptions.ConnectionError):
                await connect("/app", auth)
        app = await connect("/app", {"token": boss.access})
        assert app.client.connected

    async def test_ping_interval_suits_chrome_service_workers(self, live: Live) -> None:
        server = live.app.state.gateway.sio.eio
        assert server.ping_interval <= 20


class TestDispatch:
    async def test_job_flow_over_the_socket_reaches_the_tenants_app_sockets_only(
        self,
        live: Live,
        connect: Connect,
        boss: Account,
        agent: AgentHandle,
        owner: asyncpg.Connection,
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        watcher = await connect("/app", {"token": boss.access})
        rival = await signup(live.http)
        rival_agent = await register_agent(live.http, rival)
        rival_worker = await connect("/agent", {"token": rival_agent.token})
        rival_watcher = await connect("/app", {"token": rival.access})
        surveyor = await register_agent(live.http, boss, capabilities=["SURVEY"])
        survey_worker = await connect("/agent", {"token": surveyor.token})

        job = await create_job(live.http, boss)
        assert await worker.wait_for("job:available") == {"types": ["SEARCH"]}
        claimed = await worker.call("job:claim", {})
        assert claimed["ok"] is True
        assert claimed["job"]["id"] == job["id"]
        lease = claimed["leaseId"]
        assert (await worker.call("job:claim", {"types": ["SEARCH"]})) == {"ok": True, "job": None}

        progress = await worker.call(
            "job:progress", {"jobId": job["id"], "leaseId": lease, "progress": 50}
        )
        assert progress["ok"] is True
        assert progress["cancelRequested"] is False
        stale = await worker.call(
            "job:complete", {"jobId": job["id"], "leaseId": str(uuid.uuid4())}
        )
        assert stale["ok"] is False
        assert stale["error"]["code"] == "lease_stale"
        done = await worker.call(
            "job:complete", {"jobId": job["id"], "leaseId": lease, "output": {"found": 2}}
        )
        assert done["ok"] is True
        assert done["job"]["status"] == "COMPLETED"

        await watcher.wait_for("job:updated", lambda e: e["status"] == "COMPLETED")
        statuses = [e["status"] for e in watcher.events["job:updated"] if e["id"] == job["id"]]
        assert statuses[0] == "PENDING"
        assert "RUNNING" in statuses
        assert any(e["progress"] == 50 for e in watcher.events["job:updated"])
        await asyncio.sleep(0.2)
        assert rival_watcher.events["job:updated"] == []
        assert rival_worker.events["job:available"] == []
        assert survey_worker.events["job:available"] == []
        row = await owner.fetchrow(
            "SELECT status, lease_id FROM jobs WHERE id = $1::uuid", job["id"]
        )
        assert row is not None
        assert row["status"] == "COMPLETED"
        assert str(row["lease_id"]) == lease

    async def test_a_rival_agent_cannot_touch_the_job(
        self, live: Live, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        job = await create_job(live.http, boss)
        lease = (await worker.call("job:claim", {}))["leaseId"]
        rival = await signup(live.http)
        rival_worker = await connect(
            "/agent", {"token": (await register_agent(live.http, rival)).token}
        )
        assert (await rival_worker.call("job:claim", {}))["job"] is None
        for event, extra in (
            ("job:progress", {"progress": 99}),
            ("job:complete", {}),
            ("job:fail", {"error": {"code": "x", "message": "y"}}),
            ("job:evidence", {"items": [{"type": "SEARCH_RESULT"}]}),
        ):
            answer = await rival_worker.call(event, {"jobId": job["id"], "leaseId": lease, **extra})
            assert answer["ok"] is False
            assert answer["error"]["code"] == "lease_stale", answer

    async def test_malformed_payloads_answer_validation_error(
        self, connect: Connect, agent: AgentHandle
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        for event, data in (
            ("job:claim", {"types": ["NOPE"]}),
            ("job:progress", {"jobId": "not-a-uuid"}),
            ("job:complete", "a string"),
            ("heartbeat", {"inFlight": "x"}),
            # Sent as a binary event with an attachment: still decoded, and refused.
            ("job:evidence", {"items": [b"\x00\x01 raw bytes"]}),
        ):
            answer = await worker.call(event, data)
            assert answer["ok"] is False
            assert answer["error"]["code"] == "validation_error", (event, answer)
        assert worker.client.connected


class TestControl:
    async def test_revoking_disconnects_the_agent_at_once(
        self, live: Live, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        watcher = await connect("/app", {"token": boss.access})
        assert (await worker.call("heartbeat", {}))["ok"] is True
        response = await live.http.delete(f"/v1/agents/{agent.id}", headers=boss.headers)
        assert response.status_code == 204
        await worker.wait_for("disconnect", within=3)
        assert worker.events["agent:revoked"] == [{}]
        status = await watcher.wait_for("agent:status", lambda e: e["online"] is False)
        assert status["id"] == agent.id

    async def test_cancel_reaches_the_agent_holding_the_job(
        self, live: Live, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        job = await create_job(live.http, boss)
        lease = (await worker.call("job:claim", {}))["leaseId"]
        await live.http.post(f"/v1/jobs/{job['id']}/cancel", headers=boss.headers)
        assert await worker.wait_for("job:cancel") == {"jobId": job["id"]}
        answer = await worker.call(
            "job:fail",
            {"jobId": job["id"], "leaseId": lease, "error": {"code": "cancelled", "message": ""}},
        )
        assert answer["job"]["status"] == "CANCELLED"

    async def test_reconnect_reconciles_in_flight_jobs(
        self,
        live: Live,
        connect: Connect,
        boss: Account,
        agent: AgentHandle,
        owner: asyncpg.Connection,
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        kept = await create_job(live.http, boss)
        lost = await create_job(live.http, boss)
        leases = [await worker.call("job:claim", {}) for _ in range(2)]
        assert {c["job"]["id"] for c in leases} == {kept["id"], lost["id"]}
        await worker.client.disconnect()
        again = await connect("/agent", {"token": agent.token, "inFlight": [kept["id"]]})
        rows = {
            str(r["id"]): r["status"]
            for r in await owner.fetch(
                "SELECT id, status FROM jobs WHERE tenant_id = $1::uuid", boss.tenant_id
            )
        }
        assert rows == {kept["id"]: "RUNNING", lost["id"]: "PENDING"}
        beat = await again.call("heartbeat", {"inFlight": [kept["id"], lost["id"]]})
        assert beat["drop"] == [lost["id"]]
        assert [lease["jobId"] for lease in beat["leases"]] == [kept["id"]]


async def _refusal_codes(
    base: str, namespace: str, auth: dict[str, str] | None, attempts: int
) -> list[str]:
    """The `connect_error` codes of `attempts` handshakes to `namespace`, one client each."""
    refusals: list[object] = []
    for _ in range(attempts):
        client = socketio.AsyncClient(reconnection=False)
        client.on("connect_error", refusals.append, namespace=namespace)
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await client.connect(base, namespaces=[namespace], auth=auth, transports=["websocket"])
        assert not client.connected
        await client.disconnect()
    return [r["data"]["code"] for r in refusals if isinstance(r, dict)]


@contextlib.asynccontextmanager
async def _server_allowing_three_handshakes(
    live_settings: object, database_url: str
) -> AsyncIterator[str]:
    from leedz.app import create_app
    from leedz.config import Settings
    from tests.gateway.conftest import serve, shutdown

    assert isinstance(live_settings, Settings)
    app = create_app(
        live_settings.model_copy(update={"rate_limit_socket_connect": "3/minute"}),
        database_url=database_url,
    )
    server, task, base = await serve(app)
    try:
        yield base
    finally:
        await shutdown(server, task)


async def test_handshakes_are_rate_limited(
    live_settings: object, database_url: str, owner: asyncpg.Connection
) -> None:
    async with _server_allowing_three_handshakes(live_settings, database_url) as base:
        codes = await _refusal_codes(base, "/agent", {"token": "lza_x"}, attempts=5)
        assert codes == ["invalid_token"] * 3 + ["rate_limited"] * 2


async def test_the_default_namespace_is_refused_and_counted_like_the_others(
    live_settings: object, database_url: str, owner: asyncpg.Connection
) -> None:
    # Issue 12, item 4: 150 handshakes to `/` from one IP in 0.2 s were all accepted.
    async with _server_allowing_three_handshakes(live_settings, database_url) as base:
        codes = await _refusal_codes(base, "/", None, attempts=5)
        assert codes == ["unknown_namespace"] * 3 + ["rate_limited"] * 2
        # The limit is one per client: /agent is refused now too.
        late = await _refusal_codes(base, "/agent", {"token": "lza_x"}, attempts=1)
        assert late == ["rate_limited"]


class TestAppSocketLifetime:
    async def test_closes_when_its_access_token_expires(
        self, live: Live, connect: Connect, boss: Account
    ) -> None:
        tokens = live.app.state.access_tokens
        claims = tokens.verify(boss.access)
        short = tokens.issue(
            user_id=claims.user_id,
            tenant_id=claims.tenant_id,
            token_id=claims.token_id,
            issued_at=datetime.now(UTC) - ACCESS_TOKEN_TTL + timedelta(seconds=2),
        )
        watcher = await connect("/app", {"token": short})
        assert watcher.client.connected
        await watcher.wait_for("disconnect", within=8)

    async def test_closes_when_the_membership_ends(
        self, live: Live, connect: Connect, boss: Account
    ) -> None:
        sales = await member(live.http, boss, "SALES")
        watcher = await connect("/app", {"token": sales.access})
        stays = await connect("/app", {"token": boss.access})
        removed = await live.http.delete(f"/v1/members/{sales.user_id}", headers=boss.headers)
        assert removed.status_code == 204
        await watcher.wait_for("disconnect", within=3)
        await create_job(live.http, boss)
        await stays.wait_for("job:updated")
        assert watcher.events["job:updated"] == []


class TestOneConnectionPerAgent:
    async def test_a_new_handshake_closes_the_older_socket(
        self, connect: Connect, agent: AgentHandle
    ) -> None:
        first = await connect("/agent", {"token": agent.token})
        second = await connect("/agent", {"token": agent.token})
        await first.wait_for("disconnect", within=3)
        assert second.client.connected
        assert (await second.call("heartbeat", {}))["ok"] is True


class TestFailuresAreAcks:
    async def test_a_revoked_agent_gets_its_answer_then_loses_the_socket(
        self, connect: Connect, agent: AgentHandle, owner: asyncpg.Connection
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        # Revoked behind the gateway's back: no event closes the socket, the next call must.
        await owner.execute("UPDATE agents SET revoked_at = now() WHERE id = $1::uuid", agent.id)
        answer = await worker.call("heartbeat", {})
        assert answer == {
            "ok": False,
            "error": {
                "code": "invalid_token",
                "message": "The agent token is not valid or the agent was revoked",
            },
        }
        await worker.wait_for("disconnect", within=3)

    async def test_an_unstorable_output_is_a_validation_error(
        self, live: Live, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        job = await create_job(live.http, boss)
        lease = (await worker.call("job:claim", {}))["leaseId"]
        answer = await worker.call(
            "job:complete",
            {"jobId": job["id"], "leaseId": lease, "output": {"n": 2**70}},
        )
        assert answer["ok"] is False
        assert answer["error"]["code"] == "validation_error"
        assert worker.client.connected


class TestClientEventNames:
    """A client's event reaches only the handler of its name: lifecycle handlers are the
    server's, and any name a namespace does not serve is answered `unknown_event`."""

    @staticmethod
    def assert_unknown(answer: Any) -> None:
        assert answer["ok"] is False, answer
        assert answer["error"]["code"] == "unknown_event", answer
        assert answer["error"]["message"]

    async def test_an_agent_sending_disconnect_stays_online(
        self, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        watcher = await connect("/app", {"token": boss.access})
        # The arguments python-socketio gives the lifecycle handler, forged.
        self.assert_unknown(await worker.call("disconnect", "client disconnect"))
        self.assert_unknown(await worker.call("disconnect"))
        await asyncio.sleep(0.2)
        assert watcher.events["agent:status"] == []
        assert worker.client.connected
        assert (await worker.call("heartbeat", {}))["ok"] is True

    async def test_an_agent_sending_connect_does_not_shake_hands_again(
        self, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        watcher = await connect("/app", {"token": boss.access})
        # As the lifecycle handler gets them (environ, auth), the auth alone, nothing.
        forged: tuple[Any, ...] = (({}, {"token": agent.token}), {"token": agent.token}, None)
        for data in forged:
            self.assert_unknown(await worker.call("connect", data))
        await asyncio.sleep(0.2)
        # A second handshake would have closed this socket (one connection per agent) and
        # announced the agent online.
        assert worker.events["disconnect"] == []
        assert watcher.events["agent:status"] == []
        assert (await worker.call("heartbeat", {}))["ok"] is True

    async def test_an_app_socket_sending_disconnect_still_closes_when_its_token_expires(
        self, live: Live, connect: Connect, boss: Account
    ) -> None:
        tokens = live.app.state.access_tokens
        claims = tokens.verify(boss.access)
        short = tokens.issue(
            user_id=claims.user_id,
            tenant_id=claims.tenant_id,
            token_id=claims.token_id,
            issued_at=datetime.now(UTC) - ACCESS_TOKEN_TTL + timedelta(seconds=2),
        )
        watcher = await connect("/app", {"token": short})
        self.assert_unknown(await watcher.call("disconnect", "client disconnect"))
        self.assert_unknown(await watcher.call("connect", ({}, {"token": short})))
        assert watcher.client.connected
        await watcher.wait_for("disconnect", within=8)

    async def test_unknown_names_are_answered_on_every_namespace(
        self, connect: Connect, boss: Account, agent: AgentHandle
    ) -> None:
        sockets = (
            await connect("/agent", {"token": agent.token}),
            await connect("/app", {"token": boss.access}),
        )
        names: tuple[Any, ...] = ("nope", "message", "*", "", "job:claim ", 7, ["heartbeat"])
        for socket in sockets:
            for name in names:
                self.assert_unknown(await socket.call(name, {}))
        # An agent's event is not one on /app.
        for socket in sockets[1:]:
            self.assert_unknown(await socket.call("heartbeat", {}))
            self.assert_unknown(await socket.call("job:claim", {}))
        assert all(socket.client.connected for socket in sockets)
        assert (await sockets[0].call("heartbeat", {}))["ok"] is True

    async def test_an_event_takes_one_payload(self, connect: Connect, agent: AgentHandle) -> None:
        worker = await connect("/agent", {"token": agent.token})
        answer = await worker.call("heartbeat", ({}, {}))
        assert answer["ok"] is False
        assert answer["error"]["code"] == "validation_error"
        assert (await worker.call("heartbeat"))["ok"] is True


class TestDatabaseFailures:
    """A database failure is answered as the REST twin answers it (errors.database_error)."""

    async def test_events_answer_the_rest_twins_code(
        self,
        live: Live,
        connect: Connect,
        agent: AgentHandle,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        worker = await connect("/agent", {"token": agent.token})
        for kind, (_, _, status, code) in DATABASE_FAILURES.items():

            async def failing(*_: object, _kind: str = kind, **__: object) -> None:
                raise database_failure(_kind)

            monkeypatch.setattr(leases, "heartbeat", failing)
            rest = await live.http.post("/v1/agent/heartbeat", json={}, headers=agent.headers)
            assert (rest.status_code, rest.json()["code"]) == (status, code), kind
            answer = await worker.call("heartbeat", {})
            assert answer["ok"] is False
            assert answer["error"]["code"] == code, (kind, answer)
            assert worker.client.connected

    async def test_a_failed_handshake_is_refused_with_the_same_code(
        self, live: Live, agent: AgentHandle, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for kind, (_, _, _, code) in DATABASE_FAILURES.items():

            async def failing(*_: object, _kind: str = kind) -> None:
                raise database_failure(_kind)

            monkeypatch.setattr(AgentNamespace, "_agent_seen", failing)
            refusals: list[Any] = []
            client = socketio.AsyncClient(reconnection=False)
            client.on("connect_error", refusals.append, namespace="/agent")
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect(
                    live.base,
                    namespaces=["/agent"],
                    auth={"token": agent.token},
                    transports=["websocket"],
                    wait_timeout=5,
                )
            await client.disconnect()
            assert [r["data"]["code"] for r in refusals] == [code], (kind, refusals)
