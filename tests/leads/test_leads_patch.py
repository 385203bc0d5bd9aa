"""PATCH /v1/leads/{id}: only what is sent changes, under optimistic concurrency (ETag and
If-Match), and every change leaves a timeline entry with its actor and from/to."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import create_lead, stored, timeline

FULL: dict[str, Any] = {
    "name": "Al Amal",
    "contactName": "Khalid",
    "category": "Restaurant",
    "phones": ["0501234567"],
    "emails": ["info@alamal.com.sa"],
    "website": "alamal.com.sa",
    "socialProfiles": {"instagram": "@alamal"},
    "address": "King Fahd Rd",
    "city": "Riyadh",
    "country": "SA",
    "location": {"lat": 24.7, "lng": 46.6},
    "rating": 4.5,
    "reviewsCount": 12,
    "externalIds": {"googleMaps": "g1"},
    "tags": ["vip"],
    "customFields": {"branch": "Olaya"},
}


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


async def patch(
    client: httpx.AsyncClient,
    account: Account,
    lead_id: str,
    body: dict[str, Any],
    if_match: str | None = None,
) -> httpx.Response:
    headers = {**account.headers, **({"if-match": if_match} if if_match is not None else {})}
    return await client.patch(f"/v1/leads/{lead_id}", json=body, headers=headers)


class TestOnlyWhatIsSentChanges:
    async def test_absent_fields_stay(self, client: httpx.AsyncClient, boss: Account) -> None:
        lead = await create_lead(client, boss, **FULL)
        response = await patch(client, boss, lead["id"], {"category": "Cafe"})
        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["category"] == "Cafe"
        untouched = {k: v for k, v in lead.items()
                     if k not in {"category", "version", "updatedAt", "lastActivityAt",
                                  "possibleDuplicates"}}  # fmt: skip
        assert {k: changed[k] for k in untouched} == untouched
        assert changed["version"] == 2

    @pytest.mark.parametrize(
        ("field", "cleared"),
        [
            ("contactName", None),
            ("category", None),
            ("website", None),
            ("address", None),
            ("city", None),
            ("country", None),
            ("location", None),
            ("rating", None),
            ("reviewsCount", None),
            ("ownerId", None),
            ("phones", []),
            ("emails", []),
            ("tags", []),
            ("socialProfiles", {}),
            ("externalIds", {}),
            ("customFields", {}),
        ],
    )
    async def test_null_clears_an_optional_field(
        self, client: httpx.AsyncClient, boss: Account, field: str, cleared: Any
    ) -> None:
        lead = await create_lead(client, boss, **FULL, ownerId=boss.user_id)
        response = await patch(client, boss, lead["id"], {field: None})
        assert response.status_code == 200, response.text
        assert response.json()[field] == cleared
        if field == "website":
            assert response.json()["domain"] is None
        assert response.json()["version"] == 2

    async def test_a_blank_string_clears_too(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, **FULL)
        response = await patch(client, boss, lead["id"], {"contactName": "  ", "city": ""})
        assert (response.json()["contactName"], response.json()["city"]) == (None, None)

    @pytest.mark.parametrize(
        "body",
        [{"name": None}, {"name": ""}, {"name": "   "}, {"status": None},
         {"doNotContact": None}, {"confidence": None}],
    )  # fmt: skip
    async def test_what_cannot_be_cleared_is_422(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        body: dict[str, Any],
    ) -> None:
        lead = await create_lead(client, boss, **FULL)
        before = await stored(owner, lead["id"])
        response = await patch(client, boss, lead["id"], body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", next(iter(body))]
        assert await stored(owner, lead["id"]) == before

    async def test_clearing_the_name_says_why(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        response = await patch(client, boss, lead["id"], {"name": None})
        assert "cannot be cleared" in response.json()["errors"][0]["msg"]

    async def test_an_unknown_field_is_422_and_nothing_changes(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss)
        before = await stored(owner, lead["id"])
        for body in ({"name": "New", "colour": "red"}, {"version": 9}, {"deletedAt": None}):
            response = await patch(client, boss, lead["id"], body)
            assert response.status_code == 422
        assert await stored(owner, lead["id"]) == before

    async def test_renaming_rewrites_the_derived_columns(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, name="Old Name", phones=["0501234567"])
        await patch(client, boss, lead["id"], {"name": "مطعم الأمل ذ.م.م"})
        row = await stored(owner, lead["id"])
        assert row["name_key"] == "مطعم الامل"
        assert row["name_sort"] == "مطعم الامل ذمم"
        assert row["search_text"].startswith("مطعم الامل ذمم")
        assert "old name" not in row["search_text"]
        assert "966501234567" in row["search_text"]
        await patch(client, boss, lead["id"], {"phones": ["0551234567"], "emails": ["a@b.com"]})
        row = await stored(owner, lead["id"])
        assert "966551234567" in row["search_text"]
        assert "966501234567" not in row["search_text"]
        assert "a@b.com" in row["search_text"]

    async def test_edited_fields_accumulate(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, city="Riyadh")
        await patch(client, boss, lead["id"], {"contactName": "Khalid", "rating": 4})
        await patch(client, boss, lead["id"], {"tags": ["x"]})
        row = await stored(owner, lead["id"])
        assert row["edited_fields"] == ["city", "contact_name", "name", "rating", "tags"]


class TestVersionAndETag:
    async def test_etag_on_post_get_patch(self, client: httpx.AsyncClient, boss: Account) -> None:
        created = await client.post("/v1/leads", json={"name": "x"}, headers=boss.headers)
        lead_id = created.json()["id"]
        assert created.headers["etag"] == '"1"'
        assert (await client.get(f"/v1/leads/{lead_id}", headers=boss.headers)).headers[
            "etag"
        ] == '"1"'
        changed = await patch(client, boss, lead_id, {"name": "y"})
        assert changed.headers["etag"] == '"2"'
        assert changed.json()["version"] == 2

    async def test_a_current_if_match_passes(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        for if_match in ('"1"', 'W/"2"', "3", " * ", "*"):
            response = await patch(client, boss, lead["id"], {"name": f"v{if_match}"}, if_match)
            assert response.status_code == 200, (if_match, response.text)
        assert response.json()["version"] == 6

    async def test_a_stale_if_match_is_412_and_nothing_changes(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss)
        await patch(client, boss, lead["id"], {"name": "second"})
        before = await stored(owner, lead["id"])
        response = await patch(client, boss, lead["id"], {"name": "third"}, '"1"')
        assert response.status_code == 412
        problem = response.json()
        assert problem["code"] == "version_conflict"
        assert problem["version"] == 2
        assert await stored(owner, lead["id"]) == before

    @pytest.mark.parametrize("if_match", ["garbage", '""', '"1", "2"', "W/", "1.0", '"-1"'])
    async def test_an_if_match_that_is_no_etag_of_ours_is_412(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, if_match: str
    ) -> None:
        # RFC 9110: If-Match is false unless it names the current representation; a value we
        # never sent names none, so it is refused like a stale one (not a 400).
        lead = await create_lead(client, boss)
        before = await stored(owner, lead["id"])
        response = await patch(client, boss, lead["id"], {"name": "other"}, if_match)
        assert response.status_code == 412, response.text
        assert response.json()["code"] == "version_conflict"
        assert await stored(owner, lead["id"]) == before

    async def test_without_if_match_the_last_writer_wins(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        await patch(client, boss, lead["id"], {"name": "one"})
        response = await patch(client, boss, lead["id"], {"name": "two"})
        assert response.status_code == 200
        assert response.json()["version"] == 3

    async def test_two_writers_with_one_etag_one_wins(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        responses = await asyncio.gather(
            *(patch(client, boss, lead["id"], {"name": f"w{i}"}, '"1"') for i in range(4))
        )
        assert sorted(r.status_code for r in responses) == [200, 412, 412, 412]

    async def test_a_no_op_patch_keeps_the_version(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, **FULL)
        before = await stored(owner, lead["id"])
        same = {
            **FULL,
            "name": "  Al Amal ",
            "phones": ["+966 50 123 4567"],
            "emails": ["INFO@alamal.com.sa"],
            "website": "https://alamal.com.sa",
            "country": "sa",
            "tags": ["vip", "VIP"],
            "status": "NEW",
        }
        for body in ({}, {"name": "Al Amal"}, same):
            response = await patch(client, boss, lead["id"], body, '"1"')
            assert response.status_code == 200, response.text
            assert response.json()["version"] == 1
            assert response.headers["etag"] == '"1"'
        assert await stored(owner, lead["id"]) == before
        assert [a["type"] for a in await timeline(client, boss, lead["id"])] == ["CREATED"]

    async def test_patching_a_lead_in_the_trash_is_404_whatever_the_if_match(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        await client.delete(f"/v1/leads/{lead['id']}", headers=boss.headers)
        for if_match in (None, '"1"', '"2"'):
            response = await patch(client, boss, lead["id"], {"name": "x"}, if_match)
            assert response.status_code == 404, (if_match, response.text)


class TestTimeline:
    async def test_a_field_edit_lists_each_field_from_and_to(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, **FULL)
        await patch(
            client, boss, lead["id"],
            {"contactName": "Sara", "rating": None, "location": {"lat": 21.5, "lng": 39.2},
             "website": "https://shop.example.com", "doNotContact": True},
        )  # fmt: skip
        entries = await timeline(client, boss, lead["id"])
        assert [e["type"] for e in entries] == ["FIELD_CHANGED", "CREATED"]
        change = entries[0]
        assert change["actorUserId"] == boss.user_id
        assert change["details"]["fields"] == {
            "contactName": {"from": "Khalid", "to": "Sara"},
            "rating": {"from": 4.5, "to": None},
            "location": {"from": {"lat": 24.7, "lng": 46.6}, "to": {"lat": 21.5, "lng": 39.2}},
            "website": {"from": "https://alamal.com.sa/", "to": "https://shop.example.com/"},
            "domain": {"from": "alamal.com.sa", "to": "example.com"},
            "doNotContact": {"from": False, "to": True},
        }

    async def test_status_and_owner_have_entries_of_their_own(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        manager = await member(client, boss, "MANAGER")
        lead = await create_lead(client, boss)
        await patch(client, manager, lead["id"], {"status": "QUALIFIED", "ownerId": boss.user_id,
                                                  "category": "Cafe"})  # fmt: skip
        entries = await timeline(client, boss, lead["id"])
        by_type = {e["type"]: e for e in entries}
        assert set(by_type) == {"CREATED", "STATUS_CHANGED", "OWNER_CHANGED", "FIELD_CHANGED"}
        assert by_type["STATUS_CHANGED"]["details"] == {"from": "NEW", "to": "QUALIFIED"}
        assert by_type["OWNER_CHANGED"]["details"] == {"from": None, "to": boss.user_id}
        assert by_type["FIELD_CHANGED"]["details"] == {
            "fields": {"category": {"from": None, "to": "Cafe"}}
        }
        for entry in entries:
            if entry["type"] != "CREATED":
                assert entry["actorUserId"] == manager.user_id
        await patch(client, manager, lead["id"], {"ownerId": manager.user_id})
        latest = (await timeline(client, boss, lead["id"]))[0]
        assert latest["type"] == "OWNER_CHANGED"
        assert latest["details"] == {"from": boss.user_id, "to": manager.user_id}

    async def test_pages_newest_first(self, client: httpx.AsyncClient, boss: Account) -> None:
        lead = await create_lead(client, boss)
        for i in range(5):
            await client.post(
                f"/v1/leads/{lead['id']}/notes", json={"body": f"note {i}"}, headers=boss.headers
            )
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await client.get(
                f"/v1/leads/{lead['id']}/activities", params=params, headers=boss.headers
            )
            assert page.status_code == 200
            seen += [a["body"] or a["type"] for a in page.json()["items"]]
            cursor = page.json()["nextCursor"]
            if cursor is None:
                break
        assert seen == ["note 4", "note 3", "note 2", "note 1", "note 0", "CREATED"]

    async def test_a_bad_cursor_is_422(self, client: httpx.AsyncClient, boss: Account) -> None:
        lead = await create_lead(client, boss)
        response = await client.get(
            f"/v1/leads/{lead['id']}/activities", params={"cursor": "zzz"}, headers=boss.headers
        )
        assert response.status_code == 422
