"""Lists: CRUD, validation, STATIC members (idempotent, all-or-nothing, 1,000 at once), the
trash, roles and ownership, another tenant, deletion, timeline and audit."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from leedz.access.permissions import ROLE_PERMISSIONS, Permission
from tests.factories.accounts import Account, member, on_plan, signup
from tests.lists.support import (
    add,
    lead,
    lead_count,
    member_ids,
    new_list,
    own_leads_only,
    raw_leads,
    remove,
)

FILTER = {"status": ["NEW", "CONTACTED"], "city": "Riyadh", "hasPhone": True}


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="Lists Co")
    await on_plan(owner, account, "PRO")
    return account


async def _lists(client: httpx.AsyncClient, account: Account, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/lists", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _audit(owner: asyncpg.Connection, account: Account) -> list[asyncpg.Record]:
    return await owner.fetch(
        "SELECT event_type, entity_type, entity_id, user_id, details FROM audit_logs"
        " WHERE tenant_id = $1::uuid AND entity_type = 'list' ORDER BY created_at, id",
        account.tenant_id,
    )


class TestCrud:
    async def test_create_read_rename_and_delete_a_static_list(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        response = await client.post(
            "/v1/lists",
            json={"name": "  عملاء جدة  ", "description": "للمتابعة", "kind": "STATIC"},
            headers=boss.headers,
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert response.headers["location"] == f"/v1/lists/{created['id']}"
        assert created["name"] == "عملاء جدة"
        assert created["description"] == "للمتابعة"
        assert created["kind"] == "STATIC"
        assert created["filter"] is None
        assert created["leadCount"] == 0
        assert created["createdBy"] == boss.user_id
        assert set(created) == {
            "id", "name", "description", "kind", "filter", "leadCount", "createdBy",
            "createdAt", "updatedAt",
        }  # fmt: skip
        read = await client.get(f"/v1/lists/{created['id']}", headers=boss.headers)
        assert read.status_code == 200
        assert read.json() == created

        renamed = await client.patch(
            f"/v1/lists/{created['id']}",
            json={"name": "Jeddah", "description": None},
            headers=boss.headers,
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name"] == "Jeddah"
        assert renamed.json()["description"] is None
        assert renamed.json()["updatedAt"] > created["updatedAt"]

        gone = await client.delete(f"/v1/lists/{created['id']}", headers=boss.headers)
        assert gone.status_code == 204
        again = await client.get(f"/v1/lists/{created['id']}", headers=boss.headers)
        assert again.status_code == 404
        assert again.json()["code"] == "not_found"
        assert (
            await client.delete(f"/v1/lists/{created['id']}", headers=boss.headers)
        ).status_code == 404

    async def test_a_dynamic_list_saves_its_filter_in_wire_form(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        created = await new_list(
            client, boss, kind="DYNAMIC", filter={**FILTER, "city": "  Riyadh ", "q": None}
        )
        assert created["filter"] == FILTER
        stored = await owner.fetchval(
            "SELECT filter FROM lists WHERE id = $1::uuid", uuid.UUID(created["id"])
        )
        assert json.loads(stored) == FILTER
        patched = await client.patch(
            f"/v1/lists/{created['id']}", json={"filter": {"tag": ["vip"]}}, headers=boss.headers
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["filter"] == {"tag": ["vip"]}

    async def test_the_list_is_newest_first_and_paged(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        made = [
            (await new_list(client, boss, f"L{i}", kind="STATIC" if i % 2 else "DYNAMIC",
                            **({} if i % 2 else {"filter": {}})))["id"]
            for i in range(5)
        ]  # fmt: skip
        first = await _lists(client, boss, limit=2)
        assert [x["id"] for x in first["items"]] == made[::-1][:2]
        second = await _lists(client, boss, limit=2, cursor=first["nextCursor"])
        third = await _lists(client, boss, limit=2, cursor=second["nextCursor"])
        assert [x["id"] for x in second["items"] + third["items"]] == made[::-1][2:]
        assert third["nextCursor"] is None
        static = await _lists(client, boss, kind="STATIC")
        assert [x["id"] for x in static["items"]] == [made[3], made[1]]
        bad = await client.get("/v1/lists", params={"cursor": "nope"}, headers=boss.headers)
        assert bad.status_code == 422

    async def test_an_empty_patch_changes_nothing(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        created = await new_list(client, boss)
        same = await client.patch(f"/v1/lists/{created['id']}", json={}, headers=boss.headers)
        assert same.status_code == 200
        assert same.json() == created
        unchanged = await client.patch(
            f"/v1/lists/{created['id']}", json={"name": created["name"]}, headers=boss.headers
        )
        assert unchanged.json() == created
        assert [r["event_type"] for r in await _audit(owner, boss)] == ["list.created"]


class TestValidation:
    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"name": "", "kind": "STATIC"}, "validation_error"),
            ({"name": "   ", "kind": "STATIC"}, "validation_error"),
            ({"name": "x" * 201, "kind": "STATIC"}, "validation_error"),
            ({"name": "a\x00b", "kind": "STATIC"}, "validation_error"),
            ({"name": "x", "kind": "STATIC", "description": "d" * 2001}, "validation_error"),
            ({"name": "x"}, "validation_error"),
            ({"name": "x", "kind": "SMART"}, "validation_error"),
            ({"name": "x", "kind": "STATIC", "color": "red"}, "validation_error"),
            ({"name": "x", "kind": "STATIC", "filter": {}}, "list_filter_not_allowed"),
            ({"name": "x", "kind": "STATIC", "filter": FILTER}, "list_filter_not_allowed"),
            ({"name": "x", "kind": "DYNAMIC"}, "list_filter_required"),
            ({"name": "x", "kind": "DYNAMIC", "filter": None}, "list_filter_required"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"bogus": 1}}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"sort": "name"}}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"limit": 5}}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"cursor": "c"}}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"deleted": True}}, "validation_error"),
            (
                {"name": "x", "kind": "DYNAMIC", "filter": {"listId": str(uuid.uuid4())}},
                "validation_error",
            ),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"status": ["OPEN"]}}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"country": "XX"}}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"q": "q" * 201}}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"ownerId": "me"}}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": ["status"]}, "validation_error"),
            ({"name": "x", "kind": "DYNAMIC", "filter": {"tag": ["v"] * 21}}, "validation_error"),
        ],
    )
    async def test_a_bad_list_is_422_and_stores_nothing(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        body: dict[str, Any],
        code: str,
    ) -> None:
        response = await client.post("/v1/lists", json=body, headers=boss.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
        assert (await _lists(client, boss))["items"] == []
        assert await _audit(owner, boss) == []

    @pytest.mark.parametrize(
        ("kind", "body", "code"),
        [
            ("STATIC", {"name": None}, "validation_error"),
            ("STATIC", {"name": "  "}, "validation_error"),
            ("STATIC", {"kind": "DYNAMIC"}, "validation_error"),
            ("STATIC", {"filter": {}}, "list_filter_not_allowed"),
            ("STATIC", {"filter": None}, "validation_error"),
            ("DYNAMIC", {"filter": None}, "validation_error"),
            ("DYNAMIC", {"filter": {"sort": "-name"}}, "validation_error"),
            ("DYNAMIC", {"filter": {"listId": str(uuid.uuid4())}}, "validation_error"),
            ("DYNAMIC", {"leadCount": 3}, "validation_error"),
        ],
    )
    async def test_a_bad_patch_is_422_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        kind: str,
        body: dict[str, Any],
        code: str,
    ) -> None:
        extra: dict[str, Any] = {"filter": FILTER} if kind == "DYNAMIC" else {}
        created = await new_list(client, boss, kind=kind, **extra)
        response = await client.patch(f"/v1/lists/{created['id']}", json=body, headers=boss.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
        read = await client.get(f"/v1/lists/{created['id']}", headers=boss.headers)
        assert read.json() == created

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"leadIds": []},
            {"leadIds": ["not-a-uuid"]},
            {"leadIds": "0c2b6b8e-0000-4000-8000-000000000000"},
            {"leadIds": [str(uuid.uuid4()) for _ in range(1001)]},
            {"leadIds": [str(uuid.uuid4())], "all": True},
        ],
    )
    async def test_bad_lead_ids_are_422(
        self, client: httpx.AsyncClient, boss: Account, body: dict[str, Any]
    ) -> None:
        created = await new_list(client, boss)
        for method in ("POST", "DELETE"):
            response = await client.request(
                method, f"/v1/lists/{created['id']}/leads", json=body, headers=boss.headers
            )
            assert response.status_code == 422, response.text
            assert response.json()["code"] == "validation_error"

    async def test_a_duplicate_id_in_the_body_is_422_and_adds_nothing(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        created = await new_list(client, boss)
        a, b = await raw_leads(owner, boss, 2)
        response = await add(client, boss, created["id"], [a, b, a])
        assert response.status_code == 422, response.text
        assert "repeat" in response.text
        assert await member_ids(owner, created["id"]) == set()


class TestMembers:
    async def test_adding_and_removing_is_idempotent_and_counted(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss)
        a, b, c = await raw_leads(owner, boss, 3)
        first = await add(client, boss, listed["id"], [a, b])
        assert first.status_code == 200, first.text
        assert first.json() == {"added": 2, "leadCount": 2}
        again = await add(client, boss, listed["id"], [b, a, c])
        assert again.json() == {"added": 1, "leadCount": 3}
        same = await add(client, boss, listed["id"], [a, b, c])
        assert same.json() == {"added": 0, "leadCount": 3}
        assert await lead_count(client, boss, listed["id"]) == 3

        out = await remove(client, boss, listed["id"], [a])
        assert out.status_code == 200, out.text
        assert out.json() == {"removed": 1, "leadCount": 2}
        out_again = await remove(client, boss, listed["id"], [a, b])
        assert out_again.json() == {"removed": 1, "leadCount": 1}
        nothing = await remove(client, boss, listed["id"], [a, b])
        assert nothing.json() == {"removed": 0, "leadCount": 1}
        assert await member_ids(owner, listed["id"]) == {c}

    async def test_the_same_lead_on_two_lists(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        one, two = await new_list(client, boss, "one"), await new_list(client, boss, "two")
        (a,) = await raw_leads(owner, boss, 1)
        assert (await add(client, boss, one["id"], [a])).json()["added"] == 1
        assert (await add(client, boss, two["id"], [a])).json()["added"] == 1
        await remove(client, boss, one["id"], [a])
        assert await lead_count(client, boss, one["id"]) == 0
        assert await lead_count(client, boss, two["id"]) == 1

    async def test_a_thousand_leads_at_once_in_one_timeline_statement(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss, "كبيرة")
        ids = await raw_leads(owner, boss, 1000)
        response = await add(client, boss, listed["id"], ids)
        assert response.status_code == 200, response.text
        assert response.json() == {"added": 1000, "leadCount": 1000}
        entries = await owner.fetch(
            "SELECT lead_id, actor_user_id, details FROM lead_activities"
            " WHERE tenant_id = $1::uuid AND type = 'LISTED'",
            boss.tenant_id,
        )
        assert {str(e["lead_id"]) for e in entries} == set(ids)
        assert len(entries) == 1000
        assert {str(e["actor_user_id"]) for e in entries} == {boss.user_id}
        timeline = await client.get(f"/v1/leads/{ids[17]}/activities", headers=boss.headers)
        assert timeline.status_code == 200, timeline.text
        (entry,) = timeline.json()["items"]
        assert entry["type"] == "LISTED"
        assert entry["details"] == {"listId": listed["id"], "listName": "كبيرة"}

        removed = await remove(client, boss, listed["id"], ids)
        assert removed.json() == {"removed": 1000, "leadCount": 0}
        unlisted = await owner.fetchval(
            "SELECT count(*) FROM lead_activities WHERE tenant_id = $1::uuid AND type = 'UNLISTED'",
            boss.tenant_id,
        )
        assert unlisted == 1000

    async def test_no_timeline_entry_for_what_did_not_change(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss)
        a, b = await raw_leads(owner, boss, 2)
        await add(client, boss, listed["id"], [a])
        await add(client, boss, listed["id"], [a, b])
        await remove(client, boss, listed["id"], [b])
        await remove(client, boss, listed["id"], [b])
        rows = await owner.fetch(
            "SELECT lead_id, type FROM lead_activities WHERE tenant_id = $1::uuid"
            " ORDER BY created_at, id",
            boss.tenant_id,
        )
        assert [(str(r["lead_id"]), r["type"]) for r in rows] == [
            (a, "LISTED"), (b, "LISTED"), (b, "UNLISTED"),
        ]  # fmt: skip

    @pytest.mark.parametrize("stranger", ["other_tenant", "missing", "trashed", "merged"])
    async def test_one_unknown_lead_and_nothing_changes(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        stranger: str,
    ) -> None:
        listed = await new_list(client, boss)
        mine = await raw_leads(owner, boss, 3)
        await add(client, boss, listed["id"], mine[:1])
        if stranger == "other_tenant":
            elsewhere = await signup(client, tenant_name="Elsewhere")
            (odd,) = await raw_leads(owner, elsewhere, 1)
        elif stranger == "missing":
            odd = str(uuid.uuid4())
        else:
            (odd,) = await raw_leads(owner, boss, 1)
            column = "deleted_at = now()" if stranger == "trashed" else "merged_into_id = id"
            await owner.execute(f"UPDATE leads SET {column} WHERE id = $1::uuid", uuid.UUID(odd))
        for call in (add, remove):
            response = await call(client, boss, listed["id"], [mine[1], odd, mine[2]])
            assert response.status_code == 422, response.text
            body = response.json()
            assert body["code"] == "unknown_leads"
            assert body["leadIds"] == [odd]
        assert await member_ids(owner, listed["id"]) == {mine[0]}
        assert await lead_count(client, boss, listed["id"]) == 1
        listed_entries = await owner.fetchval(
            "SELECT count(*) FROM lead_activities WHERE type IN ('LISTED', 'UNLISTED')"
        )
        assert listed_entries == 1

    async def test_a_dynamic_list_takes_no_members(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        dynamic = await new_list(client, boss, kind="DYNAMIC", filter={"city": "Riyadh"})
        (a,) = await raw_leads(owner, boss, 1)
        for call in (add, remove):
            response = await call(client, boss, dynamic["id"], [a])
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "list_not_static"
        assert await member_ids(owner, dynamic["id"]) == set()

    async def test_members_change_the_lists_updated_at(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss)
        (a,) = await raw_leads(owner, boss, 1)
        await add(client, boss, listed["id"], [a])
        after = (await client.get(f"/v1/lists/{listed['id']}", headers=boss.headers)).json()
        assert after["updatedAt"] > listed["updatedAt"]
        await add(client, boss, listed["id"], [a])
        same = (await client.get(f"/v1/lists/{listed['id']}", headers=boss.headers)).json()
        assert same["updatedAt"] == after["updatedAt"]

    async def test_concurrent_adds_of_the_same_leads_add_each_once(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss)
        ids = await raw_leads(owner, boss, 200)
        answers = await asyncio.gather(
            *(add(client, boss, listed["id"], ids[i:] + ids[:i]) for i in (0, 50, 100, 150))
        )
        assert [a.status_code for a in answers] == [200] * 4
        assert sum(a.json()["added"] for a in answers) == 200
        listed_entries = await owner.fetchval(
            "SELECT count(*) FROM lead_activities WHERE type = 'LISTED'"
        )
        assert listed_entries == 200

    async def test_adding_while_the_list_is_deleted_is_never_a_500(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        ids = await raw_leads(owner, boss, 300)
        for _ in range(3):
            listed = await new_list(client, boss)
            adding, deleting = await asyncio.gather(
                add(client, boss, listed["id"], ids),
                client.delete(f"/v1/lists/{listed['id']}", headers=boss.headers),
            )
            assert adding.status_code in {200, 404}, adding.text
            assert deleting.status_code == 204, deleting.text
            assert await member_ids(owner, listed["id"]) == set()


class TestTrash:
    async def test_a_trashed_lead_leaves_the_count_and_comes_back_on_restore(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss)
        a = await lead(client, boss, "أ")
        b = await lead(client, boss, "ب")
        await add(client, boss, listed["id"], [a["id"], b["id"]])
        assert (
            await client.delete(f"/v1/leads/{a['id']}", headers=boss.headers)
        ).status_code == 204
        assert await lead_count(client, boss, listed["id"]) == 1
        page = await _lists(client, boss)
        assert page["items"][0]["leadCount"] == 1
        assert await member_ids(owner, listed["id"]) == {a["id"], b["id"]}
        # In the trash, the lead cannot be put on a list nor taken off one.
        other = await new_list(client, boss, "other")
        assert (await add(client, boss, other["id"], [a["id"]])).status_code == 422
        assert (await remove(client, boss, listed["id"], [a["id"]])).status_code == 422
        # Adding its neighbour again counts the live ones only.
        assert (await add(client, boss, listed["id"], [b["id"]])).json() == {
            "added": 0, "leadCount": 1,
        }  # fmt: skip
        restored = await client.post(f"/v1/leads/{a['id']}/restore", headers=boss.headers)
        assert restored.status_code == 200, restored.text
        assert await lead_count(client, boss, listed["id"]) == 2

    async def test_a_merged_lead_leaves_the_count(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss)
        a, b = await raw_leads(owner, boss, 2)
        await add(client, boss, listed["id"], [a, b])
        await owner.execute(
            "UPDATE leads SET merged_into_id = $2::uuid WHERE id = $1::uuid",
            uuid.UUID(a),
            uuid.UUID(b),
        )
        assert await lead_count(client, boss, listed["id"]) == 1


class TestDeletion:
    async def test_deleting_a_list_keeps_its_leads_and_tells_their_timelines(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss, "مؤقتة")
        kept = await new_list(client, boss, "kept")
        a = await lead(client, boss, "أ")
        (b,) = await raw_leads(owner, boss, 1)
        await add(client, boss, listed["id"], [a["id"], b])
        await add(client, boss, kept["id"], [b])
        await client.delete(f"/v1/leads/{a['id']}", headers=boss.headers)

        assert (
            await client.delete(f"/v1/lists/{listed['id']}", headers=boss.headers)
        ).status_code == 204
        assert await member_ids(owner, listed["id"]) == set()
        assert await member_ids(owner, kept["id"]) == {b}
        assert (await client.get(f"/v1/leads/{b}", headers=boss.headers)).status_code == 200
        trashed = await client.get(f"/v1/leads/{a['id']}", headers=boss.headers)
        assert trashed.status_code == 200
        assert trashed.json()["deletedAt"] is not None
        entries = await owner.fetch(
            "SELECT lead_id, details FROM lead_activities WHERE type = 'UNLISTED'"
        )
        assert {str(e["lead_id"]) for e in entries} == {a["id"], b}
        assert [json.loads(e["details"]) for e in entries] == [
            {"listId": listed["id"], "listName": "مؤقتة", "reason": "list_deleted"}
        ] * 2


class TestRoles:
    async def test_sales_manage_their_own_lists_only(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        manager = await member(client, boss, "MANAGER")
        sales = await member(client, boss, "SALES")
        theirs = await new_list(client, manager, "manager's")
        mine = await new_list(client, sales, "mine")
        assert mine["createdBy"] == sales.user_id
        (a,) = await raw_leads(owner, boss, 1)

        assert (await add(client, sales, mine["id"], [a])).json()["added"] == 1
        assert (await remove(client, sales, mine["id"], [a])).json()["removed"] == 1
        renamed = await client.patch(
            f"/v1/lists/{mine['id']}", json={"name": "still mine"}, headers=sales.headers
        )
        assert renamed.status_code == 200

        refusals = [
            await client.patch(
                f"/v1/lists/{theirs['id']}", json={"name": "taken"}, headers=sales.headers
            ),
            await add(client, sales, theirs["id"], [a]),
            await remove(client, sales, theirs["id"], [a]),
            await client.delete(f"/v1/lists/{theirs['id']}", headers=sales.headers),
        ]
        for refused in refusals:
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "forbidden"
            assert refused.json()["permission"] == "lists:manage"
        # Reading is for everyone who reads leads.
        read = await client.get(f"/v1/lists/{theirs['id']}", headers=sales.headers)
        assert read.status_code == 200
        assert read.json()["name"] == "manager's"
        assert {x["id"] for x in (await _lists(client, sales))["items"]} == {
            theirs["id"], mine["id"],
        }  # fmt: skip
        assert await member_ids(owner, theirs["id"]) == set()

        # A manager changes anyone's list.
        took = await client.patch(
            f"/v1/lists/{mine['id']}", json={"name": "reviewed"}, headers=manager.headers
        )
        assert took.status_code == 200
        assert (await add(client, manager, mine["id"], [a])).status_code == 200
        assert (
            await client.delete(f"/v1/lists/{mine['id']}", headers=manager.headers)
        ).status_code == 204

    async def test_a_list_whose_creator_is_gone_is_a_managers(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        mine = await new_list(client, sales)
        await owner.execute("UPDATE lists SET created_by_id = NULL WHERE id = $1::uuid",
                            uuid.UUID(mine["id"]))  # fmt: skip
        refused = await client.patch(
            f"/v1/lists/{mine['id']}", json={"name": "x"}, headers=sales.headers
        )
        assert refused.status_code == 403
        assert (await client.get(f"/v1/lists/{mine['id']}", headers=boss.headers)).json()[
            "createdBy"
        ] is None

    def test_every_role_that_manages_lists_manages_its_own(self) -> None:
        # The routes require `lists:manage_own`; `lists:manage` is the wider permission.
        for permissions in ROLE_PERMISSIONS.values():
            if Permission.LISTS_MANAGE in permissions:
                assert Permission.LISTS_MANAGE_OWN in permissions


class TestSalesVisibility:
    async def test_a_sales_member_counts_only_the_leads_they_may_see(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        other_sales = await member(client, boss, "SALES")
        listed = await new_list(client, boss)
        (own,) = await raw_leads(owner, boss, 1, owner_id=sales.user_id)
        (unassigned,) = await raw_leads(owner, boss, 1)
        (others,) = await raw_leads(owner, boss, 1, owner_id=other_sales.user_id)
        (bosses,) = await raw_leads(owner, boss, 1, owner_id=boss.user_id)
        await add(client, boss, listed["id"], [own, unassigned, others, bosses])
        # While SALES see all leads, they count all of them.
        assert await lead_count(client, sales, listed["id"]) == 4

        await own_leads_only(client, boss)
        assert await lead_count(client, boss, listed["id"]) == 4
        assert await lead_count(client, sales, listed["id"]) == 2
        assert (await _lists(client, sales))["items"][0]["leadCount"] == 2
        assert await lead_count(client, other_sales, listed["id"]) == 2

        # Their own list: only leads they may see go on it (or come off it).
        mine = await new_list(client, sales, "mine")
        refused = await add(client, sales, mine["id"], [own, others])
        assert refused.status_code == 422
        assert refused.json()["leadIds"] == [others]
        assert (await add(client, sales, mine["id"], [own, unassigned])).json() == {
            "added": 2, "leadCount": 2,
        }  # fmt: skip
        # The boss puts someone else's lead on it: the SALES member does not count it.
        assert (await add(client, boss, mine["id"], [others])).json() == {
            "added": 1, "leadCount": 3,
        }  # fmt: skip
        assert await lead_count(client, sales, mine["id"]) == 2
        assert (await remove(client, sales, mine["id"], [others])).status_code == 422
        assert await member_ids(owner, mine["id"]) == {own, unassigned, others}


class TestOtherTenant:
    async def test_another_tenants_list_is_404_on_every_route(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss)
        dynamic = await new_list(client, boss, "dyn", kind="DYNAMIC", filter={})
        (a,) = await raw_leads(owner, boss, 1)
        await add(client, boss, listed["id"], [a])
        stranger = await signup(client, tenant_name="Elsewhere")
        (theirs,) = await raw_leads(owner, stranger, 1)
        for target in (listed, dynamic):
            path = f"/v1/lists/{target['id']}"
            answers = [
                await client.get(path, headers=stranger.headers),
                await client.patch(path, json={"name": "mine now"}, headers=stranger.headers),
                await client.get(f"{path}/leads", headers=stranger.headers),
                await add(client, stranger, target["id"], [theirs]),
                await remove(client, stranger, target["id"], [a]),
                await client.delete(path, headers=stranger.headers),
            ]
            for answer in answers:
                assert answer.status_code == 404, answer.text
                assert answer.json()["code"] == "not_found"
        assert (await _lists(client, stranger))["items"] == []
        assert await lead_count(client, boss, listed["id"]) == 1
        assert (await client.get(f"/v1/lists/{listed['id']}", headers=boss.headers)).json()[
            "name"
        ] == listed["name"]


class TestAudit:
    async def test_each_change_leaves_one_audit_row(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss, "audited")
        ids = await raw_leads(owner, boss, 3)
        await client.patch(
            f"/v1/lists/{listed['id']}",
            json={"name": "renamed", "description": "d"},
            headers=boss.headers,
        )
        await add(client, boss, listed["id"], ids)
        await add(client, boss, listed["id"], ids)  # nothing new: no row
        await remove(client, boss, listed["id"], ids[:2])
        await remove(client, boss, listed["id"], ids[:2])  # nothing to remove: no row
        await client.delete(f"/v1/lists/{listed['id']}", headers=boss.headers)
        rows = await _audit(owner, boss)
        assert [(r["event_type"], json.loads(r["details"])) for r in rows] == [
            ("list.created", {"kind": "STATIC", "name": "audited"}),
            ("list.updated", {"fields": ["name", "description"]}),
            ("list.leads_added", {"added": 3, "requested": 3}),
            ("list.leads_removed", {"removed": 2, "requested": 2}),
            ("list.deleted", {"kind": "STATIC", "name": "renamed", "members": 1}),
        ]
        assert {str(r["entity_id"]) for r in rows} == {listed["id"]}
        assert {str(r["user_id"]) for r in rows} == {boss.user_id}
        logs = await client.get(
            "/v1/audit-logs", params={"entityType": "list"}, headers=boss.headers
        )
        assert logs.status_code == 200
        assert len(logs.json()["items"]) == 5
