"""Lead changes on `/app`: to the tenant's members who may see the lead, and only to them.

With `salesSeeAllLeads` off a SALES socket hears of its own and the unassigned leads, and is
told `lead:hidden` when one of them goes to someone else; MANAGER and up hear of every lead. A
role or a setting changed while the socket is open takes effect on it at once, on every
instance (docs/realtime.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
import pytest
import socketio

from leedz.leads.events import LeadChange, LeadChanged
from tests.factories.accounts import Account, member, on_plan, signup
from tests.gateway.conftest import Connect, Live, Recorder
from tests.support.live import running_server

LEAD_EVENTS = (
    "lead:created",
    "lead:updated",
    "lead:deleted",
    "lead:merged",
    "lead:hidden",
    "lead:visibility",
    "job:updated",
)


class Team:
    def __init__(self, boss: Account, manager: Account, rep: Account, other_rep: Account) -> None:
        self.boss, self.manager, self.rep, self.other_rep = boss, manager, rep, other_rep


async def set_sales_see_all(http: httpx.AsyncClient, boss: Account, value: bool) -> None:
    response = await http.patch(
        "/v1/tenants/current",
        json={"settings": {"salesSeeAllLeads": value}},
        headers=boss.headers,
    )
    assert response.status_code == 200, response.text


async def make_team(http: httpx.AsyncClient, owner: asyncpg.Connection) -> Team:
    boss = await signup(http)
    await on_plan(owner, boss, "PRO")
    team = Team(
        boss,
        await member(http, boss, "MANAGER"),
        await member(http, boss, "SALES"),
        await member(http, boss, "SALES"),
    )
    await set_sales_see_all(http, boss, False)
    return team


async def create_lead(
    http: httpx.AsyncClient, actor: Account, owner_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"Lead {uuid.uuid4().hex[:8]}", **fields}
    if owner_id is not None:
        body["ownerId"] = owner_id
    response = await http.post("/v1/leads", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def patch_lead(
    http: httpx.AsyncClient, actor: Account, lead_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await http.patch(f"/v1/leads/{lead_id}", json=body, headers=actor.headers)
    assert response.status_code == 200, response.text
    lead: dict[str, Any] = response.json()
    return lead


class Listener(Protocol):
    events: dict[str, list[Any]]


def ids(socket: Listener, event: str) -> list[str]:
    """The ids of the leads `event` named to the socket so far."""
    if event == "lead:hidden":
        return [i for payload in socket.events[event] for i in payload["ids"]]
    return [payload["lead"]["id"] for payload in socket.events[event]]


def about(lead_id: str) -> Any:
    return lambda payload: payload["lead"]["id"] == lead_id


@pytest.fixture
async def team(live: Live, owner: asyncpg.Connection) -> Team:
    return await make_team(live.http, owner)


@pytest.fixture
async def sockets(connect: Connect, team: Team) -> dict[str, Recorder]:
    async def open_for(account: Account) -> Recorder:
        return await connect("/app", {"token": account.access}, events=LEAD_EVENTS)

    return {
        "boss": await open_for(team.boss),
        "manager": await open_for(team.manager),
        "rep": await open_for(team.rep),
        "other_rep": await open_for(team.other_rep),
    }


class TestChangesArrive:
    async def test_created_updated_deleted_reach_the_tenants_members(
        self, live: Live, team: Team, sockets: dict[str, Recorder]
    ) -> None:
        lead = await create_lead(live.http, team.boss, city="Riyadh")
        for socket in sockets.values():  # unassigned: every member may see it
            created = await socket.wait_for("lead:created", about(lead["id"]))
            assert created == {"lead": {k: v for k, v in lead.items() if k != "possibleDuplicates"}}

        changed = await patch_lead(live.http, team.manager, lead["id"], {"status": "CONTACTED"})
        for socket in sockets.values():
            updated = await socket.wait_for("lead:updated", about(lead["id"]))
            assert updated["lead"] == changed
            assert updated["lead"]["version"] == 2

        response = await live.http.delete(f"/v1/leads/{lead['id']}", headers=team.boss.headers)
        assert response.status_code == 204
        for socket in sockets.values():
            deleted = await socket.wait_for("lead:deleted", about(lead["id"]))
            assert deleted["lead"]["deletedAt"] is not None

        restored = await live.http.post(
            f"/v1/leads/{lead['id']}/restore", headers=team.boss.headers
        )
        assert restored.status_code == 200
        for socket in sockets.values():
            back = await socket.wait_for(
                "lead:updated", lambda p: p["lead"]["version"] == restored.json()["version"]
            )
            assert back["lead"]["deletedAt"] is None
            assert socket.events["lead:hidden"] == []

    async def test_merged_names_the_survivor_and_the_merged_leads(
        self, live: Live, team: Team, sockets: dict[str, Recorder]
    ) -> None:
        survivor = await create_lead(live.http, team.boss, owner_id=team.other_rep.user_id)
        mine = await create_lead(live.http, team.boss, owner_id=team.rep.user_id)
        unassigned = await create_lead(live.http, team.boss)
        merged_ids = (uuid.UUID(mine["id"]), uuid.UUID(unassigned["id"]))
        survivor_out = {k: v for k, v in survivor.items() if k != "possibleDuplicates"}
        # The merge endpoint is another's work: the event as its service will publish it.
        live.app.state.bus.publish_detached(
            LeadChanged(
                tenant_id=uuid.UUID(team.boss.tenant_id),
                lead_id=uuid.UUID(survivor["id"]),
                change=LeadChange.MERGED,
                owner_id=uuid.UUID(team.other_rep.user_id),
                payload=survivor_out,
                merged_ids=merged_ids,
            )
        )
        expected = {"lead": survivor_out, "mergedIds": [str(i) for i in merged_ids]}
        for name in ("boss", "manager", "other_rep"):
            assert await sockets[name].wait_for("lead:merged") == expected
            assert sockets[name].events["lead:hidden"] == []
        # The rep saw two of the merged leads, not the survivor: both leave its list.
        hidden = await sockets["rep"].wait_for("lead:hidden")
        assert set(hidden["ids"]) == {mine["id"], unassigned["id"]}
        assert sockets["rep"].events["lead:merged"] == []


class TestSalesOwnOnly:
    async def test_a_rep_hears_of_its_own_and_unassigned_leads_only(
        self, live: Live, team: Team, sockets: dict[str, Recorder]
    ) -> None:
        rep, other = sockets["rep"], sockets["other_rep"]
        others = await create_lead(live.http, team.boss, owner_id=team.other_rep.user_id)
        own = await create_lead(live.http, team.boss, owner_id=team.rep.user_id)
        unassigned = await create_lead(live.http, team.boss)
        await patch_lead(live.http, team.boss, others["id"], {"status": "QUALIFIED"})
        # A last change the rep hears of: everything before it has arrived too (emits keep
        # their order).
        await patch_lead(live.http, team.boss, unassigned["id"], {"status": "WON"})
        await rep.wait_for("lead:updated", about(unassigned["id"]))
        await other.wait_for("lead:updated", about(unassigned["id"]))

        assert ids(rep, "lead:created") == [own["id"], unassigned["id"]]
        assert ids(rep, "lead:updated") == [unassigned["id"]]
        assert ids(other, "lead:created") == [others["id"], unassigned["id"]]
        assert ids(other, "lead:updated") == [others["id"], unassigned["id"]]
        for name in ("boss", "manager"):
            await sockets[name].wait_for("lead:updated", about(unassigned["id"]))
            assert ids(sockets[name], "lead:created") == [others["id"], own["id"], unassigned["id"]]

    async def test_a_lead_given_to_another_is_hidden_from_the_rep_who_had_it(
        self, live: Live, team: Team, sockets: dict[str, Recorder]
    ) -> None:
        rep, other = sockets["rep"], sockets["other_rep"]
        lead = await create_lead(live.http, team.boss, owner_id=team.rep.user_id)
        await rep.wait_for("lead:created", about(lead["id"]))

        await patch_lead(live.http, team.manager, lead["id"], {"ownerId": team.other_rep.user_id})
        assert await rep.wait_for("lead:hidden") == {"ids": [lead["id"]]}
        moved = await other.wait_for("lead:updated", about(lead["id"]))
        assert moved["lead"]["ownerId"] == team.other_rep.user_id
        assert ids(rep, "lead:updated") == []
        for name in ("boss", "manager"):
            await sockets[name].wait_for("lead:updated", about(lead["id"]))

        # Let go (unassigned): every rep sees it again, nobody is told to hide it.
        await patch_lead(live.http, team.boss, lead["id"], {"ownerId": None})
        await rep.wait_for("lead:updated", about(lead["id"]))
        await other.wait_for("lead:updated", lambda p: p["lead"]["ownerId"] is None)
        assert other.events["lead:hidden"] == []
        assert ids(rep, "lead:hidden") == [lead["id"]]

    async def test_an_unassigned_lead_taken_is_hidden_from_every_other_rep(
        self, live: Live, connect: Connect, team: Team, sockets: dict[str, Recorder]
    ) -> None:
        third = await member(live.http, team.boss, "SALES")
        third_socket = await connect("/app", {"token": third.access}, events=LEAD_EVENTS)
        lead = await create_lead(live.http, team.boss)
        for socket in (sockets["rep"], sockets["other_rep"], third_socket):
            await socket.wait_for("lead:created", about(lead["id"]))

        # The rep takes it for itself (no leads:assign needed for that).
        await patch_lead(live.http, team.rep, lead["id"], {"ownerId": team.rep.user_id})
        for socket in (sockets["other_rep"], third_socket):
            assert await socket.wait_for("lead:hidden") == {"ids": [lead["id"]]}
        taken = await sockets["rep"].wait_for("lead:updated", about(lead["id"]))
        assert taken["lead"]["ownerId"] == team.rep.user_id
        await sockets["manager"].wait_for("lead:updated", about(lead["id"]))
        assert sockets["rep"].events["lead:hidden"] == []
        assert sockets["manager"].events["lead:hidden"] == []

    async def test_a_rep_sees_everything_while_the_setting_is_on(
        self, live: Live, connect: Connect, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(live.http)
        rep = await member(live.http, boss, "SALES")
        rep_socket = await connect("/app", {"token": rep.access}, events=LEAD_EVENTS)
        lead = await create_lead(live.http, boss, owner_id=boss.user_id)  # the default: on
        await rep_socket.wait_for("lead:created", about(lead["id"]))
        await patch_lead(live.http, boss, lead["id"], {"ownerId": None})
        await patch_lead(live.http, boss, lead["id"], {"ownerId": boss.user_id})
        await rep_socket.wait_for("lead:updated", lambda p: p["lead"]["version"] == 3)
        assert rep_socket.events["lead:hidden"] == []


class TestOtherTenants:
    async def test_another_tenant_hears_nothing(
        self, live: Live, connect: Connect, team: Team, sockets: dict[str, Recorder]
    ) -> None:
        stranger = await signup(live.http)
        stranger_socket = await connect("/app", {"token": stranger.access}, events=LEAD_EVENTS)
        lead = await create_lead(live.http, team.boss)
        await patch_lead(live.http, team.boss, lead["id"], {"ownerId": team.rep.user_id})
        assert (
            await live.http.delete(f"/v1/leads/{lead['id']}", headers=team.boss.headers)
        ).status_code == 204
        await sockets["manager"].wait_for("lead:deleted", about(lead["id"]))
        own = await create_lead(live.http, stranger)
        await stranger_socket.wait_for("lead:created", about(own["id"]))
        assert ids(stranger_socket, "lead:created") == [own["id"]]
        for event in ("lead:updated", "lead:deleted", "lead:hidden"):
            assert stranger_socket.events[event] == []


class TestChangesWhileConnected:
    async def test_the_setting_flipped_takes_effect_on_open_sockets(
        self, live: Live, team: Team, sockets: dict[str, Recorder]
    ) -> None:
        rep = sockets["rep"]
        await set_sales_see_all(live.http, team.boss, True)
        assert await rep.wait_for("lead:visibility") == {"seesAll": True}
        assert sockets["manager"].events["lead:visibility"] == []  # its view did not change
        others = await create_lead(live.http, team.boss, owner_id=team.other_rep.user_id)
        await rep.wait_for("lead:created", about(others["id"]))
        # Seeing everything, giving a lead away hides nothing.
        await patch_lead(live.http, team.boss, others["id"], {"ownerId": team.boss.user_id})
        await rep.wait_for("lead:updated", about(others["id"]))

        await set_sales_see_all(live.http, team.boss, False)
        await rep.wait_for("lead:visibility", lambda p: p == {"seesAll": False})
        await patch_lead(live.http, team.boss, others["id"], {"status": "LOST"})
        unassigned = await create_lead(live.http, team.boss)
        await rep.wait_for("lead:created", about(unassigned["id"]))
        assert ids(rep, "lead:updated") == [others["id"]]  # the change before the flip only
        assert rep.events["lead:hidden"] == []

    async def test_a_role_changed_takes_effect_on_open_sockets(
        self, live: Live, team: Team, sockets: dict[str, Recorder]
    ) -> None:
        rep = sockets["rep"]
        promoted = await live.http.patch(
            f"/v1/members/{team.rep.user_id}", json={"role": "MANAGER"}, headers=team.boss.headers
        )
        assert promoted.status_code == 200, promoted.text
        assert await rep.wait_for("lead:visibility") == {"seesAll": True}
        others = await create_lead(live.http, team.boss, owner_id=team.other_rep.user_id)
        await rep.wait_for("lead:created", about(others["id"]))

        demoted = await live.http.patch(
            f"/v1/members/{team.rep.user_id}", json={"role": "SALES"}, headers=team.boss.headers
        )
        assert demoted.status_code == 200, demoted.text
        await rep.wait_for("lead:visibility", lambda p: p == {"seesAll": False})
        hidden_from_rep = await create_lead(live.http, team.boss, owner_id=team.other_rep.user_id)
        unassigned = await create_lead(live.http, team.boss)
        await rep.wait_for("lead:created", about(unassigned["id"]))
        assert hidden_from_rep["id"] not in ids(rep, "lead:created")

    async def test_a_socket_opened_after_the_flip_has_the_new_view(
        self, live: Live, connect: Connect, team: Team
    ) -> None:
        await set_sales_see_all(live.http, team.boss, True)
        rep = await connect("/app", {"token": team.rep.access}, events=LEAD_EVENTS)
        others = await create_lead(live.http, team.boss, owner_id=team.other_rep.user_id)
        await rep.wait_for("lead:created", about(others["id"]))
        assert rep.events["lead:visibility"] == []


# ---------------------------------------------------------------------------------------------
# Two instances over Redis


@pytest.fixture
def instances(
    database_url: str, redis_url: str, tmp_path: Path, owner: asyncpg.Connection
) -> Iterator[tuple[str, str]]:
    unlimited = "100000/hour"
    with (
        running_server(
            database_url, tmp_path / "a", REDIS_URL=redis_url, LEEDZ_RATE_LIMIT_SIGNUP=unlimited
        ) as first,
        running_server(
            database_url, tmp_path / "b", REDIS_URL=redis_url, LEEDZ_RATE_LIMIT_SIGNUP=unlimited
        ) as second,
    ):
        yield first, second


class Remote:
    """A Socket.IO client of `/app` on a given server, recording the lead events."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        for event in LEAD_EVENTS:
            self.client.on(
                event, lambda data=None, e=event: self.events[e].append(data), namespace="/app"
            )

    async def connect(self, base: str, account: Account) -> Remote:
        await self.client.connect(
            base, namespaces=["/app"], auth={"token": account.access}, transports=["websocket"]
        )
        return self

    async def wait_for(self, event: str, predicate: Any = bool, within: float = 5) -> Any:
        async with asyncio.timeout(within):
            while True:
                for payload in self.events[event]:
                    if predicate(payload):
                        return payload
                await asyncio.sleep(0.02)


