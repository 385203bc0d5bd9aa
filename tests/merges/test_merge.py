"""Merging leads and undoing it, through the API; rows compared as the database owner sees them."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.leads.events import LeadChange, LeadChanged
from tests.factories.accounts import Account, member, on_plan, signup
from tests.merges.helpers import (
    add_to_list,
    link_evidence,
    merge,
    new_evidence,
    new_lead,
    new_list,
    rows,
    undo,
)

A_PHONE, B_PHONE, C_PHONE, NEW_PHONE = (
    "+966501111111",
    "+966502222222",
    "+966503333333",
    "+966504444444",
)


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="Merges")
    await on_plan(owner, account, "PRO")
    return account


async def three_leads(client: httpx.AsyncClient, boss: Account) -> tuple[str, str, str]:
    """B (oldest), then the survivor A, then C; overlapping and distinct fields."""
    b = await new_lead(
        client,
        boss,
        name="Al-Amal",
        phones=[B_PHONE],
        emails=["b@alamal.com"],
        tags=["vip", "Lunch"],
        contactName="Khalid",
        website="https://alamal.com/",
        socialProfiles={"instagram": "alamal_b", "x": "alamal_x"},
        customFields={"tier": "silver", "source": "fair"},
        externalIds={"googleMaps": "ChIJ-B"},
        location={"lat": 24.7, "lng": 46.6},
        rating=4.2,
        city="Jeddah",
    )
    a = await new_lead(
        client,
        boss,
        name="Al Amal Restaurant",
        phones=[A_PHONE],
        tags=["VIP"],
        category="Restaurant",
        city="Riyadh",
        socialProfiles={"instagram": "alamal"},
        customFields={"tier": "gold"},
    )
    c = await new_lead(
        client,
        boss,
        name="Amal",
        phones=[C_PHONE],
        emails=["c@alamal.com"],
        contactName="Sara",
        address="King Fahd Rd",
        externalIds={"googleMaps": "ChIJ-C", "foursquare": "fsq-C"},
        doNotContact=True,
        customFields={"source": "web", "size": 3},
    )
    return a["id"], b["id"], c["id"]


async def world(
    client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account
) -> dict[str, Any]:
    """Three leads with notes, list memberships and evidence links."""
    a, b, c = await three_leads(client, boss)
    for lead, body in ((b, "called B"), (c, "called C"), (a, "called A")):
        note = await client.post(
            f"/v1/leads/{lead}/notes", json={"body": body}, headers=boss.headers
        )
        assert note.status_code == 201, note.text
    l1, l2, l3 = [await new_list(owner, boss, n) for n in ("A and B", "B and C", "C")]
    await add_to_list(owner, boss, l1, a, at="2026-01-02T00:00:00+00:00")
    await add_to_list(owner, boss, l1, b, at="2026-01-01T00:00:00+00:00")
    await add_to_list(owner, boss, l2, b, at="2026-01-03T00:00:00+00:00")
    await add_to_list(owner, boss, l2, c, at="2026-01-04T00:00:00+00:00")
    await add_to_list(owner, boss, l3, c, at="2026-01-05T00:00:00+00:00")
    e1 = await new_evidence(owner, boss, title="B on maps", collected_at="2026-02-01T00:00+00:00")
    e2 = await new_evidence(owner, boss, title="C and A", collected_at="2026-02-02T00:00+00:00")
    await link_evidence(owner, boss, b, e1, ["phones"])
    await link_evidence(owner, boss, c, e2, ["address"])
    await link_evidence(owner, boss, a, e2, ["name"])
    return {"a": a, "b": b, "c": c, "lists": (l1, l2, l3), "evidence": (e1, e2)}


def _without(row: dict[str, Any], *columns: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in columns}


@pytest.fixture
async def merged(
    client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account, app: FastAPI
) -> dict[str, Any]:
    """The world, C and B merged into A; with the events published and A's version before."""
    w = await world(client, owner, boss)
    version = (await client.get(f"/v1/leads/{w['a']}", headers=boss.headers)).json()["version"]
    events: list[LeadChanged] = []

    async def seen(event: LeadChanged) -> None:
        events.append(event)

    app.state.bus.subscribe(LeadChanged, seen)
    response = await merge(client, boss, w["a"], w["c"], w["b"])
    assert response.status_code == 200, response.text
    return w | {"response": response, "events": events, "version": version}


