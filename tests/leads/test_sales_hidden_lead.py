"""A SALES member of a workspace with `salesSeeAllLeads: false` tries every route on a lead
another rep owns: reading it, its timeline, evidence and duplicates, changing it, putting it on
a list, merging it, finding it by its phone, counting it. Each is a 404 (or 403 for what SALES
may not do at all, or 422 `unknown_leads` for list members), never the lead, and nothing
changes. Keys of the hidden lead still conflict, named without their name."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import create_lead, stored


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "ENTERPRISE")
    return account


async def test_every_route_hides_another_reps_lead(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    rep, other_rep = await member(client, boss, "SALES"), await member(client, boss, "SALES")
    settings = await client.patch(
        "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}}, headers=boss.headers
    )
    assert settings.status_code == 200, settings.text
    hidden = await create_lead(
        client,
        boss,
        name="مطعم السر",
        ownerId=other_rep.user_id,
        city="Riyadh",
        phones=["+966 55 123 4567"],
        emails=["secret@sirr.com.sa"],
        website="https://sirr.com.sa",
    )
    x = hidden["id"]
    before = await stored(owner, x)
    mine = await create_lead(client, rep, name="مطعم السر", city="riyadh", ownerId=rep.user_id)
    assert mine["possibleDuplicates"] == []  # the look-alike is not named
    free = await create_lead(client, boss, name="Unassigned")
    rep_list = (
        await client.post("/v1/lists", json={"name": "mine", "kind": "STATIC"}, headers=rep.headers)
    ).json()
    boss_list = (
        await client.post("/v1/lists", json={"name": "all", "kind": "STATIC"}, headers=boss.headers)
    ).json()
    added = await client.post(
        f"/v1/lists/{boss_list['id']}/leads",
        json={"leadIds": [x, free["id"]]},
        headers=boss.headers,
    )
    assert added.status_code == 200, added.text
    dynamic = await client.post(
        "/v1/lists",
        json={"name": "dyn", "kind": "DYNAMIC", "filter": {"city": "Riyadh"}},
        headers=rep.headers,
    )
    assert dynamic.status_code == 201, dynamic.text

    h = rep.headers
    # Each route: method, path, body, and the status and code it answers.
    routes = [
        ("GET", f"/v1/leads/{x}", None, 404, "not_found"),
        ("PATCH", f"/v1/leads/{x}", {"category": "x"}, 404, "not_found"),
        ("PATCH", f"/v1/leads/{x}", {"ownerId": rep.user_id}, 404, "not_found"),
        ("GET", f"/v1/leads/{x}/activities", None, 404, "not_found"),
        ("POST", f"/v1/leads/{x}/notes", {"body": "hello"}, 404, "not_found"),
        ("GET", f"/v1/leads/{x}/evidence", None, 404, "not_found"),
        ("GET", f"/v1/leads/{x}/duplicates", None, 404, "not_found"),
        ("DELETE", f"/v1/leads/{x}", None, 403, "forbidden"),
        ("POST", f"/v1/leads/{x}/restore", None, 403, "forbidden"),
        ("POST", f"/v1/leads/{x}/merge", {"leadIds": [free["id"]]}, 403, "forbidden"),
        ("POST", f"/v1/leads/{free['id']}/merge", {"leadIds": [x]}, 403, "forbidden"),
        ("POST", f"/v1/lists/{rep_list['id']}/leads", {"leadIds": [x]}, 422, "unknown_leads"),
        ("DELETE", f"/v1/lists/{rep_list['id']}/leads", {"leadIds": [x]}, 422, "unknown_leads"),
        ("DELETE", f"/v1/lists/{boss_list['id']}/leads", {"leadIds": [x]}, 403, "forbidden"),
    ]
    wrong: list[tuple[object, ...]] = []
    for method, path, body, status, code in routes:
        response = await client.request(method, path, json=body, headers=h)
        if response.status_code != status or response.json()["code"] != code:
            wrong.append((method, path, body, response.status_code, response.text[:200]))
        if code == "unknown_leads" and response.json().get("leadIds") != [x]:
            wrong.append(("leadIds", path, response.text[:200]))
    assert wrong == []

    # Searching, counting and lists never show it, however it is asked for.
    for params in (
        {"q": "0551234567"},
        {"q": "+966 55 123 4567"},
        {"q": "secret@sirr"},
        {"q": "sirr.com.sa"},
        {"q": "مطعم السر"},
        {"ownerId": other_rep.user_id},
        {"listId": boss_list["id"]},
        {"listId": dynamic.json()["id"]},
        {"city": "Riyadh"},
    ):
        page = await client.get("/v1/leads", params=params, headers=h)
        assert page.status_code == 200, page.text
        assert x not in [lead["id"] for lead in page.json()["items"]], params
    counted = await client.get("/v1/leads/count", params={"q": "0551234567"}, headers=h)
    assert counted.json() == {"count": 0}
    listed = await client.get(f"/v1/lists/{boss_list['id']}/leads", headers=h)
    assert [lead["id"] for lead in listed.json()["items"]] == [free["id"]]
    lists = await client.get("/v1/lists", headers=h)
    counts = {item["id"]: item["leadCount"] for item in lists.json()["items"]}
    assert counts[boss_list["id"]] == 1
    duplicates = await client.get(f"/v1/leads/{mine['id']}/duplicates", headers=h)
    assert duplicates.json()["items"] == []

    # Its keys still conflict, without its name; nothing of the refused write is stored.
    for steal in (
        {"name": "steal", "phones": ["٠٥٥ ١٢٣ ٤٥٦٧"]},
        {"name": "steal", "emails": ["SECRET@SIRR.COM.SA"]},
    ):
        taken = await client.post("/v1/leads", json=steal, headers=h)
        assert taken.status_code == 409, taken.text
        assert taken.json()["duplicates"] == [
            {
                "id": x,
                "name": None,
                "reasons": taken.json()["duplicates"][0]["reasons"],
                "deleted": False,
            }
        ]
    patched = await client.patch(
        f"/v1/leads/{free['id']}", json={"phones": ["0551234567"]}, headers=h
    )
    assert patched.status_code == 409
    assert (await stored(owner, free["id"]))["phones"] == []
    assert await stored(owner, x) == before
