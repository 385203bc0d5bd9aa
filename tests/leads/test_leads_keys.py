"""Identity keys: a phone, an e-mail address or an external id belongs to one lead of a tenant.

A write that would give a key to a second lead is a 409 `lead_duplicate` naming the holder and
why, and stores nothing (rows counted as the database owner, past RLS).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import create_lead, key_count, lead_count, stored


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


def duplicates(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "lead_duplicate"
    refs: list[dict[str, Any]] = problem["duplicates"]
    return refs


HELD = {
    "name": "Al Amal",
    "phones": ["0501234567"],
    "emails": ["info@alamal.com.sa"],
    "externalIds": {"googleMaps": "ChIJ-amal"},
}


class TestCreateConflicts:
    @pytest.mark.parametrize(
        ("second", "reason"),
        [
            ({"phones": ["0501234567"]}, "phone:+966501234567"),
            ({"phones": ["+966 50 123 4567"]}, "phone:+966501234567"),
            ({"phones": ["٠٠٩٦٦-٥٠-١٢٣-٤٥٦٧"]}, "phone:+966501234567"),
            ({"phones": ["0501234567"], "country": "AE"}, None),  # +971…: another number
            ({"emails": ["info@alamal.com.sa"]}, "email:info@alamal.com.sa"),
            ({"emails": ["  INFO@AlAmal.com.sa "]}, "email:info@alamal.com.sa"),
            ({"externalIds": {"googleMaps": "ChIJ-amal"}}, "external:googleMaps:ChIJ-amal"),
            ({"externalIds": {"googleMaps": " ChIJ-amal "}}, "external:googleMaps:ChIJ-amal"),
            ({"externalIds": {"googleMaps": "chij-amal"}}, None),  # ids are case-sensitive
            ({"externalIds": {"yelp": "ChIJ-amal"}}, None),  # another system
        ],
    )
    async def test_a_key_already_held_is_409_and_nothing_is_stored(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        second: dict[str, Any],
        reason: str | None,
    ) -> None:
        first = await create_lead(client, boss, **HELD)
        leads, keys = await lead_count(owner, boss), await key_count(owner, boss)
        response = await client.post(
            "/v1/leads", json={"name": "Someone else", **second}, headers=boss.headers
        )
        if reason is None:
            assert response.status_code == 201, response.text
            return
        assert duplicates(response) == [
            {"id": first["id"], "name": "Al Amal", "reasons": [reason], "deleted": False}
        ]
        assert reason in response.json()["detail"]
        assert (await lead_count(owner, boss), await key_count(owner, boss)) == (leads, keys)
        activities = await owner.fetchval(
            "SELECT count(*) FROM lead_activities WHERE tenant_id = $1::uuid", boss.tenant_id
        )
        assert activities == 1  # the first lead's CREATED only

    async def test_every_held_key_is_named_grouped_by_lead(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        one = await create_lead(client, boss, name="One", phones=["0501234567"])
        two = await create_lead(
            client, boss, name="Two", emails=["two@x.com"], externalIds={"googleMaps": "g2"}
        )
        response = await client.post(
            "/v1/leads",
            json={
                "name": "Three",
                "phones": ["0501234567", "0509999999"],
                "emails": ["two@x.com", "free@x.com"],
                "externalIds": {"googleMaps": "g2"},
            },
            headers=boss.headers,
        )
        refs = {ref["id"]: ref for ref in duplicates(response)}
        assert refs[one["id"]]["reasons"] == ["phone:+966501234567"]
        assert sorted(refs[two["id"]]["reasons"]) == ["email:two@x.com", "external:googleMaps:g2"]
        # Nothing of Three was kept: its free keys are free.
        await create_lead(client, boss, name="Four", phones=["0509999999"], emails=["free@x.com"])

    async def test_a_key_held_by_a_lead_in_the_trash_says_so(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        first = await create_lead(client, boss, **HELD)
        assert (
            await client.delete(f"/v1/leads/{first['id']}", headers=boss.headers)
        ).status_code == 204
        response = await client.post(
            "/v1/leads", json={"name": "Again", "phones": ["0501234567"]}, headers=boss.headers
        )
        assert duplicates(response) == [
            {"id": first["id"], "name": "Al Amal", "reasons": ["phone:+966501234567"],
             "deleted": True}
        ]  # fmt: skip
        assert await lead_count(owner, boss) == 1

    async def test_keys_of_another_tenant_do_not_conflict(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        await create_lead(client, boss, **HELD)
        stranger = await signup(client)
        theirs = await create_lead(client, stranger, **HELD)
        assert theirs["phones"] == ["+966501234567"]

    async def test_two_racing_creates_of_one_phone_make_one_lead(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        bodies = [{"name": f"Racer {i}", "phones": ["0501234567"]} for i in range(6)]
        responses = await asyncio.gather(
            *(client.post("/v1/leads", json=b, headers=boss.headers) for b in bodies)
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
        assert await lead_count(owner, boss) == 1
        assert await key_count(owner, boss) == 1


class TestPatchConflicts:
    async def test_adding_a_key_another_lead_holds_is_409_and_changes_nothing(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        holder = await create_lead(client, boss, **HELD)
        other = await create_lead(client, boss, name="Other", phones=["0509999999"])
        before = await stored(owner, other["id"])
        keys_before = await owner.fetch(
            "SELECT kind::text, value, lead_id FROM lead_keys ORDER BY kind, value"
        )
        for change in (
            {"phones": ["0509999999", "+966501234567"]},
            {"emails": ["INFO@alamal.com.sa"], "name": "Renamed too"},
            {"externalIds": {"googleMaps": "ChIJ-amal"}},
            {"phones": [], "emails": ["info@alamal.com.sa"]},  # releasing its own does not help
        ):
            response = await client.patch(
                f"/v1/leads/{other['id']}", json=change, headers=boss.headers
            )
            refs = duplicates(response)
            assert [r["id"] for r in refs] == [holder["id"]]
            assert await stored(owner, other["id"]) == before
            assert (
                await owner.fetch(
                    "SELECT kind::text, value, lead_id FROM lead_keys ORDER BY kind, value"
                )
                == keys_before
            )

    async def test_removing_a_phone_frees_its_key(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        first = await create_lead(client, boss, **HELD)
        response = await client.patch(
            f"/v1/leads/{first['id']}",
            json={"phones": [], "emails": [], "externalIds": {}},
            headers=boss.headers,
        )
        assert response.status_code == 200
        second = await create_lead(client, boss, name="Taker", **{k: v for k, v in HELD.items()
                                                                   if k != "name"})  # fmt: skip
        assert second["phones"] == ["+966501234567"]
        # And the first cannot take them back.
        back = await client.patch(
            f"/v1/leads/{first['id']}", json={"phones": ["0501234567"]}, headers=boss.headers
        )
        assert [r["id"] for r in duplicates(back)] == [second["id"]]

    async def test_a_lead_keeps_its_own_keys_when_they_are_retyped(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        first = await create_lead(client, boss, **HELD)
        response = await client.patch(
            f"/v1/leads/{first['id']}",
            json={"phones": ["+966 50 123 4567", "0551234567"], "emails": ["Info@AlAmal.com.sa"]},
            headers=boss.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["phones"] == ["+966501234567", "+966551234567"]

    async def test_a_phone_moves_between_two_numbers_of_one_lead(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, phones=["0501234567", "0551234567"])
        response = await client.patch(
            f"/v1/leads/{lead['id']}", json={"phones": ["0551234567"]}, headers=boss.headers
        )
        assert response.json()["phones"] == ["+966551234567"]
        values = await owner.fetch(
            "SELECT value FROM lead_keys WHERE lead_id = $1::uuid", lead["id"]
        )
        assert [v["value"] for v in values] == ["+966551234567"]


class TestWhatSalesMayNotSee:
    async def test_a_key_of_a_hidden_lead_still_conflicts_without_naming_it(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        await client.patch(
            "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
            headers=boss.headers,
        )  # fmt: skip
        hidden = await create_lead(client, boss, name="Boss's own", ownerId=boss.user_id, **{
            k: v for k, v in HELD.items() if k != "name"})  # fmt: skip
        response = await client.post(
            "/v1/leads", json={"name": "Mine", "phones": ["0501234567"]}, headers=sales.headers
        )
        assert duplicates(response) == [
            {"id": hidden["id"], "name": None, "reasons": ["phone:+966501234567"],
             "deleted": False}
        ]  # fmt: skip
        assert "Boss's own" not in response.text
        assert await lead_count(owner, boss) == 1
