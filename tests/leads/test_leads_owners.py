"""Who may own a lead, who may hand it to whom, what SALES see, and what happens when the owner
leaves the workspace."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.leads.events import LeadChange, LeadChanged
from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import audit_rows, create_lead, lead_count, stored, timeline


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


async def set_owner(
    client: httpx.AsyncClient, account: Account, lead_id: str, owner_id: str | None
) -> httpx.Response:
    return await client.patch(
        f"/v1/leads/{lead_id}", json={"ownerId": owner_id}, headers=account.headers
    )


class TestOwnerIsAMember:
    async def test_another_tenants_user_is_422_and_nothing_is_stored(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        stranger = await signup(client)
        response = await client.post(
            "/v1/leads", json={"name": "x", "ownerId": stranger.user_id}, headers=boss.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "owner_not_member"
        assert response.json()["field"] == "ownerId"
        assert await lead_count(owner, boss) == 0
        lead = await create_lead(client, boss)
        before = await stored(owner, lead["id"])
        changed = await set_owner(client, boss, lead["id"], stranger.user_id)
        assert changed.status_code == 422
        assert changed.json()["code"] == "owner_not_member"
        assert await stored(owner, lead["id"]) == before

    async def test_an_unknown_user_is_422(self, client: httpx.AsyncClient, boss: Account) -> None:
        lead = await create_lead(client, boss)
        changed = await set_owner(client, boss, lead["id"], "00000000-0000-4000-8000-000000000000")
        assert changed.json()["code"] == "owner_not_member"

    async def test_any_member_may_be_given_a_lead(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        lead = await create_lead(client, boss, ownerId=sales.user_id)
        assert lead["ownerId"] == sales.user_id


class TestAssigning:
    async def test_sales_take_an_unassigned_lead_and_release_it(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        lead = await create_lead(client, boss)
        taken = await set_owner(client, sales, lead["id"], sales.user_id)
        assert taken.status_code == 200, taken.text
        assert taken.json()["ownerId"] == sales.user_id
        released = await set_owner(client, sales, lead["id"], None)
        assert released.status_code == 200
        assert released.json()["ownerId"] is None
        mine = await create_lead(client, sales, name="Mine", ownerId=sales.user_id)
        assert mine["ownerId"] == sales.user_id

    async def test_sales_may_not_assign_to_others(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        colleague = await member(client, boss, "SALES")
        lead = await create_lead(client, boss)
        theirs = await create_lead(client, boss, name="Theirs", ownerId=colleague.user_id)
        refused = [
            await set_owner(client, sales, lead["id"], colleague.user_id),  # give away
            await set_owner(client, sales, theirs["id"], sales.user_id),  # take from another
            await set_owner(client, sales, theirs["id"], None),  # release another's
            await client.post(
                "/v1/leads",
                json={"name": "x", "ownerId": colleague.user_id},
                headers=sales.headers,
            ),
        ]
        for response in refused:
            assert response.status_code == 403, response.text
            assert response.json()["code"] == "forbidden"
            assert response.json()["permission"] == "leads:assign"
        assert (await stored(owner, lead["id"]))["owner_id"] is None
        assert str((await stored(owner, theirs["id"]))["owner_id"]) == colleague.user_id
        assert await lead_count(owner, boss) == 2

    async def test_sales_may_edit_another_members_lead_without_touching_its_owner(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        colleague = await member(client, boss, "SALES")
        theirs = await create_lead(client, boss, name="Theirs", ownerId=colleague.user_id)
        response = await client.patch(
            f"/v1/leads/{theirs['id']}",
            json={"status": "CONTACTED", "ownerId": colleague.user_id},  # unchanged owner
            headers=sales.headers,
        )
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize("role", ["MANAGER", "ADMIN", "OWNER"])
    async def test_managers_and_above_assign_anyone(
        self, client: httpx.AsyncClient, boss: Account, role: str
    ) -> None:
        actor = boss if role == "OWNER" else await member(client, boss, role)
        sales = await member(client, boss, "SALES")
        colleague = await member(client, boss, "SALES")
        lead = await create_lead(client, boss, ownerId=sales.user_id)
        moved = await set_owner(client, actor, lead["id"], colleague.user_id)
        assert moved.status_code == 200
        assert moved.json()["ownerId"] == colleague.user_id
        assert (await set_owner(client, actor, lead["id"], None)).json()["ownerId"] is None


class TestSalesVisibility:
    """With salesSeeAllLeads off a SALES member sees and changes only their own leads and the
    unassigned ones; another's lead is 404 to them (it does not exist, as far as they know)."""

    async def test_own_and_unassigned_only(self, client: httpx.AsyncClient, boss: Account) -> None:
        sales = await member(client, boss, "SALES")
        colleague = await member(client, boss, "SALES")
        unassigned = await create_lead(client, boss, name="Free")
        mine = await create_lead(client, boss, name="Mine", ownerId=sales.user_id)
        theirs = await create_lead(client, boss, name="Theirs", ownerId=colleague.user_id)
        visible = await client.get(f"/v1/leads/{theirs['id']}", headers=sales.headers)
        assert visible.status_code == 200  # salesSeeAllLeads is on by default
        await client.patch(
            "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
            headers=boss.headers,
        )  # fmt: skip
        for lead in (unassigned, mine):
            assert (
                await client.get(f"/v1/leads/{lead['id']}", headers=sales.headers)
            ).status_code == 200
        path = f"/v1/leads/{theirs['id']}"
        for method, url, body in (
            ("GET", path, None),
            ("PATCH", path, {"name": "x"}),
            ("GET", f"{path}/activities", None),
            ("POST", f"{path}/notes", {"body": "x"}),
        ):
            response = await client.request(method, url, json=body, headers=sales.headers)
            assert response.status_code == 404, (method, url)
        # A manager still sees everything.
        manager = await member(client, boss, "MANAGER")
        assert (await client.get(path, headers=manager.headers)).status_code == 200

    async def test_look_alikes_they_may_not_see_are_not_named(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        await client.patch(
            "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
            headers=boss.headers,
        )  # fmt: skip
        await create_lead(client, boss, name="Al Amal", city="Riyadh", ownerId=boss.user_id)
        free = await create_lead(client, boss, name="AL AMAL LLC", city="Riyadh")
        mine = await create_lead(client, sales, name="al amal", city="Riyadh")
        assert [d["id"] for d in mine["possibleDuplicates"]] == [free["id"]]

    async def test_releasing_a_lead_keeps_it_in_view(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        await client.patch(
            "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
            headers=boss.headers,
        )  # fmt: skip
        lead = await create_lead(client, sales, ownerId=sales.user_id)
        assert (await set_owner(client, sales, lead["id"], None)).status_code == 200
        assert (
            await client.get(f"/v1/leads/{lead['id']}", headers=sales.headers)
        ).status_code == 200


def lead_events(app: FastAPI) -> list[LeadChanged]:
    """The LeadChanged events the app delivers from now on (after their commit)."""
    seen: list[LeadChanged] = []

    async def keep(event: LeadChanged) -> None:
        seen.append(event)

    app.state.db.bus.subscribe(LeadChanged, keep)
    return seen


class TestWhenTheOwnerLeaves:
    async def test_a_removed_members_leads_are_unassigned_each_with_a_version_and_an_entry(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        lead = await create_lead(client, boss, ownerId=sales.user_id)
        other = await create_lead(client, boss, name="Other", ownerId=boss.user_id)
        events = lead_events(app)
        removed = await client.delete(f"/v1/members/{sales.user_id}", headers=boss.headers)
        assert removed.status_code == 204
        got = await client.get(f"/v1/leads/{lead['id']}", headers=boss.headers)
        assert got.status_code == 200
        assert got.json()["ownerId"] is None
        assert got.json()["version"] == lead["version"] + 1
        assert (await stored(owner, other["id"]))["owner_id"] is not None
        assert (await stored(owner, other["id"]))["version"] == other["version"]
        # The timeline says who unassigned it (the remover), from whom.
        entries = await timeline(client, boss, lead["id"])
        assert [e["type"] for e in entries] == ["OWNER_CHANGED", "CREATED"]
        assert entries[0]["actorUserId"] == boss.user_id
        assert entries[0]["details"] == {"from": sales.user_id, "to": None}
        changed = [r for r in await audit_rows(client, boss, lead["id"])
                   if r["eventType"] == "lead.owner_changed"]  # fmt: skip
        assert len(changed) == 1
        assert changed[0]["userId"] == boss.user_id
        assert changed[0]["details"] == {"from": sales.user_id, "to": None}
        assert [(e.lead_id, e.change, e.owner_id, e.previous_owner_id) for e in events] == [
            (UUID(lead["id"]), LeadChange.UPDATED, None, UUID(sales.user_id))
        ]
        assert events[0].payload["version"] == lead["version"] + 1

    async def test_a_member_who_leaves_unassigns_their_leads_even_in_the_trash(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        live = await create_lead(client, sales, ownerId=sales.user_id)
        trashed = await create_lead(client, sales, name="Trashed", ownerId=sales.user_id)
        await client.delete(f"/v1/leads/{trashed['id']}", headers=boss.headers)
        events = lead_events(app)
        left = await client.post("/v1/members/leave", headers=sales.headers)
        assert left.status_code == 204, left.text
        for lead, version in ((live, live["version"] + 1), (trashed, trashed["version"] + 2)):
            row = await stored(owner, lead["id"])
            assert row["owner_id"] is None
            assert row["version"] == version
            entries = await timeline(client, boss, lead["id"])
            assert entries[0]["type"] == "OWNER_CHANGED"
            assert entries[0]["actorUserId"] == sales.user_id  # who left
        # Only the live lead is announced: the trashed one is on nobody's screen.
        assert [e.lead_id for e in events] == [UUID(live["id"])]

    async def test_a_refused_removal_unassigns_nothing(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        admin = await member(client, boss, "ADMIN")
        lead = await create_lead(client, boss, ownerId=boss.user_id)
        refused = await client.delete(f"/v1/members/{boss.user_id}", headers=admin.headers)
        assert refused.status_code == 403
        row = await stored(owner, lead["id"])
        assert (row["owner_id"], row["version"]) == (UUID(boss.user_id), lead["version"])
        assert [e["type"] for e in await timeline(client, boss, lead["id"])] == ["CREATED"]

    async def test_they_can_no_longer_be_given_leads(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        await client.delete(f"/v1/members/{sales.user_id}", headers=boss.headers)
        lead = await create_lead(client, boss)
        response = await set_owner(client, boss, lead["id"], sales.user_id)
        assert response.json()["code"] == "owner_not_member"
