"""A lead's provenance: the evidence items linked to it, newest first, page by page."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories.accounts import member, on_plan, signup
from tests.merges.helpers import link_evidence, new_evidence, new_lead


async def test_every_linked_item_newest_first_with_its_fields(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    boss = await signup(client)
    lead = await new_lead(client, boss, name="Al Amal")
    other = await new_lead(client, boss, name="Other")
    days = [f"2026-03-{d:02d}T08:00:00+00:00" for d in range(1, 6)]
    items = [await new_evidence(owner, boss, title=f"day {i + 1}", collected_at=d)
             for i, d in enumerate(days)]  # fmt: skip
    for i, evidence_id in enumerate(items):
        await link_evidence(owner, boss, lead["id"], evidence_id, ["phones"] if i % 2 else [])
    await link_evidence(owner, boss, other["id"], items[0], ["name"])

    first = await client.get(
        f"/v1/leads/{lead['id']}/evidence", params={"limit": 3}, headers=boss.headers
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["title"] for e in page["items"]] == ["day 5", "day 4", "day 3"]
    newest = page["items"][0]
    assert set(newest) == {
        "id", "jobId", "type", "title", "source", "url", "snippet", "confidence", "rawData",
        "collectedAt", "fields", "linkedAt",
    }  # fmt: skip
    assert newest["type"] == "GOOGLE_MAPS_LISTING"
    assert newest["rawData"] == {"rating": 4.5}
    assert page["items"][1]["fields"] == ["phones"]
    assert page["nextCursor"]
    rest = await client.get(
        f"/v1/leads/{lead['id']}/evidence",
        params={"limit": 3, "cursor": page["nextCursor"]},
        headers=boss.headers,
    )
    assert [e["title"] for e in rest.json()["items"]] == ["day 2", "day 1"]
    assert rest.json()["nextCursor"] is None

    bad = await client.get(
        f"/v1/leads/{lead['id']}/evidence", params={"cursor": "nope"}, headers=boss.headers
    )
    assert bad.status_code == 422
    empty = await client.get(f"/v1/leads/{other['id']}/evidence", headers=boss.headers)
    assert [e["fields"] for e in empty.json()["items"]] == [["name"]]


async def test_other_tenants_and_hidden_leads_are_404(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    boss = await signup(client)
    await on_plan(owner, boss, "PRO")
    stranger = await signup(client, tenant_name="Elsewhere")
    theirs = await new_lead(client, stranger, name="Theirs")
    response = await client.get(f"/v1/leads/{theirs['id']}/evidence", headers=boss.headers)
    assert response.status_code == 404

    sales = await member(client, boss, "SALES")
    kept = await new_lead(client, boss, name="Kept", ownerId=boss.user_id)
    await client.patch(
        "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}}, headers=boss.headers
    )
    hidden = await client.get(f"/v1/leads/{kept['id']}/evidence", headers=sales.headers)
    assert hidden.status_code == 404
    seen = await client.get(f"/v1/leads/{kept['id']}/evidence", headers=boss.headers)
    assert seen.status_code == 200
