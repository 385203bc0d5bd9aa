"""A list's leads (GET /v1/lists/{id}/leads) and DYNAMIC counts: the lead search with the list
as `listId`, the request's own filters on top; live leads the caller may see, nothing else."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, member, on_plan, signup
from tests.lists.support import add, lead, lead_count, new_list, own_leads_only, raw_leads


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="List Leads Co")
    await on_plan(owner, account, "PRO")
    return account


async def _leads(
    client: httpx.AsyncClient, account: Account, list_id: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/lists/{list_id}/leads", params=params, headers=account.headers
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _ids(
    client: httpx.AsyncClient, account: Account, list_id: str, **params: Any
) -> set[str]:
    return {x["id"] for x in (await _leads(client, account, list_id, **params))["items"]}


class TestStatic:
    async def test_the_members_with_the_querys_own_filters(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        listed = await new_list(client, boss)
        a = await lead(client, boss, "مطعم الرياض", city="Riyadh")
        b = await lead(client, boss, "مقهى جدة", city="Jeddah")
        outside = await lead(client, boss, "خارج القائمة", city="Riyadh")
        await add(client, boss, listed["id"], [a["id"], b["id"]])
        page = await _leads(client, boss, listed["id"])
        assert {x["id"] for x in page["items"]} == {a["id"], b["id"]}
        assert page["nextCursor"] is None
        assert page["items"][0]["name"] in {"مطعم الرياض", "مقهى جدة"}
        assert await _ids(client, boss, listed["id"], city="Riyadh") == {a["id"]}
        assert outside["id"] not in await _ids(client, boss, listed["id"], q="خارج")
        by_name = await _leads(client, boss, listed["id"], sort="name")
        assert [x["id"] for x in by_name["items"]] == [a["id"], b["id"]]

    async def test_pages_through_a_long_list(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        listed = await new_list(client, boss)
        ids = await raw_leads(owner, boss, 7)
        await add(client, boss, listed["id"], ids)
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            page = await _leads(client, boss, listed["id"], **params)
            seen += [x["id"] for x in page["items"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids)

    async def test_a_trashed_member_leaves_the_view_and_comes_back(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        listed = await new_list(client, boss)
        a, b = await lead(client, boss, "أ"), await lead(client, boss, "ب")
        await add(client, boss, listed["id"], [a["id"], b["id"]])
        await client.delete(f"/v1/leads/{a['id']}", headers=boss.headers)
        assert await _ids(client, boss, listed["id"]) == {b["id"]}
        await client.post(f"/v1/leads/{a['id']}/restore", headers=boss.headers)
        assert await _ids(client, boss, listed["id"]) == {a["id"], b["id"]}

    @pytest.mark.parametrize(
        "params",
        [
            {"listId": "00000000-0000-4000-8000-000000000000"},
            {"deleted": "true"},
            {"bogus": "1"},
            {"limit": "0"},
            {"limit": "201"},
            {"sort": "random"},
            {"status": "OPEN"},
            {"cursor": "not-a-cursor"},
        ],
    )
    async def test_a_bad_query_is_422(
        self, client: httpx.AsyncClient, boss: Account, params: dict[str, str]
    ) -> None:
        listed = await new_list(client, boss)
        response = await client.get(
            f"/v1/lists/{listed['id']}/leads", params=params, headers=boss.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"

    async def test_an_unknown_list_is_404(self, client: httpx.AsyncClient, boss: Account) -> None:
        response = await client.get(
            "/v1/lists/00000000-0000-4000-8000-000000000000/leads", headers=boss.headers
        )
        assert response.status_code == 404


class TestDynamic:
    async def test_new_leads_show_at_once_in_the_view_and_the_count(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        riyadh = await new_list(
            client, boss, "الرياض", kind="DYNAMIC", filter={"city": "Riyadh", "status": ["NEW"]}
        )
        assert riyadh["leadCount"] == 0
        a = await lead(client, boss, "مطعم", city="Riyadh")
        await lead(client, boss, "مقهى", city="Jeddah")
        assert await lead_count(client, boss, riyadh["id"]) == 1
        assert await _ids(client, boss, riyadh["id"]) == {a["id"]}
        b = await lead(client, boss, "مخبز", city="Riyadh")
        assert await lead_count(client, boss, riyadh["id"]) == 2
        listed = await client.get("/v1/lists", headers=boss.headers)
        assert listed.json()["items"][0]["leadCount"] == 2
        # The request's filters narrow the saved one, never widen it.
        assert await _ids(client, boss, riyadh["id"], q="مخبز") == {b["id"]}
        assert await _ids(client, boss, riyadh["id"], city="Jeddah") == set()
        # A lead that stops matching leaves it; one in the trash too.
        moved = await client.patch(
            f"/v1/leads/{a['id']}", json={"status": "CONTACTED"}, headers=boss.headers
        )
        assert moved.status_code == 200, moved.text
        assert await _ids(client, boss, riyadh["id"]) == {b["id"]}
        await client.delete(f"/v1/leads/{b['id']}", headers=boss.headers)
        assert await lead_count(client, boss, riyadh["id"]) == 0
        assert await _ids(client, boss, riyadh["id"]) == set()

    async def test_a_new_filter_is_evaluated_at_once(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        dynamic = await new_list(client, boss, kind="DYNAMIC", filter={"city": "Riyadh"})
        await lead(client, boss, "مقهى", city="Jeddah")
        patched = await client.patch(
            f"/v1/lists/{dynamic['id']}", json={"filter": {"city": "Jeddah"}}, headers=boss.headers
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["leadCount"] == 1
        everything = await client.patch(
            f"/v1/lists/{dynamic['id']}", json={"filter": {}}, headers=boss.headers
        )
        assert everything.json()["filter"] == {}
        assert everything.json()["leadCount"] == 1


class TestSalesVisibility:
    async def test_a_sales_member_sees_only_their_leads_on_any_list(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        sales = await member(client, boss, "SALES")
        await own_leads_only(client, boss)
        static = await new_list(client, boss)
        dynamic = await new_list(client, boss, "all", kind="DYNAMIC", filter={})
        (own,) = await raw_leads(owner, boss, 1, owner_id=sales.user_id)
        (unassigned,) = await raw_leads(owner, boss, 1)
        (bosses,) = await raw_leads(owner, boss, 1, owner_id=boss.user_id)
        await add(client, boss, static["id"], [own, unassigned, bosses])
        for listed in (static, dynamic):
            assert await _ids(client, sales, listed["id"]) == {own, unassigned}
            assert await lead_count(client, sales, listed["id"]) == 2
            assert await _ids(client, boss, listed["id"]) == {own, unassigned, bosses}
            assert await lead_count(client, boss, listed["id"]) == 3
