"""The trash (DELETE, restore) and notes on a lead's timeline."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import httpx
import pytest

from leedz.leads.schemas import MAX_NOTE_CHARS
from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import create_lead, key_count, stored, timeline


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


class TestTrash:
    async def test_delete_then_get_shows_it_in_the_trash(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, phones=["0501234567"])
        deleted = await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
        assert deleted.status_code == 204
        assert deleted.content == b""
        got = await client.get(f"/v1/leads/{lead['id']}", headers=boss.headers)
        assert got.status_code == 200
        assert got.json()["deletedAt"] is not None
        assert got.json()["version"] == 2
        assert got.headers["etag"] == '"2"'
        # Its keys stay held while it is in the trash (restore gives them back unchanged).
        assert await key_count(owner, boss) == 1
        activities = await client.get(f"/v1/leads/{lead['id']}/activities", headers=boss.headers)
        assert activities.status_code == 200
        assert [a["type"] for a in activities.json()["items"]] == ["DELETED", "CREATED"]

    async def test_a_lead_in_the_trash_cannot_be_changed_or_annotated(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss)
        await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
        before = await stored(owner, lead["id"])
        patched = await client.patch(
            f"/v1/leads/{lead['id']}", json={"name": "x"}, headers=boss.headers
        )
        assert patched.status_code == 404
        assert "trash" in patched.json()["detail"]
        note = await client.post(
            f"/v1/leads/{lead['id']}/notes", json={"body": "x"}, headers=boss.headers
        )
        assert note.status_code == 404
        assert await stored(owner, lead["id"]) == before

    async def test_deleting_twice_is_204_and_changes_nothing(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss)
        await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
        before = await stored(owner, lead["id"])
        again = await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
        assert again.status_code == 204
        assert await stored(owner, lead["id"]) == before

    async def test_restore_brings_it_back(self, client: httpx.AsyncClient, boss: Account) -> None:
        lead = await create_lead(client, boss, phones=["0501234567"], tags=["vip"])
        await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
        restored = await client.post(f"/v1/leads/{lead['id']}/restore", headers=boss.headers)
        assert restored.status_code == 200, restored.text
        body = restored.json()
        assert body["deletedAt"] is None
        assert body["version"] == 3
        assert restored.headers["etag"] == '"3"'
        assert (body["phones"], body["tags"]) == (["+966501234567"], ["vip"])
        assert [a["type"] for a in await timeline(client, boss, lead["id"])] == [
            "RESTORED", "DELETED", "CREATED",
        ]  # fmt: skip
        changed = await client.patch(
            f"/v1/leads/{lead['id']}", json={"name": "alive"}, headers=boss.headers
        )
        assert changed.status_code == 200

    async def test_restoring_a_live_lead_is_409(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        response = await client.post(f"/v1/leads/{lead['id']}/restore", headers=boss.headers)
        assert response.status_code == 409
        assert response.json()["code"] == "lead_not_deleted"

    async def test_sales_can_neither_delete_nor_restore(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        lead = await create_lead(client, sales, ownerId=sales.user_id)
        denied = await client.delete(f"/v1/leads/{lead['id']}", headers=sales.headers)
        assert denied.status_code == 403
        assert denied.json()["permission"] == "leads:delete"
        assert (await stored(owner, lead["id"]))["deleted_at"] is None
        await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
        denied = await client.post(f"/v1/leads/{lead['id']}/restore", headers=sales.headers)
        assert denied.status_code == 403
        assert denied.json()["permission"] == "leads:delete"

    @pytest.mark.parametrize("role", ["MANAGER", "ADMIN"])
    async def test_managers_and_admins_delete_and_restore(
        self, client: httpx.AsyncClient, boss: Account, role: str
    ) -> None:
        actor = await member(client, boss, role)
        lead = await create_lead(client, boss)
        assert (
            await client.delete(f"/v1/leads/{lead['id']}", headers=actor.headers)
        ).status_code == 204
        restored = await client.post(f"/v1/leads/{lead['id']}/restore", headers=actor.headers)
        assert restored.status_code == 200


class TestNotes:
    @pytest.mark.parametrize(
        ("typed", "kept"),
        [
            ("<script>alert(1)</script>hi", "hi"),
            ("<b>x</b>", "x"),
            ("a < b & c", "a < b & c"),
            ("5 > 3 && 2 < 4", "5 > 3 && 2 < 4"),
            ('<a href="javascript:alert(1)">call</a> back', "call back"),
            ("<img src=x onerror=alert(1)>seen", "seen"),
            ("<style>p{}</style><p>one</p>", "one"),
            ("اتصلت بهم <i>اليوم</i>", "اتصلت بهم اليوم"),
            ("line one\nline two", "line one\nline two"),
            ("  padded  ", "padded"),
            ("&lt;b&gt; typed as text", "<b> typed as text"),
        ],
    )
    async def test_stored_as_plain_text(
        self, client: httpx.AsyncClient, boss: Account, typed: str, kept: str
    ) -> None:
        lead = await create_lead(client, boss)
        response = await client.post(
            f"/v1/leads/{lead['id']}/notes", json={"body": typed}, headers=boss.headers
        )
        assert response.status_code == 201, response.text
        note = response.json()
        assert note["body"] == kept
        assert note["type"] == "NOTE"
        assert note["leadId"] == lead["id"]
        assert note["actorUserId"] == boss.user_id
        assert (await timeline(client, boss, lead["id"]))[0]["body"] == kept

    @pytest.mark.parametrize(
        "typed", ["", "   ", "<script>alert(1)</script>", "<b> </b>", "<style>x</style>\n"]
    )
    async def test_empty_once_stripped_is_422(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, typed: str
    ) -> None:
        lead = await create_lead(client, boss)
        response = await client.post(
            f"/v1/leads/{lead['id']}/notes", json={"body": typed}, headers=boss.headers
        )
        assert response.status_code == 422, response.text
        notes = await owner.fetchval(
            "SELECT count(*) FROM lead_activities WHERE lead_id = $1::uuid AND type = 'NOTE'",
            lead["id"],
        )
        assert notes == 0

    async def test_length_bounds(self, client: httpx.AsyncClient, boss: Account) -> None:
        lead = await create_lead(client, boss)
        path = f"/v1/leads/{lead['id']}/notes"
        longest = await client.post(path, json={"body": "n" * MAX_NOTE_CHARS}, headers=boss.headers)
        assert longest.status_code == 201
        over = await client.post(path, json={"body": "n" * (MAX_NOTE_CHARS + 1)},
                                 headers=boss.headers)  # fmt: skip
        assert over.status_code == 422
        assert over.json()["errors"][0]["loc"] == ["body", "body"]

    @pytest.mark.parametrize("body", [{"body": "a\x00b"}, {"body": "x", "pinned": True}, {}])
    async def test_bad_bodies_are_422(
        self, client: httpx.AsyncClient, boss: Account, body: dict[str, object]
    ) -> None:
        lead = await create_lead(client, boss)
        response = await client.post(
            f"/v1/leads/{lead['id']}/notes", json=body, headers=boss.headers
        )
        assert response.status_code == 422

    async def test_a_note_moves_last_activity_not_the_version(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        await client.post(
            f"/v1/leads/{lead['id']}/notes", json={"body": "called"}, headers=boss.headers
        )
        after = (await client.get(f"/v1/leads/{lead['id']}", headers=boss.headers)).json()
        moment = datetime.fromisoformat
        assert moment(after["lastActivityAt"]) > moment(lead["lastActivityAt"])
        assert after["version"] == lead["version"]
        assert after["updatedAt"] == lead["updatedAt"]

    async def test_sales_may_add_notes(self, client: httpx.AsyncClient, boss: Account) -> None:
        sales = await member(client, boss, "SALES")
        lead = await create_lead(client, boss)
        response = await client.post(
            f"/v1/leads/{lead['id']}/notes", json={"body": "mine"}, headers=sales.headers
        )
        assert response.status_code == 201
        assert response.json()["actorUserId"] == sales.user_id

    async def test_another_tenant_cannot_annotate(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss)
        stranger = await signup(client)
        response = await client.post(
            f"/v1/leads/{lead['id']}/notes", json={"body": "x"}, headers=stranger.headers
        )
        assert response.status_code == 404
        count = await owner.fetchval(
            "SELECT count(*) FROM lead_activities WHERE lead_id = $1::uuid", lead["id"]
        )
        assert count == 1