class TestMerge:
    async def test_the_survivor_wins_and_its_empty_fields_are_filled_oldest_first(
        self, merged: dict[str, Any]
    ) -> None:
        response = merged["response"]
        lead = response.json()["lead"]
        assert response.headers["etag"] == f'"{lead["version"]}"'
        assert lead["version"] == merged["version"] + 1
        assert lead["name"] == "Al Amal Restaurant"
        assert lead["category"] == "Restaurant"
        assert lead["city"] == "Riyadh"  # the survivor's, not B's
        assert lead["contactName"] == "Khalid"  # B is older than C
        assert lead["website"] == "https://alamal.com/"
        assert lead["domain"] == "alamal.com"
        assert lead["address"] == "King Fahd Rd"
        assert lead["location"] == {"lat": 24.7, "lng": 46.6}
        assert lead["rating"] == 4.2
        assert lead["phones"] == [A_PHONE, B_PHONE, C_PHONE]
        assert lead["emails"] == ["b@alamal.com", "c@alamal.com"]
        assert lead["tags"] == ["VIP", "Lunch"]
        assert lead["externalIds"] == {"googleMaps": "ChIJ-B", "foursquare": "fsq-C"}
        assert lead["socialProfiles"] == {"instagram": "alamal", "x": "alamal_x"}
        assert lead["customFields"] == {"tier": "gold", "source": "fair", "size": 3}
        assert lead["doNotContact"] is True
        assert lead["status"] == "NEW"

    async def test_keys_move_to_the_survivor(
        self,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
        boss: Account,
        merged: dict[str, Any],
    ) -> None:
        a = merged["a"]
        taken = await client.post(
            "/v1/leads", json={"name": "Copy", "phones": [B_PHONE]}, headers=boss.headers
        )
        assert taken.status_code == 409
        assert [d["id"] for d in taken.json()["duplicates"]] == [a]
        keys = await owner.fetch(
            "SELECT kind::text, value FROM lead_keys WHERE lead_id = $1::uuid ORDER BY 1, 2", a
        )
        assert [tuple(k) for k in keys] == [
            ("EMAIL", "b@alamal.com"),
            ("EMAIL", "c@alamal.com"),
            ("EXTERNAL", "foursquare:fsq-C"),
            ("EXTERNAL", "googleMaps:ChIJ-B"),
            ("EXTERNAL", "googleMaps:ChIJ-C"),
            ("PHONE", A_PHONE),
            ("PHONE", B_PHONE),
            ("PHONE", C_PHONE),
        ]
        # The search text holds the new phones and emails.
        text = await owner.fetchval("SELECT search_text FROM leads WHERE id = $1::uuid", a)
        assert "966502222222" in text
        assert "c@alamal.com" in text

    async def test_a_patch_of_the_survivor_keeps_the_keys_its_columns_do_not_show(
        self,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
        boss: Account,
        merged: dict[str, Any],
    ) -> None:
        """The survivor's `externalIds.googleMaps` is its own (ChIJ-B); it also holds C's
        place id. A PATCH of its phones and of its external ids releases the keys of what it
        removes, not C's place id: C's next listing must still find the survivor."""
        a = merged["a"]
        path = f"/v1/leads/{a}"
        lead = (await client.get(path, headers=boss.headers)).json()
        phones = [p for p in lead["phones"] if p != B_PHONE]
        for body in ({"phones": phones}, {"externalIds": {"foursquare": "fsq-C"}}):
            response = await client.patch(path, json=body, headers=boss.headers)
            assert response.status_code == 200, response.text
        keys = await owner.fetch(
            "SELECT kind::text, value FROM lead_keys WHERE lead_id = $1::uuid ORDER BY 1, 2", a
        )
        held = {tuple(k) for k in keys}
        assert ("EXTERNAL", "googleMaps:ChIJ-C") in held  # C's, never in A's columns
        assert ("PHONE", B_PHONE) not in held  # removed by the first PATCH
        assert ("EXTERNAL", "googleMaps:ChIJ-B") not in held  # removed by the second
        again = await client.post(
            "/v1/leads",
            json={"name": "Copy", "externalIds": {"googleMaps": "ChIJ-C"}},
            headers=boss.headers,
        )
        assert again.status_code == 409, again.text
        freed = await client.post(
            "/v1/leads", json={"name": "Copy", "phones": [B_PHONE]}, headers=boss.headers
        )
        assert freed.status_code == 201, freed.text

    async def test_lists_timeline_and_evidence_move_to_the_survivor(
        self,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
        boss: Account,
        merged: dict[str, Any],
    ) -> None:
        a, b, c = merged["a"], merged["b"], merged["c"]
        members = await owner.fetch("SELECT list_id, lead_id::text FROM list_members")
        assert sorted((m["list_id"], m["lead_id"]) for m in members) == sorted(
            (list_id, a) for list_id in merged["lists"]
        )
        timeline = (await client.get(f"/v1/leads/{a}/activities", headers=boss.headers)).json()
        notes = {e["body"] for e in timeline["items"] if e["type"] == "NOTE"}
        assert notes == {"called A", "called B", "called C"}
        entry = timeline["items"][0]
        assert entry["type"] == "MERGED"
        assert entry["details"]["mergeId"] == merged["response"].json()["mergeId"]
        assert {m["id"] for m in entry["details"]["merged"]} == {b, c}
        assert {m["name"] for m in entry["details"]["merged"]} == {"Al-Amal", "Amal"}
        evidence = (await client.get(f"/v1/leads/{a}/evidence", headers=boss.headers)).json()
        assert [e["title"] for e in evidence["items"]] == ["C and A", "B on maps"]
        assert evidence["items"][0]["fields"] == ["name"]  # the survivor's own link stayed

    async def test_the_merged_leads_are_gone(
        self,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
        boss: Account,
        merged: dict[str, Any],
    ) -> None:
        a, b, c = merged["a"], merged["b"], merged["c"]
        for gone in (b, c):
            assert (await client.get(f"/v1/leads/{gone}", headers=boss.headers)).status_code == 404
            for path in ("activities", "evidence", "duplicates"):
                hidden = await client.get(f"/v1/leads/{gone}/{path}", headers=boss.headers)
                assert hidden.status_code == 404, path
        live = await owner.fetchval(
            "SELECT count(*) FROM leads WHERE tenant_id = $1::uuid"
            " AND deleted_at IS NULL AND merged_into_id IS NULL",
            boss.tenant_id,
        )
        assert live == 1
        assert await owner.fetchval(
            "SELECT array_agg(merged_into_id::text) FROM leads WHERE id = ANY($1::uuid[])",
            [uuid.UUID(b), uuid.UUID(c)],
        ) == [a, a]

    async def test_audit_event_and_snapshot(
        self, owner: asyncpg.Connection, merged: dict[str, Any]
    ) -> None:
        a, b, c = merged["a"], merged["b"], merged["c"]
        merge_id = merged["response"].json()["mergeId"]
        audit = await owner.fetchrow(
            "SELECT entity_type, entity_id, details FROM audit_logs"
            " WHERE event_type = 'lead.merged'"
        )
        assert audit is not None
        assert (audit["entity_type"], audit["entity_id"]) == ("lead", a)
        assert json.loads(audit["details"]) == {"mergeId": merge_id, "mergedIds": [c, b]}
        assert [(e.change, e.lead_id, set(map(str, e.merged_ids))) for e in merged["events"]] == [
            (LeadChange.MERGED, uuid.UUID(a), {b, c})
        ]
        record = await owner.fetchrow(
            "SELECT survivor_id::text, merged_ids::text[], snapshot, undone_at FROM lead_merges"
        )
        assert record is not None
        assert (record["survivor_id"], record["merged_ids"]) == (a, [c, b])
        assert record["undone_at"] is None
        snapshot = json.loads(record["snapshot"])
        assert [r["id"] for r in snapshot["merged"]] == [b, c]  # oldest first
        assert snapshot["survivor"]["id"] == a
        assert snapshot["survivor"]["phones"] == [A_PHONE]
        assert snapshot["changes"]["contact_name"] == {"from": None, "to": "Khalid"}
        assert {k["lead_id"] for k in snapshot["keys"]} == {b, c}


