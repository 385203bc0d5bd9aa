"""Resolution through the agent's REST twin: what an upload does to the tenant's leads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import member
from tests.resolution.support import (
    Workspace,
    actions,
    item,
    lead_ids,
    live_leads,
    workspace,
)

ALAMAL = {
    "name": "مؤسسة الأمل للتجارة",
    "phone": "011 456 7890",
    "city": "الرياض",
    "placeId": "ChIJ-alamal",
    "rating": 4.2,
    "reviewsCount": 100,
}


@pytest.fixture
async def ws(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, owner)


class TestCreateAndJoin:
    async def test_one_business_in_two_spellings_is_one_lead(self, ws: Workspace) -> None:
        job = await ws.job()
        first = await ws.upload(job, [item(ALAMAL, title="listing")])
        assert actions(first) == ["created"]
        lead_id = lead_ids(first)[0]
        second = await ws.upload(
            job,
            [
                item(
                    {"name": "موسسه الامل للتجاره", "phones": ["+966 11 456 7890", "0501234567"],
                     "emails": ["  Info@AlAmal.com.sa "], "city": "Riyadh"},
                    kind="CONTACT_INFO", confidence="MEDIUM", title="contact page", collected=60,
                )
            ],
        )  # fmt: skip
        assert second["leads"] == [{"index": 0, "leadId": lead_id, "action": "joined"}]
        lead = await ws.lead(lead_id)
        assert lead is not None
        assert lead["phones"] == ["+966114567890", "+966501234567"]
        assert lead["emails"] == ["info@alamal.com.sa"]
        assert lead["name"] == "مؤسسة الأمل للتجارة"  # the same name: the lead's spelling stays
        assert lead["city"] == "الرياض"  # HIGH against MEDIUM
        assert lead["externalIds"] == {"googleMaps": "ChIJ-alamal"}
        assert lead["source"] == {"type": "SEARCH", "jobId": job.job_id}
        assert lead["confidence"] == "HIGH"
        provenance = {e["title"]: e["fields"] for e in await ws.evidence(lead_id)}
        assert provenance == {
            "listing": ["city", "externalIds", "name", "phones", "rating", "reviewsCount"],
            "contact page": ["emails", "name", "phones"],
        }
        timeline = await ws.activities(lead_id)
        joined, created = timeline[0], timeline[-1]
        assert created["type"] == "CREATED"
        assert created["details"]["source"] == "SEARCH"
        assert created["details"]["jobId"] == job.job_id
        assert created["actorAgentId"] == ws.agent.id
        assert joined["type"] == "EVIDENCE_JOINED"
        assert joined["details"]["rules"] == ["phone"]
        assert joined["details"]["fields"] == ["emails", "phones"]
        assert joined["details"]["evidenceId"] == second["stored"][0]

    async def test_a_batch_resolves_against_what_it_created(self, ws: Workspace) -> None:
        job = await ws.job()
        answer = await ws.upload(
            job,
            [
                item(ALAMAL),
                item({"name": "Al Amal Trading", "phone": "+966114567890"}, title="b"),
                item({"name": "مؤسسه الامل للتجاره", "city": "الرياض "}, title="c"),
                item({"name": "مخبز السلام", "phone": "0126543210", "city": "جدة"}, title="d"),
            ],
        )
        assert actions(answer) == ["created", "joined", "joined", "created"]
        ids = lead_ids(answer)
        assert ids[0] == ids[1] == ids[2] != ids[3]
        lead, other = await ws.lead(str(ids[0])), await ws.lead(str(ids[3]))
        assert lead is not None
        assert other is not None
        assert len(await ws.evidence(str(ids[0]))) == 3
        # In the order they were created.
        assert datetime.fromisoformat(lead["createdAt"]) < datetime.fromisoformat(
            other["createdAt"]
        )

    async def test_a_lead_changed_in_the_batch_that_created_it(self, ws: Workspace) -> None:
        job = await ws.job()
        answer = await ws.upload(
            job,
            [
                item({"name": "مخبز السلام", "phone": "0126543210", "city": "جدة"}),
                item({"name": "مخبز السلام", "phone": "+966126543210", "email": "info@salam.sa"},
                     kind="CONTACT_INFO", confidence="MEDIUM", title="contact", collected=60),
            ],
        )  # fmt: skip
        assert actions(answer) == ["created", "joined"]
        lead_id = str(lead_ids(answer)[0])
        lead = await ws.lead(lead_id)
        assert lead is not None
        # Written once, at the batch's end: the change still counts as a version.
        assert lead["version"] == 2
        assert lead["emails"] == ["info@salam.sa"]
        assert lead["city"] == "جدة"
        timeline = await ws.activities(lead_id)
        assert [a["type"] for a in timeline] == ["EVIDENCE_JOINED", "CREATED"]
        assert timeline[0]["details"]["fields"] == ["emails"]

    async def test_a_batch_merges_leads_it_created_into_the_oldest(self, ws: Workspace) -> None:
        job = await ws.job()
        answer = await ws.upload(
            job,
            [
                item({"name": "صالون لمسة", "phone": "0501234567", "city": "جدة"}, title="A"),
                item({"name": "Lamsa Salon", "email": "hello@lamsa.sa", "city": "Jeddah"},
                     kind="SOCIAL_PROFILE", confidence="LOW", title="B", collected=30),
                item({"name": "صالون لمسة", "phones": ["+966501234567"],
                      "emails": ["HELLO@lamsa.sa"]},
                     kind="CONTACT_INFO", confidence="MEDIUM", title="C", collected=60),
                item({"name": "Lamsa Salon", "email": "hello@lamsa.sa"}, title="D", collected=90),
            ],
        )  # fmt: skip
        assert actions(answer) == ["created", "created", "joined", "joined"]
        a_id, b_id, c_id, d_id = (str(i) for i in lead_ids(answer))
        assert a_id == c_id == d_id != b_id
        assert await ws.lead(b_id) is None
        survivor = await ws.lead(a_id)
        assert survivor is not None
        assert survivor["emails"] == ["hello@lamsa.sa"]
        assert {e["title"] for e in await ws.evidence(a_id)} == {"A", "B", "C", "D"}
        merged = next(a for a in await ws.activities(a_id) if a["type"] == "MERGED")
        assert merged["details"]["rules"] == {a_id: ["phone"], b_id: ["email"]}

    async def test_what_makes_no_lead_is_skipped(self, ws: Workspace) -> None:
        job = await ws.job()
        answer = await ws.upload(
            job,
            [
                item({"category": "مطعم", "rating": 4}, title="nothing to identify it"),
                item({"name": "x", "phone": "0501234567"}, kind="REVIEW", title="a review"),
                item(None, title="no raw data"),
                item({"phone": "0501234567"}, title="no name"),
            ],
        )
        assert actions(answer) == ["skipped"] * 4
        assert len(answer["stored"]) == 4
        named = await ws.upload(job, [item({"name": "كافيه", "phone": "0501234567"}, title="n")])
        assert actions(named) == ["created"]
        nameless = await ws.upload(
            job, [item({"phone": "+966501234567", "email": "a@b.sa"}, title="later")]
        )
        assert nameless["leads"][0] == {"index": 0, "leadId": lead_ids(named)[0],
                                        "action": "joined"}  # fmt: skip

    async def test_a_lead_in_the_trash_is_not_recreated(self, ws: Workspace) -> None:
        job = await ws.job()
        created = await ws.upload(job, [item(ALAMAL)])
        lead_id = lead_ids(created)[0]
        deleted = await ws.client.delete(f"/v1/leads/{lead_id}", headers=ws.headers)
        assert deleted.status_code == 204
        again = await ws.upload(job, [item({**ALAMAL, "name": "Al Amal"}, title="again")])
        assert again["leads"] == [{"index": 0, "leadId": None, "action": "skipped"}]


class TestIdempotency:
    async def test_the_same_batch_twice_changes_nothing(
        self, ws: Workspace, owner: asyncpg.Connection
    ) -> None:
        job = await ws.job()
        batch = [
            item(ALAMAL),
            item({"name": "مخبز السلام", "phone": "0126543210", "city": "جدة"}, title="b"),
            item(ALAMAL),  # the same item twice in one batch
        ]
        first = await ws.upload(job, batch)
        assert actions(first) == ["created", "created", "unchanged"]
        second = await ws.upload(job, batch)
        assert len(second["duplicates"]) == 3
        assert actions(second) == ["unchanged"] * 3
        assert lead_ids(second) == lead_ids(first)
        assert await live_leads(owner, ws.account) == 2
        output = (await ws.client.get(f"/v1/jobs/{job.job_id}", headers=ws.headers)).json()
        assert output["output"] == {"leadsCreated": 2, "leadsJoined": 0}
        assert len(await ws.evidence(lead_ids(first)[0])) == 1


class TestJobOutput:
    async def test_counters_while_running_and_after_completion(self, ws: Workspace) -> None:
        job = await ws.job({"query": "bakeries", "country": "sa"})
        assert job.job_id
        read = await ws.client.get(f"/v1/jobs/{job.job_id}", headers=ws.headers)
        assert read.json()["input"]["country"] == "SA"
        assert read.json()["output"] is None
        await ws.upload(job, [item(ALAMAL), item({**ALAMAL, "name": "Al Amal"}, title="b")])
        running = (await ws.client.get(f"/v1/jobs/{job.job_id}", headers=ws.headers)).json()
        assert running["status"] == "RUNNING"
        assert running["output"] == {"leadsCreated": 1, "leadsJoined": 1}
        done = await ws.client.post(
            f"/v1/agent/jobs/{job.job_id}/complete",
            json={"leaseId": job.lease, "output": {"found": 2, "leadsCreated": 999}},
            headers=ws.agent.headers,
        )
        assert done.status_code == 200, done.text
        assert done.json()["output"] == {"found": 2, "leadsCreated": 1, "leadsJoined": 1}

    async def test_a_job_country_that_is_no_country_is_refused(self, ws: Workspace) -> None:
        response = await ws.client.post(
            "/v1/jobs",
            json={"type": "SEARCH", "input": {"query": "q", "country": "XX"}},
            headers=ws.headers,
        )
        assert response.status_code == 422

    async def test_the_job_country_reads_local_numbers(self, ws: Workspace) -> None:
        dubai = await ws.job({"query": "q", "country": "AE"})
        answer = await ws.upload(dubai, [item({"name": "كافتيريا", "phone": "050 123 4567"})])
        lead = await ws.lead(lead_ids(answer)[0])
        assert lead is not None
        assert lead["phones"] == ["+971501234567"]


class TestTenants:
    async def test_another_tenant_gets_its_own_leads(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, ws: Workspace
    ) -> None:
        other = await workspace(client, owner)
        mine = await ws.upload(await ws.job(), [item(ALAMAL)])
        theirs = await other.upload(await other.job(), [item(ALAMAL)])
        assert actions(mine) == actions(theirs) == ["created"]
        assert lead_ids(mine) != lead_ids(theirs)
        assert await other.lead(lead_ids(mine)[0]) is None
        again = await other.upload(await other.job(), [item({**ALAMAL, "name": "x"}, title="2")])
        assert again["leads"][0]["leadId"] == lead_ids(theirs)[0]
        assert await live_leads(owner, ws.account) == await live_leads(owner, other.account) == 1


class TestBridging:
    async def _two_leads(self, ws: Workspace) -> tuple[Any, str, str]:
        job = await ws.job()
        a = await ws.upload(
            job, [item({"name": "صالون لمسة", "phone": "0501234567", "city": "جدة"}, title="A")]
        )
        b = await ws.upload(
            job,
            [
                item(
                    {"name": "Lamsa Salon", "email": "hello@lamsa.sa", "city": "Jeddah"},
                    kind="SOCIAL_PROFILE", confidence="LOW", title="B", collected=30,
                )
            ],
        )  # fmt: skip
        assert actions(a) == actions(b) == ["created"]
        return job, str(lead_ids(a)[0]), str(lead_ids(b)[0])

    async def test_a_record_with_both_keys_merges_into_the_oldest_and_undo_restores(
        self, ws: Workspace
    ) -> None:
        job, a_id, b_id = await self._two_leads(ws)
        bridge = await ws.upload(
            job,
            [
                item(
                    {"name": "صالون لمسة", "phones": ["+966501234567"],
                     "emails": ["HELLO@lamsa.sa"]},
                    kind="CONTACT_INFO", confidence="MEDIUM", title="C", collected=60,
                )
            ],
        )  # fmt: skip
        assert bridge["leads"] == [{"index": 0, "leadId": a_id, "action": "joined"}]
        assert await ws.lead(b_id) is None
        survivor = await ws.lead(a_id)
        assert survivor is not None
        assert survivor["emails"] == ["hello@lamsa.sa"]
        assert {e["title"] for e in await ws.evidence(a_id)} == {"A", "B", "C"}
        merged = next(a for a in await ws.activities(a_id) if a["type"] == "MERGED")
        assert merged["actorAgentId"] == ws.agent.id
        assert merged["details"]["evidenceId"] == bridge["stored"][0]
        assert merged["details"]["rules"] == {a_id: ["phone"], b_id: ["email"]}
        assert merged["details"]["merged"] == [{"id": b_id, "name": "Lamsa Salon"}]

        undo = await ws.client.post(
            f"/v1/lead-merges/{merged['details']['mergeId']}/undo", headers=ws.headers
        )
        assert undo.status_code == 200, undo.text
        assert [lead["id"] for lead in undo.json()["leads"]] == [b_id]
        assert {e["title"] for e in await ws.evidence(a_id)} == {"A", "C"}
        assert {e["title"] for e in await ws.evidence(b_id)} == {"B"}
        restored = await ws.lead(b_id)
        assert restored is not None
        assert restored["emails"] == ["hello@lamsa.sa"]

    async def test_a_chain_website_without_a_city_bridges_no_branches(self, ws: Workspace) -> None:
        job = await ws.job()
        branches = await ws.upload(
            job,
            [
                item({"name": "مخابز الأصالة", "phone": "0114567890", "city": "الرياض",
                      "website": "https://asala-bakeries.sa"}, title="riyadh"),
                item({"name": "مخابز الأصالة", "phone": "0138765432", "city": "الدمام",
                      "website": "https://asala-bakeries.sa/dammam"}, title="dammam"),
            ],
        )  # fmt: skip
        assert actions(branches) == ["created", "created"]
        profile = await ws.upload(
            job,
            [
                item({"name": "Asala Bakeries", "website": "asala-bakeries.sa"},
                     kind="SOCIAL_PROFILE", confidence="LOW", title="brand")
            ],
        )  # fmt: skip
        assert profile["leads"][0] == {"index": 0, "leadId": lead_ids(branches)[0],
                                       "action": "joined"}  # fmt: skip
        assert await ws.lead(lead_ids(branches)[1]) is not None


class TestFieldPolicy:
    async def test_fill_union_edit_confidence_recency_and_rating(self, ws: Workspace) -> None:
        job = await ws.job()
        start = await ws.upload(
            job,
            [
                item({"name": "مطعم البيت الشامي", "phone": "0114567890", "city": "الرياض",
                      "rating": 4.0, "reviewsCount": 50, "address": "حي العليا"},
                     confidence="MEDIUM", title="listing 1", collected=100)
            ],
        )  # fmt: skip
        lead_id = str(lead_ids(start)[0])
        edited = await ws.client.patch(
            f"/v1/leads/{lead_id}", json={"name": "البيت الشامي"}, headers=ws.headers
        )
        assert edited.status_code == 200, edited.text

        async def send(raw: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            answer = await ws.upload(job, [item({"phone": "0114567890", **raw}, **kwargs)])
            assert answer["leads"][0] == {"index": 0, "leadId": lead_id, "action": "joined"}
            lead = await ws.lead(lead_id)
            assert lead is not None
            return lead

        lead = await send(
            {"name": "Al Bait Al Shami", "category": "مطعم", "emails": ["a@bait.sa"],
             "tags": ["شامي"], "socialProfiles": {"instagram": "@bait"}},
            confidence="HIGH", title="newer, higher", collected=200,
        )  # fmt: skip
        assert lead["name"] == "البيت الشامي"  # a person's edit stays
        assert lead["category"] == "مطعم"  # filled
        assert lead["emails"] == ["a@bait.sa"]
        assert lead["tags"] == ["شامي"]
        assert lead["socialProfiles"] == {"instagram": "@bait"}

        lead = await send({"address": "older, lower"}, confidence="LOW", title="a", collected=300)
        assert lead["address"] == "حي العليا"  # LOW loses to the MEDIUM that wrote it
        lead = await send({"address": "older, same"}, confidence="MEDIUM", title="b", collected=50)
        assert lead["address"] == "حي العليا"  # same confidence, older
        lead = await send({"address": "newer, same"}, confidence="MEDIUM", title="c", collected=150)
        assert lead["address"] == "newer, same"
        lead = await send({"address": "older, higher"}, confidence="HIGH", title="d", collected=1)
        assert lead["address"] == "older, higher"

        lead = await send({"rating": 3.0, "reviewsCount": 40}, title="old listing", collected=50)
        assert (lead["rating"], lead["reviewsCount"]) == (4.0, 50)
        lead = await send(
            {"rating": 1.0}, kind="CONTACT_INFO", title="not a listing", collected=999
        )
        assert lead["rating"] == 4.0
        lead = await send({"rating": 4.6, "reviewsCount": 60}, title="new listing", collected=500)
        assert (lead["rating"], lead["reviewsCount"]) == (4.6, 60)

        provenance = {e["title"]: e["fields"] for e in await ws.evidence(lead_id)}
        assert provenance["newer, higher"] == [
            "category", "emails", "phones", "socialProfiles", "tags",
        ]  # fmt: skip
        assert provenance["a"] == ["phones"]
        assert provenance["c"] == ["address", "phones"]
        assert provenance["old listing"] == ["phones"]
        assert provenance["new listing"] == ["phones", "rating", "reviewsCount"]


class TestQuota:
    async def test_past_max_leads_nothing_is_created_and_joins_still_work(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        ws = await workspace(client, owner, plan=None)  # FREE: 100 leads
        await owner.execute(
            "INSERT INTO leads (tenant_id, name, source_type)"
            " SELECT $1::uuid, 'lead ' || n, 'MANUAL' FROM generate_series(1, 99) AS n",
            ws.account.tenant_id,
        )
        job = await ws.job()
        answer = await ws.upload(
            job,
            [
                item({"name": "one", "phone": "0501111111"}, title="1"),
                item({"name": "two", "phone": "0502222222"}, title="2"),
                item({"name": "three", "phone": "0503333333"}, title="3"),
            ],
        )
        assert actions(answer) == ["created", "over_quota", "over_quota"]
        assert lead_ids(answer)[1:] == ["", ""]
        assert len(answer["stored"]) == 3
        evidence = await owner.fetchval(
            "SELECT count(*) FROM evidence WHERE job_id = $1::uuid", job.job_id
        )
        assert evidence == 3
        join = await ws.upload(job, [item({"name": "one", "phones": ["+966501111111"],
                                           "emails": ["one@x.sa"]}, title="4")])  # fmt: skip
        assert join["leads"][0] == {"index": 0, "leadId": lead_ids(answer)[0],
                                    "action": "joined"}  # fmt: skip
        assert await live_leads(owner, ws.account) == 100

    async def test_a_record_that_creates_after_all_still_counts_against_the_quota(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        """The batch locks the quota only when a record may create a lead. Here the second
        record matched the lead by name when the batch began, and no longer does once the
        first record moved the lead to another city: it creates one after all."""
        ws = await workspace(client, owner, plan=None)
        job = await ws.job()
        first = await ws.upload(
            job,
            [item({"name": "مطعم الوادي", "phone": "0114567890", "city": "الرياض"},
                  confidence="MEDIUM")],
        )  # fmt: skip
        answer = await ws.upload(
            job,
            [
                item({"phone": "0114567890", "city": "الخرج"}, confidence="HIGH", title="moved",
                     collected=10),
                item({"name": "مطعم الوادي", "city": "الرياض"}, confidence="MEDIUM",
                     title="the name in the old city", collected=5),
            ],
        )  # fmt: skip
        assert actions(answer) == ["joined", "created"]
        assert lead_ids(answer)[0] == lead_ids(first)[0]
        assert await live_leads(owner, ws.account) == 2


class TestMalformed:
    async def test_messy_records_make_whole_leads(self, ws: Workspace) -> None:
        job = await ws.job()
        answer = await ws.upload(
            job,
            [
                item({"name": "أرقام", "phones": [966501234567, 551234567]}, title="numbers"),
                item(
                    {"name": "garbage", "phone": {"nested": ["0501112222"]},
                     "phones": [[["0503334444"]], None, True, {"a": 1}, "0505556666"],
                     "email": ["not an email", 7], "website": {"url": "x"},
                     "city": ["الرياض"], "lat": "north", "rating": "five"},
                    title="garbage",
                ),
            ],
        )  # fmt: skip
        # Each alone: the request body is bounded too (64 KB in the tests' settings).
        many = await ws.upload(
            job, [item({"name": "many", "phones": [966510000000 + n for n in range(3_500)]})]
        )
        long_name = await ws.upload(
            job, [item({"name": "ن" * 25_000, "phone": "0507778888"}, title="long name")]
        )
        ids = [*lead_ids(answer), *lead_ids(many), *lead_ids(long_name)]
        assert actions(answer) + actions(many) + actions(long_name) == ["created"] * 4
        read = [await ws.lead(str(i)) for i in ids]
        assert None not in read
        numbers, garbage, many, long_name = (lead or {} for lead in read)
        assert numbers["phones"] == ["+966501234567", "+966551234567"]
        assert garbage["phones"] == ["+966505556666"]
        assert (garbage["emails"], garbage["website"], garbage["city"]) == ([], None, None)
        assert (garbage["location"], garbage["rating"]) == (None, None)
        assert len(many["phones"]) == 20
        assert len(long_name["name"]) == 300

    @pytest.mark.parametrize(
        ("raw", "status"),
        [
            ({"name": "x", "phones": [f"05{n:08d}" for n in range(10_000)]}, 413),
            ({"name": "nul\u0000", "phone": "0501234567"}, 422),
            ({"name": "x" * 60_000}, 413),
        ],
    )
    async def test_what_evidence_refuses_stores_nothing(
        self, ws: Workspace, owner: asyncpg.Connection, raw: dict[str, Any], status: int
    ) -> None:
        job = await ws.job()
        response = await ws.client.post(
            f"/v1/agent/jobs/{job.job_id}/evidence",
            json={"leaseId": job.lease, "items": [item({"name": "ok", "phone": "0509990000"}),
                                                  item(raw, title="bad")]},
            headers=ws.agent.headers,
        )  # fmt: skip
        assert response.status_code == status, response.text
        assert response.json()["code"] in {"payload_too_large", "validation_error"}
        assert response.json().get("item", 1) == 1  # the item's limit, or the body's
        assert await live_leads(owner, ws.account) == 0
        stored = await owner.fetchval(
            "SELECT count(*) FROM evidence WHERE job_id = $1::uuid", job.job_id
        )
        assert stored == 0


class TestPermissionsUnaffected:
    async def test_a_sales_member_sees_agent_leads_as_unassigned(
        self, client: httpx.AsyncClient, ws: Workspace
    ) -> None:
        answer = await ws.upload(await ws.job(), [item(ALAMAL)])
        sales = await member(client, ws.account, "SALES")
        seen = await client.get(f"/v1/leads/{lead_ids(answer)[0]}", headers=sales.headers)
        assert seen.status_code == 200
        assert seen.json()["ownerId"] is None