@pytest.mark.e2e
async def test_lead_events_and_views_cross_instances(
    instances: tuple[str, str], owner: asyncpg.Connection
) -> None:
    base_a, base_b = instances
    remotes: list[Remote] = []
    async with httpx.AsyncClient(base_url=base_a) as via_a:
        team = await make_team(via_a, owner)
        try:
            # The rep on B; the other rep on both; the manager on B; every change made via A.
            rep = await Remote().connect(base_b, team.rep)
            other_b = await Remote().connect(base_b, team.other_rep)
            other_a = await Remote().connect(base_a, team.other_rep)
            manager = await Remote().connect(base_b, team.manager)
            remotes += [rep, other_b, other_a, manager]

            unassigned = await create_lead(via_a, team.boss)
            for remote in remotes:
                await remote.wait_for("lead:created", about(unassigned["id"]))

            # Taken by the other rep: hidden from the rep on B, not from the taker anywhere.
            await patch_lead(
                via_a, team.boss, unassigned["id"], {"ownerId": team.other_rep.user_id}
            )
            assert await rep.wait_for("lead:hidden") == {"ids": [unassigned["id"]]}
            for remote in (other_a, other_b, manager):
                await remote.wait_for("lead:updated", about(unassigned["id"]))
                assert remote.events["lead:hidden"] == []

            # The setting flipped via A regroups the rep's socket on B.
            await set_sales_see_all(via_a, team.boss, True)
            assert await rep.wait_for("lead:visibility") == {"seesAll": True}
            changed = await patch_lead(via_a, team.boss, unassigned["id"], {"status": "WON"})
            updated = await rep.wait_for("lead:updated", about(unassigned["id"]))
            assert updated["lead"] == changed

            # Back off; then the rep promoted via A: its socket on B follows both.
            await set_sales_see_all(via_a, team.boss, False)
            await rep.wait_for("lead:visibility", lambda p: p == {"seesAll": False})
            others = await create_lead(via_a, team.boss, owner_id=team.other_rep.user_id)
            last = await create_lead(via_a, team.boss)
            await rep.wait_for("lead:created", about(last["id"]))
            assert others["id"] not in ids(rep, "lead:created")
            promoted = await via_a.patch(
                f"/v1/members/{team.rep.user_id}",
                json={"role": "MANAGER"},
                headers=team.boss.headers,
            )
            assert promoted.status_code == 200, promoted.text
            await rep.wait_for("lead:visibility", lambda _: len(rep.events["lead:visibility"]) == 3)
            assert rep.events["lead:visibility"] == [
                {"seesAll": True},
                {"seesAll": False},
                {"seesAll": True},
            ]
            again = await patch_lead(via_a, team.boss, others["id"], {"status": "LOST"})
            assert (await rep.wait_for("lead:updated", about(others["id"])))["lead"] == again
        finally:
            for remote in remotes:
                with contextlib.suppress(Exception):
                    await remote.client.disconnect()
