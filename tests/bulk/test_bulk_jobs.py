"""BULK_STATUS_UPDATE and BULK_DELETE, run in-process: what they select, what they change and
leave, cancel and resume, and what a job may do for whom."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.access.roles import Role
from leedz.bulk import job as bulk_job
from leedz.bulk.events import LeadsChangedInBulk
from leedz.errors import Forbidden, NotFound, ValidationFailed
from leedz.jobs.models import JobType
from leedz.jobs.work import Cancelled
from leedz.leads.events import LeadChange
from leedz.leads.models import LeadStatus
from tests.bulk.support import (
    CrashingUnit,
    Killed,
    audit_rows,
    entries,
    raw_leads,
    run,
    states,
    unit,
)
from tests.factories.accounts import Account, member, on_plan, signup
from tests.lists.support import add, new_list

STATUS = JobType.BULK_STATUS_UPDATE
DELETE = JobType.BULK_DELETE


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


async def _sales_only_own(client: httpx.AsyncClient, boss: Account) -> None:
    response = await client.patch(
        "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
        headers=boss.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text


class TestByFilter:
    async def test_the_filter_s_leads_change_and_the_others_stay(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        riyadh = await raw_leads(owner, boss, 5, city="Riyadh")
        jeddah = await raw_leads(owner, boss, 3, city="Jeddah")
        before = await states(owner, riyadh + jeddah)
        the_unit = unit(app, boss, STATUS, {"status": "CONTACTED", "filter": {"city": "riyadh"}})
        assert await run(the_unit) == {"matched": 5, "changed": 5}
        after = await states(owner, riyadh + jeddah)
        for lead in riyadh:
            assert after[lead]["status"] == "CONTACTED"
            assert after[lead]["version"] == before[lead]["version"] + 1
            assert after[lead]["updated_at"] > before[lead]["updated_at"]
            assert "status" in after[lead]["edited_fields"]  # a person set it
        assert {lead: after[lead]["status"] for lead in jeddah} == dict.fromkeys(jeddah, "NEW")
        assert [after[lead]["version"] for lead in jeddah] == [1, 1, 1]
        # 5 leads, 2 a batch: 3 batches, progress rising to 100 at the last.
        assert the_unit.batches == 3
        assert the_unit.progress == sorted(the_unit.progress)
        assert the_unit.progress[-1] == 100

    async def test_a_filter_on_the_status_being_changed_counts_each_lead_once(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        """Leads leave the filter as the job changes them: no lead is skipped or counted
        twice, whatever the batch boundaries."""
        new = await raw_leads(owner, boss, 7, status="NEW")
        won = await raw_leads(owner, boss, 2, status="WON")
        the_unit = unit(app, boss, STATUS, {"status": "CONTACTED", "filter": {"status": ["NEW"]}})
        assert await run(the_unit, batch_size=3) == {"matched": 7, "changed": 7}
        after = await states(owner, new + won)
        assert {after[lead]["status"] for lead in new} == {"CONTACTED"}
        assert {after[lead]["status"] for lead in won} == {"WON"}
        assert len(await entries(owner, new, "STATUS_CHANGED")) == 7

    @pytest.mark.parametrize("job_type", [STATUS, DELETE])
    async def test_leads_created_after_the_job_was_asked_for_are_left_alone(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection, job_type: JobType
    ) -> None:
        """The selection is the leads there were when someone asked: an import or an agent
        adding leads of the filter while the job waits or runs adds none to it (lead ids are
        time-ordered, so a keyset alone would take every one of them)."""
        there = await raw_leads(owner, boss, 3, city="Riyadh")
        job_input: dict[str, Any] = {"filter": {"city": "Riyadh"}}
        if job_type is STATUS:
            job_input["status"] = "CONTACTED"
        # The job's time as the worker's claim reads it: the database's clock.
        the_unit = unit(
            app, boss, job_type, job_input, created_at=await owner.fetchval("SELECT now()")
        )
        later = await raw_leads(owner, boss, 4, city="Riyadh")
        assert await run(the_unit) == {"matched": 3, "changed": 3}
        after = await states(owner, there + later)
        assert all(after[lead]["version"] == 2 for lead in there)
        assert [after[lead]["version"] for lead in later] == [1, 1, 1, 1]
        assert {after[lead]["deleted_at"] for lead in later} == {None}

    async def test_a_lead_already_at_the_status_is_matched_not_changed(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        done = await raw_leads(owner, boss, 2, status="QUALIFIED")
        await raw_leads(owner, boss, 3, status="NEW")
        output = await run(unit(app, boss, STATUS, {"status": "QUALIFIED"}))
        assert output == {"matched": 5, "changed": 3}
        after = await states(owner, done)
        assert [after[lead]["version"] for lead in done] == [1, 1]  # untouched
        assert await entries(owner, done, "STATUS_CHANGED") == []

    async def test_a_q_filter_is_the_search_s(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        cafe = (await client.post(
            "/v1/leads", json={"name": "مقهى الأمل"}, headers=boss.headers
        )).json()  # fmt: skip
        other = (await client.post(
            "/v1/leads", json={"name": "Golden Bakery"}, headers=boss.headers
        )).json()  # fmt: skip
        # The search's normalization: hamza and alef maqsura typed either way.
        output = await run(
            unit(app, boss, STATUS, {"status": "LOST", "filter": {"q": "مقهي الامل"}})
        )
        assert output == {"matched": 1, "changed": 1}
        after = await states(owner, [cafe["id"], other["id"]])
        assert after[cafe["id"]]["status"] == "LOST"
        assert after[other["id"]]["status"] == "NEW"

    async def test_a_filter_over_the_trash_is_refused(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        trashed = await raw_leads(owner, boss, 2, deleted=True)
        job = unit(app, boss, STATUS, {"status": "WON", "filter": {"deleted": True}})
        with pytest.raises(ValidationFailed):
            await run(job)
        assert {s["status"] for s in (await states(owner, trashed)).values()} == {"NEW"}
        assert await audit_rows(owner, job.job.id) == []

    async def test_the_handlers_run_with_the_configured_batch(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        leads = await raw_leads(owner, boss, 3)
        status_unit = unit(app, boss, STATUS, {"status": "WON"})
        assert await bulk_job.update_status(status_unit) == {"matched": 3, "changed": 3}
        assert status_unit.batches == 1  # 1,000 a batch
        delete_unit = unit(app, boss, DELETE, {"leadIds": leads[:1]})
        assert await bulk_job.delete(delete_unit) == {"matched": 1, "changed": 1}


class TestByList:
    async def test_a_static_list_s_members(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        leads = await raw_leads(owner, boss, 4)
        listed = await new_list(client, boss)
        assert (await add(client, boss, listed["id"], leads[:3])).status_code == 200
        output = await run(unit(app, boss, STATUS, {"status": "WON", "listId": listed["id"]}))
        assert output == {"matched": 3, "changed": 3}
        after = await states(owner, leads)
        assert [after[lead]["status"] for lead in leads] == ["WON", "WON", "WON", "NEW"]

    async def test_a_dynamic_list_s_saved_filter_and_the_job_s_filter(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        riyadh_new = await raw_leads(owner, boss, 3, city="Riyadh")
        riyadh_won = await raw_leads(owner, boss, 2, city="Riyadh", status="WON")
        jeddah = await raw_leads(owner, boss, 2, city="Jeddah")
        dynamic = await new_list(client, boss, kind="DYNAMIC", filter={"city": "Riyadh"})
        body = {"status": "LOST", "listId": dynamic["id"], "filter": {"status": ["NEW"]}}
        assert await run(unit(app, boss, STATUS, body)) == {"matched": 3, "changed": 3}
        after = await states(owner, riyadh_new + riyadh_won + jeddah)
        assert {after[lead]["status"] for lead in riyadh_new} == {"LOST"}
        assert {after[lead]["status"] for lead in riyadh_won} == {"WON"}
        assert {after[lead]["status"] for lead in jeddah} == {"NEW"}

    async def test_an_unknown_or_foreign_list_fails_the_job(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        stranger = await signup(client)
        theirs = await new_list(client, stranger)
        leads = await raw_leads(owner, boss, 2)
        for list_id in (theirs["id"], str(uuid.uuid4())):
            with pytest.raises(NotFound):
                await run(unit(app, boss, DELETE, {"listId": list_id}))
        assert {s["deleted_at"] for s in (await states(owner, leads)).values()} == {None}


class TestByIds:
    async def test_another_tenant_s_ids_are_never_touched(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        stranger = await signup(client)
        theirs = await raw_leads(owner, stranger, 2)
        mine = await raw_leads(owner, boss, 2)
        ids = [*mine, *theirs, str(uuid.uuid4())]
        for job_type, body in ((STATUS, {"status": "WON"}), (DELETE, {})):
            output = await run(unit(app, boss, job_type, {**body, "leadIds": ids}))
            assert output == {"matched": 2, "changed": 2}
        after = await states(owner, theirs)
        assert [(s["status"], s["version"], s["deleted_at"]) for s in after.values()] == [
            ("NEW", 1, None),
            ("NEW", 1, None),
        ]
        assert await entries(owner, theirs, "STATUS_CHANGED") == []
        assert await entries(owner, theirs, "DELETED") == []

    async def test_ids_in_the_trash_are_not_matched(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        """A bulk action, like the search, sees live leads: a lead in the trash is neither
        changed nor trashed again (its retention is not extended)."""
        live = await raw_leads(owner, boss, 1)
        trashed = await raw_leads(owner, boss, 2, deleted=True)
        before = await states(owner, trashed)
        ids = live + trashed
        assert await run(unit(app, boss, STATUS, {"status": "WON", "leadIds": ids})) == {
            "matched": 1,
            "changed": 1,
        }
        assert await run(unit(app, boss, DELETE, {"leadIds": ids})) == {"matched": 1, "changed": 1}
        after = await states(owner, trashed)
        for lead in trashed:
            assert after[lead]["deleted_at"] == before[lead]["deleted_at"]
            assert (after[lead]["status"], after[lead]["version"]) == ("NEW", 1)

    async def test_an_empty_selection_ends_at_once_with_its_audit_row(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        await raw_leads(owner, boss, 2, city="Jeddah")
        the_unit = unit(app, boss, STATUS, {"status": "WON", "filter": {"city": "Dammam"}})
        assert await run(the_unit) == {"matched": 0, "changed": 0}
        assert (the_unit.batches, the_unit.progress) == (1, [100])
        rows = await audit_rows(owner, the_unit.job.id)
        assert [(r["event_type"], r["details"]["matched"]) for r in rows] == [
            ("lead.bulk_status_changed", 0)
        ]


class TestTimelineAndAudit:
    async def test_each_lead_s_timeline_names_the_job_and_its_creator(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        leads = await raw_leads(owner, boss, 3, status="CONTACTED")
        the_unit = unit(app, boss, STATUS, {"status": "WON"})
        await run(the_unit)
        response = await client.get(f"/v1/leads/{leads[0]}/activities", headers=boss.headers)
        (entry,) = [e for e in response.json()["items"] if e["type"] == "STATUS_CHANGED"]
        assert entry["actorUserId"] == boss.user_id
        assert entry["details"] == {
            "from": "CONTACTED",
            "to": "WON",
            "jobId": str(the_unit.job.id),
        }
        assert len(await entries(owner, leads, "STATUS_CHANGED")) == 3

    async def test_one_audit_row_with_the_counts(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        await raw_leads(owner, boss, 5)
        the_unit = unit(app, boss, STATUS, {"status": "LOST"})
        await run(the_unit)
        rows = await audit_rows(owner, the_unit.job.id)
        assert len(rows) == 1
        assert rows[0]["event_type"] == "lead.bulk_status_changed"
        assert rows[0]["user_id"] == boss.user_id
        assert rows[0]["details"] == {
            "matched": 5,
            "changed": 5,
            "cancelled": False,
            "status": "LOST",
        }
        # No per-lead audit rows: the job's is the record.
        assert (
            await owner.fetchval(
                "SELECT count(*) FROM audit_logs WHERE tenant_id = $1::uuid"
                " AND event_type = 'lead.status_changed'",
                boss.tenant_id,
            )
            == 0
        )


class TestDelete:
    async def test_to_the_trash_and_back(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        leads = await raw_leads(owner, boss, 3)
        the_unit = unit(app, boss, DELETE, {"filter": {"city": "Riyadh"}})
        assert await run(the_unit) == {"matched": 3, "changed": 3}
        after = await states(owner, leads)
        assert all(s["deleted_at"] is not None and s["version"] == 2 for s in after.values())
        listed = await client.get("/v1/leads", headers=boss.headers)
        assert listed.json()["items"] == []
        trash = await client.get("/v1/leads", params={"deleted": "true"}, headers=boss.headers)
        assert {lead["id"] for lead in trash.json()["items"]} == set(leads)
        deleted = await entries(owner, leads, "DELETED")
        assert {(e["actor"], e["details"]["jobId"]) for e in deleted} == {
            (boss.user_id, str(the_unit.job.id))
        }
        assert len(deleted) == 3
        restored = await client.post(f"/v1/leads/{leads[0]}/restore", headers=boss.headers)
        assert restored.status_code == 200, restored.text
        (row,) = await audit_rows(owner, the_unit.job.id)
        assert row["event_type"] == "lead.bulk_deleted"
        assert row["details"] == {"matched": 3, "changed": 3, "cancelled": False}


class TestWhoMayDoWhat:
    async def test_sales_under_own_leads_only_changes_own_and_unassigned(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        colleague = await member(client, boss, "SALES")
        await _sales_only_own(client, boss)
        mine = await raw_leads(owner, boss, 2, owner_id=sales.user_id)
        free = await raw_leads(owner, boss, 2)
        theirs = await raw_leads(owner, boss, 2, owner_id=colleague.user_id)
        bosses = await raw_leads(owner, boss, 1, owner_id=boss.user_id)
        hidden = theirs + bosses
        for selection in ({}, {"leadIds": [*mine, *free, *hidden]}, {"filter": {"city": "Riyadh"}}):
            output = await run(
                unit(app, sales, STATUS, {"status": "WON", **selection}, role=Role.SALES)
            )
            assert isinstance(output, dict)
            assert output["matched"] == 4, selection
        after = await states(owner, mine + free + hidden)
        assert {after[lead]["status"] for lead in mine + free} == {"WON"}
        assert [(after[lead]["status"], after[lead]["version"]) for lead in hidden] == [
            ("NEW", 1)
        ] * 3
        # The setting on again: the same job now reaches every lead.
        await client.patch(
            "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": True}},
            headers=boss.headers,
        )  # fmt: skip
        output = await run(unit(app, sales, STATUS, {"status": "LOST"}, role=Role.SALES))
        assert output == {"matched": 7, "changed": 7}

    async def test_sales_may_not_bulk_delete(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        leads = await raw_leads(owner, boss, 2, owner_id=sales.user_id)
        job = unit(app, sales, DELETE, {"leadIds": leads}, role=Role.SALES)
        with pytest.raises(Forbidden) as refused:
            await run(job)
        assert refused.value.code == "forbidden"
        assert {s["deleted_at"] for s in (await states(owner, leads)).values()} == {None}
        assert (job.batches, await audit_rows(owner, job.job.id)) == (0, [])


class TestCancel:
    async def test_cancel_mid_way_keeps_what_was_done(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        leads = await raw_leads(owner, boss, 7)
        the_unit = unit(app, boss, STATUS, {"status": "WON"}, cancel_after=2)
        outcome = await run(the_unit)
        assert outcome == Cancelled({"matched": 4, "changed": 4, "total": 7})
        after = await states(owner, leads)
        assert sorted(s["status"] for s in after.values()) == ["NEW"] * 3 + ["WON"] * 4
        (row,) = await audit_rows(owner, the_unit.job.id)
        assert row["details"] == {"matched": 4, "changed": 4, "cancelled": True, "status": "WON"}
        assert the_unit.progress == [28, 57, 57]  # 2 of 7, 4 of 7; the stop keeps it

    async def test_a_cancelled_delete_says_how_far_it_got(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        leads = await raw_leads(owner, boss, 5)
        outcome = await run(unit(app, boss, DELETE, {}, cancel_after=1))
        assert outcome == Cancelled({"matched": 2, "changed": 2, "total": 5})
        deleted = [s for s in (await states(owner, leads)).values() if s["deleted_at"]]
        assert len(deleted) == 2


class TestResume:
    async def test_a_crash_mid_way_then_a_resume_equals_one_run(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        leads = await raw_leads(owner, boss, 9, status="NEW")
        job_id = uuid.uuid4()
        body: dict[str, Any] = {"status": "CONTACTED", "filter": {"status": ["NEW"]}}
        crashing = CrashingUnit(
            app.state.db,
            tenant_id=uuid.UUID(boss.tenant_id),
            user_id=uuid.UUID(boss.user_id),
            role=Role.OWNER,
            job_type=STATUS,
            job_input=body,
            job_id=job_id,
            crash_in=3,
        )
        with pytest.raises(Killed):
            await run(crashing)
        assert crashing.checkpoint is not None
        assert crashing.checkpoint["matched"] == 4  # two batches committed, the third lost
        changed = [s for s in (await states(owner, leads)).values() if s["status"] != "NEW"]
        assert len(changed) == 4
        resumed = unit(app, boss, STATUS, body, checkpoint=crashing.checkpoint, job_id=job_id)
        assert await run(resumed) == {"matched": 9, "changed": 9}
        after = await states(owner, leads)
        assert {(s["status"], s["version"]) for s in after.values()} == {("CONTACTED", 2)}
        timeline = await entries(owner, leads, "STATUS_CHANGED")
        assert sorted(e["lead_id"] for e in timeline) == sorted(leads)  # one each
        (row,) = await audit_rows(owner, job_id)
        assert row["details"]["matched"] == 9

    async def test_a_crash_after_the_last_batch_writes_nothing_again(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        """The last batch committed, the worker died before recording the end: the next run
        answers the same output from the checkpoint."""
        await raw_leads(owner, boss, 3)
        first = unit(app, boss, DELETE, {})
        assert await run(first) == {"matched": 3, "changed": 3}
        again = unit(app, boss, DELETE, {}, checkpoint=first.checkpoint, job_id=first.job.id)
        assert await run(again) == {"matched": 3, "changed": 3}
        assert again.batches == 0
        assert len(await audit_rows(owner, first.job.id)) == 1


class TestEvents:
    async def test_one_event_per_batch_grouped_by_owner(
        self, app: FastAPI, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        heard: list[LeadsChangedInBulk] = []

        async def listen(event: LeadsChangedInBulk) -> None:
            heard.append(event)

        app.state.db.bus.subscribe(LeadsChangedInBulk, listen)
        mine = await raw_leads(owner, boss, 2, owner_id=sales.user_id)
        free = await raw_leads(owner, boss, 3)
        await raw_leads(owner, boss, 1, status="WON")  # matched, not changed
        the_unit = unit(app, boss, STATUS, {"status": "WON"})
        await run(the_unit, batch_size=4)
        assert len(heard) == 2  # two batches changed leads
        assert {e.change for e in heard} == {LeadChange.UPDATED}
        assert {e.status for e in heard} == {LeadStatus.WON}
        assert {e.job_id for e in heard} == {the_unit.job.id}
        by_owner: dict[Any, set[str]] = {}
        for event in heard:
            for owner_id, ids in event.by_owner.items():
                by_owner.setdefault(owner_id, set()).update(str(i) for i in ids)
        assert by_owner == {uuid.UUID(sales.user_id): set(mine), None: set(free)}


class TestInput:
    async def test_an_input_no_longer_valid_fails_the_job_with_a_clear_code(
        self, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        leads = await raw_leads(owner, boss, 1)
        for body in ({"status": "ARCHIVED"}, {"status": "WON", "leadIds": ["not-a-uuid"]}):
            with pytest.raises(ValidationFailed) as refused:
                await run(unit(app, boss, STATUS, body))
            assert refused.value.code == "validation_error"
        assert (await states(owner, leads))[leads[0]]["version"] == 1
