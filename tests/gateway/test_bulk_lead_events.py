"""`leads:bulk` on `/app`: a bulk job's batch tells each socket of the leads it may see, one
emit per audience rather than one per lead (docs/realtime.md)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from leedz.access.roles import Role
from leedz.bulk import service as bulk
from leedz.jobs.models import JobType
from tests.bulk.support import raw_leads
from tests.gateway.conftest import Connect, Live, Recorder
from tests.gateway.test_lead_events import LEAD_EVENTS, Team, about, create_lead, make_team
from tests.support.work import InlineUnit

EVENTS = (*LEAD_EVENTS, "leads:bulk")


@pytest.fixture
async def team(live: Live, owner: asyncpg.Connection) -> Team:
    return await make_team(live.http, owner)  # salesSeeAllLeads off


def bulk_ids(socket: Recorder) -> list[str]:
    return [i for payload in socket.events["leads:bulk"] for i in payload["ids"]]


class TestBulkEvents:
    async def test_each_socket_hears_of_the_leads_it_may_see(
        self, live: Live, connect: Connect, team: Team, owner: asyncpg.Connection
    ) -> None:
        sockets = {
            name: await connect("/app", {"token": account.access}, events=EVENTS)
            for name, account in (
                ("boss", team.boss), ("rep", team.rep), ("other_rep", team.other_rep),
            )
        }  # fmt: skip
        stranger = await connect(
            "/app", {"token": (await make_team(live.http, owner)).boss.access}, events=EVENTS
        )
        reps = await raw_leads(owner, team.boss, 2, owner_id=team.rep.user_id)
        others = await raw_leads(owner, team.boss, 1, owner_id=team.other_rep.user_id)
        free = await raw_leads(owner, team.boss, 2)
        unit = InlineUnit(
            live.app.state.db,
            tenant_id=uuid.UUID(team.boss.tenant_id),
            user_id=uuid.UUID(team.boss.user_id),
            role=Role.OWNER,
            job_type=JobType.BULK_STATUS_UPDATE,
            job_input={"status": "WON"},
        )
        assert await bulk.update_status(unit, batch_size=3) == {"matched": 5, "changed": 5}
        # A last change every socket of the tenant hears of: the batches' emits came before.
        marker = await create_lead(live.http, team.boss)
        for socket in sockets.values():
            await socket.wait_for("lead:created", about(marker["id"]))

        assert sorted(bulk_ids(sockets["boss"])) == sorted(reps + others + free)
        assert sorted(bulk_ids(sockets["rep"])) == sorted(reps + free)
        assert sorted(bulk_ids(sockets["other_rep"])) == sorted(others + free)
        payload = sockets["boss"].events["leads:bulk"][0]
        assert {k: v for k, v in payload.items() if k != "ids"} == {
            "jobId": str(unit.job.id),
            "change": "lead:updated",
            "status": "WON",
        }
        for socket in sockets.values():  # no per-lead events for a bulk job
            assert socket.events["lead:updated"] == []
        assert stranger.events["leads:bulk"] == []

    async def test_a_bulk_delete_is_told_as_deleted(
        self, live: Live, connect: Connect, team: Team, owner: asyncpg.Connection
    ) -> None:
        rep = await connect("/app", {"token": team.rep.access}, events=EVENTS)
        mine = await raw_leads(owner, team.boss, 1, owner_id=team.rep.user_id)
        await raw_leads(owner, team.boss, 1, owner_id=team.other_rep.user_id)
        unit = InlineUnit(
            live.app.state.db,
            tenant_id=uuid.UUID(team.boss.tenant_id),
            user_id=uuid.UUID(team.boss.user_id),
            role=Role.OWNER,
            job_type=JobType.BULK_DELETE,
            job_input={},
        )
        assert await bulk.delete(unit, batch_size=10) == {"matched": 2, "changed": 2}
        assert await rep.wait_for("leads:bulk") == {
            "jobId": str(unit.job.id),
            "change": "lead:deleted",
            "ids": mine,
        }