class TestUndo:
    async def test_undo_restores_every_row_as_it_was(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account, app: FastAPI
    ) -> None:
        w = await world(client, owner, boss)
        ids = [w["a"], w["b"], w["c"]]
        before = await rows(owner, ids)
        merged = await merge(client, boss, w["a"], w["b"], w["c"])
        assert merged.status_code == 200, merged.text
        events: list[LeadChanged] = []

        async def seen(event: LeadChanged) -> None:
            events.append(event)

        app.state.bus.subscribe(LeadChanged, seen)

        response = await undo(client, boss, merged.json()["mergeId"])
        assert response.status_code == 200, response.text
        restored = response.json()["leads"]
        assert [r["id"] for r in restored] == [w["b"], w["c"]]
        after = await rows(owner, ids)

        # Leads: the merged ones exactly as they were (their last activity is the undo); the
        # survivor as it was, at a newer version.
        moving = ("last_activity_at",)
        by_id = {r["id"]: r for r in after["leads"]}
        for row in before["leads"]:
            now = by_id[row["id"]]
            if row["id"] == w["a"]:
                assert _without(now, "version", "updated_at", *moving) == _without(
                    row, "version", "updated_at", *moving
                )
                assert now["version"] == row["version"] + 2
            else:
                assert _without(now, *moving) == _without(row, *moving)
                assert now["last_activity_at"] > row["last_activity_at"]
        for restored_lead in restored:
            again = await client.get(f"/v1/leads/{restored_lead['id']}", headers=boss.headers)
            assert again.status_code == 200
            assert again.json() == restored_lead

        assert after["lead_keys"] == before["lead_keys"]
        assert after["list_members"] == before["list_members"]
        assert after["lead_evidence"] == before["lead_evidence"]
        old = {json.dumps(r, sort_keys=True) for r in before["lead_activities"]}
        new = [r for r in after["lead_activities"] if json.dumps(r, sort_keys=True) not in old]
        assert len(after["lead_activities"]) == len(before["lead_activities"]) + len(new)
        assert sorted((r["type"], r["lead_id"]) for r in new) == sorted(
            [("MERGED", w["a"]), ("UNMERGED", w["a"]), ("UNMERGED", w["b"]), ("UNMERGED", w["c"])]
        )

        # Keys work again for the restored leads.
        taken = await client.post(
            "/v1/leads", json={"name": "Copy", "phones": [C_PHONE]}, headers=boss.headers
        )
        assert [d["id"] for d in taken.json()["duplicates"]] == [w["c"]]
        audit = await owner.fetchval(
            "SELECT details FROM audit_logs WHERE event_type = 'lead.unmerged'"
        )
        assert json.loads(audit)["restoredIds"] == [w["b"], w["c"]]
        assert sorted((e.change.value, str(e.lead_id)) for e in events) == sorted(
            [
                ("lead:updated", w["a"]),
                ("lead:created", w["b"]),
                ("lead:created", w["c"]),
            ]
        )

    async def test_undo_keeps_what_people_changed_on_the_survivor_since(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        merged = await merge(client, boss, a, b, c)
        assert merged.status_code == 200, merged.text
        lead = merged.json()["lead"]
        patch = await client.patch(
            f"/v1/leads/{a}",
            json={
                "phones": [*lead["phones"], NEW_PHONE],
                "status": "CONTACTED",
                "contactName": "Fahad",
                "tags": [*lead["tags"], "Dinner"],
                "customFields": {**lead["customFields"], "size": 4},
            },
            headers=boss.headers,
        )
        assert patch.status_code == 200, patch.text

        response = await undo(client, boss, merged.json()["mergeId"])
        assert response.status_code == 200, response.text
        survivor = (await client.get(f"/v1/leads/{a}", headers=boss.headers)).json()
        assert survivor["phones"] == [A_PHONE, NEW_PHONE]
        assert survivor["status"] == "CONTACTED"
        assert survivor["contactName"] == "Fahad"  # changed since: kept
        assert survivor["website"] is None
        assert survivor["domain"] is None
        assert survivor["address"] is None
        assert survivor["location"] is None
        assert survivor["tags"] == ["VIP", "Dinner"]
        assert survivor["emails"] == []
        assert survivor["externalIds"] == {}
        assert survivor["socialProfiles"] == {"instagram": "alamal"}
        assert survivor["customFields"] == {"tier": "gold", "size": 4}  # 4 is a person's
        assert survivor["doNotContact"] is False
        restored = {r["id"]: r for r in response.json()["leads"]}
        assert restored[b]["phones"] == [B_PHONE]
        assert restored[c]["phones"] == [C_PHONE]
        taken = await client.post(
            "/v1/leads", json={"name": "x", "phones": [NEW_PHONE]}, headers=boss.headers
        )
        assert [d["id"] for d in taken.json()["duplicates"]] == [a]

    async def test_undo_twice_is_409(self, client: httpx.AsyncClient, boss: Account) -> None:
        a, b, _ = await three_leads(client, boss)
        merged = await merge(client, boss, a, b)
        first = await undo(client, boss, merged.json()["mergeId"])
        assert first.status_code == 200
        again = await undo(client, boss, merged.json()["mergeId"])
        assert again.status_code == 409
        assert again.json()["code"] == "merge_already_undone"

    async def test_a_key_given_to_a_third_lead_since_blocks_the_undo(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        merged = await merge(client, boss, a, b)
        assert merged.status_code == 200
        phones = [p for p in merged.json()["lead"]["phones"] if p != B_PHONE]
        dropped = await client.patch(
            f"/v1/leads/{a}", json={"phones": phones}, headers=boss.headers
        )
        assert dropped.status_code == 200, dropped.text
        third = await new_lead(client, boss, name="Third", phones=[B_PHONE])
        before = await rows(owner, [a, b, c, third["id"]])

        response = await undo(client, boss, merged.json()["mergeId"])
        assert response.status_code == 409
        problem = response.json()
        assert problem["code"] == "merge_undo_conflict"
        assert problem["conflicts"] == [
            {"key": f"phone:{B_PHONE}", "leadId": third["id"], "name": "Third"}
        ]
        assert await rows(owner, [a, b, c, third["id"]]) == before
        assert await owner.fetchval("SELECT undone_at FROM lead_merges") is None

        # Once the third lead lets it go, the undo goes through.
        await client.patch(f"/v1/leads/{third['id']}", json={"phones": []}, headers=boss.headers)
        assert (await undo(client, boss, merged.json()["mergeId"])).status_code == 200


class TestRefusals:
    async def test_bad_bodies_are_422_and_change_nothing(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        before = await rows(owner, [a, b, c])
        for ids in ([a], [b, b], [], [str(uuid.uuid4()) for _ in range(21)], ["not-a-uuid"]):
            response = await merge(client, boss, a, *ids)
            assert response.status_code == 422, (ids, response.text)
            assert response.json()["code"] == "validation_error"
        extra = await client.post(
            f"/v1/leads/{a}/merge", json={"leadIds": [b], "x": 1}, headers=boss.headers
        )
        assert extra.status_code == 422
        assert await rows(owner, [a, b, c]) == before

    async def test_a_lead_in_the_trash_is_409_lead_deleted(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        assert (await client.delete(f"/v1/leads/{c}", headers=boss.headers)).status_code == 204
        before = await rows(owner, [a, b, c])
        response = await merge(client, boss, a, b, c)
        assert response.status_code == 409
        assert response.json()["code"] == "lead_deleted"
        assert response.json()["leadIds"] == [c]
        survivor_trashed = await merge(client, boss, c, a)
        assert survivor_trashed.status_code == 409
        assert await rows(owner, [a, b, c]) == before

    async def test_unknown_merged_and_foreign_leads_are_404(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        stranger = await signup(client, tenant_name="Elsewhere")
        foreign = await new_lead(client, stranger, name="Al Amal Restaurant")
        before = await rows(owner, [a, b, c, foreign["id"]])
        for survivor, ids in (
            (a, [foreign["id"]]),
            (foreign["id"], [a]),
            (a, [b, str(uuid.uuid4())]),
        ):
            response = await merge(client, boss, survivor, *ids)
            assert response.status_code == 404, response.text
            assert "Al Amal" not in response.text
        assert await rows(owner, [a, b, c, foreign["id"]]) == before
        # The stranger cannot merge this tenant's leads into theirs either.
        assert (await merge(client, stranger, foreign["id"], a)).status_code == 404

        assert (await merge(client, boss, a, b)).status_code == 200
        again = await merge(client, boss, c, b)  # b is merged: gone
        assert again.status_code == 404
        into_merged = await merge(client, boss, b, c)
        assert into_merged.status_code == 404

    async def test_a_merge_of_another_tenant_is_404_to_undo(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        a, b, _ = await three_leads(client, boss)
        merged = await merge(client, boss, a, b)
        stranger = await signup(client, tenant_name="Elsewhere")
        response = await undo(client, stranger, merged.json()["mergeId"])
        assert response.status_code == 404
        assert (await undo(client, boss, str(uuid.uuid4()))).status_code == 404
        assert (await client.get(f"/v1/leads/{b}", headers=boss.headers)).status_code == 404

    async def test_sales_may_not_merge_nor_undo_a_manager_may(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        manager = await member(client, boss, "MANAGER")
        a, b, _c = await three_leads(client, boss)
        refused = await merge(client, sales, a, b)
        assert refused.status_code == 403
        assert refused.json()["permission"] == "leads:merge"
        merged = await merge(client, manager, a, b)
        assert merged.status_code == 200
        refused_undo = await undo(client, sales, merged.json()["mergeId"])
        assert refused_undo.status_code == 403
        assert (await undo(client, manager, merged.json()["mergeId"])).status_code == 200


class TestNestedMerges:
    async def test_an_older_merge_waits_for_the_newer_on_the_same_survivor(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        first = (await merge(client, boss, a, b)).json()["mergeId"]
        second = (await merge(client, boss, a, c)).json()["mergeId"]
        blocked = await undo(client, boss, first)
        assert blocked.status_code == 409
        assert blocked.json()["code"] == "merge_undo_conflict"
        assert blocked.json()["mergeIds"] == [second]
        assert (await undo(client, boss, second)).status_code == 200
        assert (await undo(client, boss, first)).status_code == 200
        for lead in (a, b, c):
            assert (await client.get(f"/v1/leads/{lead}", headers=boss.headers)).status_code == 200

    async def test_a_survivor_merged_into_another_lead_blocks_the_older_undo(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        first = (await merge(client, boss, a, b)).json()["mergeId"]
        second = await merge(client, boss, c, a)
        assert second.status_code == 200
        assert set(second.json()["lead"]["phones"]) == {A_PHONE, B_PHONE, C_PHONE}
        blocked = await undo(client, boss, first)
        assert blocked.status_code == 409
        assert (await undo(client, boss, second.json()["mergeId"])).status_code == 200
        assert (await undo(client, boss, first)).status_code == 200
        survivor = (await client.get(f"/v1/leads/{c}", headers=boss.headers)).json()
        assert survivor["phones"] == [C_PHONE]

    async def test_a_lead_merged_undone_and_merged_elsewhere(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        first = (await merge(client, boss, a, b)).json()["mergeId"]
        assert (await undo(client, boss, first)).status_code == 200
        second = await merge(client, boss, c, b)
        assert second.status_code == 200
        assert (await undo(client, boss, first)).json()["code"] == "merge_already_undone"
        assert (await undo(client, boss, second.json()["mergeId"])).status_code == 200


class TestConcurrency:
    async def test_overlapping_merges_at_once_never_deadlock(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account
    ) -> None:
        leads = [
            (await new_lead(client, boss, name=f"Lead {i}", phones=[f"+96650555000{i}"]))["id"]
            for i in range(4)
        ]
        a, b, c, d = leads
        # Opposite directions and a shared lead, all at once.
        attempts = [(a, [b, c]), (c, [a, d]), (b, [d]), (d, [a])]
        responses = await asyncio.gather(
            *(merge(client, boss, survivor, *ids) for survivor, ids in attempts)
        )
        codes = [r.status_code for r in responses]
        assert all(code in (200, 404) for code in codes), [r.text for r in responses]
        assert 200 in codes
        # Consistent: every merged lead's chain of survivors ends at a live lead (a survivor may
        # be merged later itself), and every key is held by a live lead.
        into = {
            r["id"]: r["merged_into_id"]
            for r in await owner.fetch(
                "SELECT id, merged_into_id FROM leads WHERE tenant_id = $1::uuid", boss.tenant_id
            )
        }
        for start, first in into.items():
            seen, lead = {start}, first
            while lead is not None:
                assert lead not in seen, "a cycle of merges"
                seen.add(lead)
                lead = into[lead]
        assert sum(1 for v in into.values() if v is None) == 4 - sum(
            len(ids) for (_, ids), r in zip(attempts, responses, strict=True) if r.is_success
        )
        holders = await owner.fetch(
            "SELECT l.merged_into_id FROM lead_keys k JOIN leads l ON l.id = k.lead_id"
            " WHERE k.tenant_id = $1::uuid",
            boss.tenant_id,
        )
        assert len(holders) == 4
        assert all(h["merged_into_id"] is None for h in holders)

    async def test_the_same_undo_twice_at_once(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        a, b, c = await three_leads(client, boss)
        merge_id = (await merge(client, boss, a, b, c)).json()["mergeId"]
        first, second = await asyncio.gather(
            undo(client, boss, merge_id), undo(client, boss, merge_id)
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409]
