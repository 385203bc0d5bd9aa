"""Merges and undo tried the wrong way round: with itself, twice, on leads already merged or
in the trash, undone twice or after the survivor went to the trash, and raced against each
other, deletions and list changes. Each is the documented answer (a 4xx with a stable code
or a 200), never a 500, and the keys always end with live leads."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, on_plan, signup
from tests.merges.helpers import merge, new_lead, undo


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "ENTERPRISE")
    return account


class Leads:
    """Fresh leads with a phone each, so that merges move keys."""

    def __init__(self, client: httpx.AsyncClient, account: Account) -> None:
        self.client, self.account, self.made = client, account, 0

    async def __call__(self) -> str:
        self.made += 1
        lead = await new_lead(
            self.client, self.account, name=f"Lead {self.made}", phones=[f"0502{self.made:06d}"]
        )
        return str(lead["id"])


def codes(responses: list[httpx.Response]) -> list[tuple[int, str]]:
    return sorted(
        (r.status_code, r.json()["code"] if r.status_code >= 400 else "") for r in responses
    )


async def keys_on_hidden_leads(owner: asyncpg.Connection, account: Account) -> int:
    """Keys held by a lead folded into another: every key must follow the survivor."""
    count: int = await owner.fetchval(
        "SELECT count(*) FROM lead_keys k JOIN leads l ON l.id = k.lead_id"
        " WHERE k.tenant_id = $1::uuid AND l.merged_into_id IS NOT NULL",
        account.tenant_id,
    )
    return count


class TestRefusals:
    async def test_wrong_ways_to_name_the_leads(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = Leads(client, boss)
        a, b = await lead(), await lead()
        other = await signup(client)
        theirs = str((await new_lead(client, other, name="Theirs"))["id"])
        cases = [
            ([a], 422, "validation_error"),  # itself
            ([a.upper()], 422, "validation_error"),  # itself, spelled otherwise
            ([b, b], 422, "validation_error"),
            ([b, b.upper()], 422, "validation_error"),
            ([], 422, "validation_error"),
            ([str(uuid.uuid4()) for _ in range(21)], 422, "validation_error"),
            (["x"], 422, "validation_error"),
            ([None], 422, "validation_error"),
            ([theirs], 404, "not_found"),
            ([str(uuid.uuid4())], 404, "not_found"),
        ]
        for lead_ids, status, code in cases:
            response = await client.post(
                f"/v1/leads/{a}/merge", json={"leadIds": lead_ids}, headers=boss.headers
            )
            assert response.status_code == status, (lead_ids, response.text)
            assert response.json()["code"] == code
        into_theirs = await merge(client, boss, theirs, a)
        assert into_theirs.status_code == 404
        bodies: list[object] = [{"leadIds": None}, [], {"leadIds": b}, {"leadIds": [b], "x": 1}]
        for body in bodies:
            response = await client.post(f"/v1/leads/{a}/merge", json=body, headers=boss.headers)
            assert response.status_code == 422, (body, response.text)
        survivor = await client.get(f"/v1/leads/{a}", headers=boss.headers)
        assert survivor.json()["version"] == 1
        merges = "SELECT count(*) FROM lead_merges WHERE tenant_id = $1::uuid"
        assert await owner.fetchval(merges, boss.tenant_id) == 0

    async def test_a_merged_lead_is_gone_from_every_route(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = Leads(client, boss)
        a, b = await lead(), await lead()
        assert (await merge(client, boss, a, b)).status_code == 200
        assert (await merge(client, boss, a, b)).status_code == 404
        assert (await merge(client, boss, b, a)).status_code == 404
        h = boss.headers
        for method, path, body in [
            ("GET", f"/v1/leads/{b}", None),
            ("PATCH", f"/v1/leads/{b}", {"category": "x"}),
            ("DELETE", f"/v1/leads/{b}", None),
            ("POST", f"/v1/leads/{b}/restore", None),
            ("POST", f"/v1/leads/{b}/notes", {"body": "x"}),
            ("GET", f"/v1/leads/{b}/activities", None),
            ("GET", f"/v1/leads/{b}/evidence", None),
            ("GET", f"/v1/leads/{b}/duplicates", None),
        ]:
            response = await client.request(method, path, json=body, headers=h)
            assert response.status_code == 404, (method, path, response.text)

    async def test_a_lead_in_the_trash_is_409_on_either_side(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = Leads(client, boss)
        a, d = await lead(), await lead()
        assert (await client.delete(f"/v1/leads/{d}", headers=boss.headers)).status_code == 204
        for survivor, merged in ((a, d), (d, a)):
            response = await merge(client, boss, survivor, merged)
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "lead_deleted"


class TestUndo:
    async def test_undo_twice_and_another_tenants_undo(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = Leads(client, boss)
        a, b = await lead(), await lead()
        merge_id = (await merge(client, boss, a, b)).json()["mergeId"]
        other = await signup(client)
        foreign = await client.post(f"/v1/lead-merges/{merge_id}/undo", headers=other.headers)
        assert foreign.status_code == 404
        assert (await undo(client, boss, merge_id)).status_code == 200
        again = await undo(client, boss, merge_id)
        assert again.status_code == 409
        assert again.json()["code"] == "merge_already_undone"
        for bad in (str(uuid.uuid4()), "abc"):
            response = await undo(client, boss, bad)
            assert response.status_code in (404, 422), response.text

    async def test_undo_after_the_survivor_went_to_the_trash(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        # The merged lead was never deleted: it comes back live with its key; the survivor
        # stays in the trash, without that key.
        lead = Leads(client, boss)
        a, b = await lead(), await lead()
        b_phone = (await client.get(f"/v1/leads/{b}", headers=boss.headers)).json()["phones"]
        merge_id = (await merge(client, boss, a, b)).json()["mergeId"]
        assert (await client.delete(f"/v1/leads/{a}", headers=boss.headers)).status_code == 204
        response = await undo(client, boss, merge_id)
        assert response.status_code == 200, response.text
        restored = await client.get(f"/v1/leads/{b}", headers=boss.headers)
        assert restored.json()["deletedAt"] is None
        assert restored.json()["phones"] == b_phone
        survivor = (await client.get(f"/v1/leads/{a}", headers=boss.headers)).json()
        assert survivor["deletedAt"] is not None
        assert not set(b_phone) & set(survivor["phones"])
        assert await keys_on_hidden_leads(owner, boss) == 0

    async def test_a_chain_is_undone_newest_first(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = Leads(client, boss)
        a, b, c = await lead(), await lead(), await lead()
        first = (await merge(client, boss, a, b)).json()["mergeId"]
        second = (await merge(client, boss, c, a)).json()["mergeId"]
        refused = await undo(client, boss, first)
        assert refused.status_code == 409
        assert refused.json()["code"] == "merge_undo_conflict"
        assert refused.json()["mergeIds"] == [second]
        assert (await undo(client, boss, second)).status_code == 200
        assert (await undo(client, boss, first)).status_code == 200
        for lead_id in (a, b, c):
            live = await client.get(f"/v1/leads/{lead_id}", headers=boss.headers)
            assert live.status_code == 200
            assert len(live.json()["phones"]) == 1


class TestRaces:
    async def test_overlapping_merges_at_once(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = Leads(client, boss)
        ids = [await lead() for _ in range(6)]
        answers = await asyncio.gather(
            merge(client, boss, ids[0], ids[1], ids[2]),
            merge(client, boss, ids[2], ids[3], ids[0]),
            merge(client, boss, ids[4], ids[1], ids[5]),
            merge(client, boss, ids[5], ids[0], ids[4]),
        )
        assert all(r.status_code in (200, 404) for r in answers), [r.text for r in answers]
        assert any(r.status_code == 200 for r in answers)
        assert await keys_on_hidden_leads(owner, boss) == 0
        live = await owner.fetch(
            "SELECT phones FROM leads WHERE id = ANY($1::uuid[]) AND merged_into_id IS NULL",
            [uuid.UUID(i) for i in ids],
        )
        phones = [p for row in live for p in row["phones"]]
        assert len(phones) == len(set(phones)) == 6  # every phone on exactly one live lead

    async def test_opposite_merges_and_triple_undo_at_once(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = Leads(client, boss)
        a, b = await lead(), await lead()
        answers = await asyncio.gather(merge(client, boss, a, b), merge(client, boss, b, a))
        assert codes(list(answers)) == [(200, ""), (404, "not_found")]
        merge_id = next(r for r in answers if r.status_code == 200).json()["mergeId"]
        undos = await asyncio.gather(*(undo(client, boss, merge_id) for _ in range(3)))
        assert codes(list(undos)) == [
            (200, ""),
            (409, "merge_already_undone"),
            (409, "merge_already_undone"),
        ]
        assert await keys_on_hidden_leads(owner, boss) == 0

    async def test_a_merge_racing_a_deletion_and_a_list_change(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = Leads(client, boss)
        for _ in range(3):
            s, t = await lead(), await lead()
            created = await client.post(
                "/v1/lists", json={"name": "race", "kind": "STATIC"}, headers=boss.headers
            )
            list_id = created.json()["id"]
            answers = await asyncio.gather(
                client.post(
                    f"/v1/lists/{list_id}/leads", json={"leadIds": [s, t]}, headers=boss.headers
                ),
                merge(client, boss, s, t),
                client.delete(f"/v1/leads/{t}", headers=boss.headers),
            )
            allowed = {200, 204, 404, 409, 422}
            assert all(r.status_code in allowed for r in answers), [r.text for r in answers]
            listed = await client.get(f"/v1/lists/{list_id}", headers=boss.headers)
            members = await client.get(f"/v1/lists/{list_id}/leads", headers=boss.headers)
            assert listed.json()["leadCount"] == len(members.json()["items"])
        assert await keys_on_hidden_leads(owner, boss) == 0
