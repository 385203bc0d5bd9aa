"""Evidence records spelled the ways a new agent's connectors spell them, through the REST
upload: Gulf phones in every script and prefix, cities and names wrapped in the direction
marks of an Arabic page, e-mail domains in punycode, websites on shared hosts and IP
addresses, over-long place ids, review counts grouped with commas, lone surrogates. What is the
same business joins one lead; what is not stays apart; what cannot be stored is refused with
nothing of the batch kept."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest

from tests.resolution.support import Workspace, actions, item, lead_ids, live_leads, workspace


@pytest.fixture
async def ws(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, owner)


async def one_by_one(ws: Workspace, records: list[dict[str, Any]], **job: Any) -> list[str]:
    """Each record uploaded alone, in order, as a maps listing; the lead of each."""
    held = await ws.job(job or None)
    found = []
    for n, raw in enumerate(records):
        answer = await ws.upload(held, [item(raw, collected=n)])
        found += lead_ids(answer)
    return found


class TestSameBusiness:
    async def test_a_city_wrapped_in_direction_marks_is_the_same_city(
        self, ws: Workspace, owner: asyncpg.Connection
    ) -> None:
        # No phones, no website: only rule 5 (name and city) can tie them.
        leads = await one_by_one(
            ws,
            [
                {"name": "مطعم الوادي", "city": "جدة"},
                {"name": "مطعم الوادي", "city": "\u202bجدة\u202c"},
                {"name": "\u200fمطعم الوادي\u200f", "city": "جدة\u200f "},
                {"name": "مطعــم الوادى", "city": " \u2067جدة\u2069"},
            ],
        )
        assert len(set(leads)) == 1, leads
        lead = await ws.lead(leads[0])
        assert lead is not None
        assert (lead["name"], lead["city"]) == ("مطعم الوادي", "جدة")
        filtered = await ws.client.get("/v1/leads", params={"city": "جدة"}, headers=ws.headers)
        assert [x["id"] for x in filtered.json()["items"]] == [leads[0]]
        assert await live_leads(owner, ws.account) == 1

    async def test_gulf_phones_in_any_spelling_join_one_lead(self, ws: Workspace) -> None:
        spellings = {
            "om": ["+968 9123 4567", "96891234567", "٠٠٩٦٨ ٩١٢٣ ٤٥٦٧", "(+968) 9123-4567"],
            "bh": ["+973 3612 3456", "0097336123456", "973-3612-3456", "+۹۷۳ ۳۶۱۲ ۳۴۵۶"],
            "qa": ["+974 5512 3456", "97455123456", "٠٠٩٧٤٥٥١٢٣٤٥٦"],
            "ae": ["+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "971501234567", "00971-50-123-4567"],
            "ruh": ["011 456 7890", "+966 11 456 7890 ext. 12", "٠١١٤٥٦٧٨٩٠ تحويلة ٣",
                    "(011) 456-7890"],
        }  # fmt: skip
        for label, phones in spellings.items():
            # Names differ (an English and an Arabic listing): only the phone ties them.
            records = [{"name": f"{label} {n} مكان", "phone": p} for n, p in enumerate(phones)]
            leads = await one_by_one(ws, records)
            assert len(set(leads)) == 1, (label, leads)

    async def test_the_same_local_digits_in_two_countries_are_two_leads(
        self, ws: Workspace
    ) -> None:
        saudi = await one_by_one(ws, [{"name": "Al Noor", "phone": "050 123 4567"}])
        emirati = await one_by_one(
            ws,
            [{"name": "Al Noor", "phone": "050 123 4567"}],
            query="q",
            maxResults=5,
            country="AE",
        )
        by_field = await one_by_one(
            ws, [{"name": "Al Noor", "phone": "050 123 4567", "country": "ae"}]
        )
        assert saudi[0] != emirati[0]
        assert by_field == emirati
        lead = await ws.lead(emirati[0])
        assert lead is not None
        assert lead["phones"] == ["+971501234567"]

    async def test_an_e_mail_domain_in_punycode_is_its_unicode_address(self, ws: Workspace) -> None:
        leads = await one_by_one(
            ws,
            [
                {"name": "Example KSA", "email": "Info@مثال.السعودية"},
                {"name": "مثال", "email": "mailto:INFO@XN--MGBH0FB.XN--MGBERP4A5D4AR?subject=x"},
            ],
        )
        assert len(set(leads)) == 1, leads
        lead = await ws.lead(leads[0])
        assert lead is not None
        assert lead["emails"] == ["info@مثال.السعودية"]

    async def test_one_website_spelled_two_ways_in_one_city_joins(self, ws: Workspace) -> None:
        leads = await one_by_one(
            ws,
            [
                {"name": "Shop Example", "city": "Riyadh",
                 "website": "HTTP://WWW.Shop.Example.COM.SA/path?x"},
                {"name": "متجر المثال", "website": "shop.example.com.sa", "city": "RIYADH "},
            ],
        )  # fmt: skip
        assert len(set(leads)) == 1, leads


class TestNotTheSameBusiness:
    SHARED: ClassVar[list[str]] = [
        "https://wa.link/{n}",
        "https://wa.me/96650000000{n}",
        "https://api.whatsapp.com/send?phone=96650000000{n}",
        "https://linktr.ee/shop{n}",
        "https://heylink.me/shop{n}",
        "https://shop{n}.bio.site",
        "https://linkr.bio/shop{n}",
        "https://instabio.cc/shop{n}",
        "https://about.me/shop{n}",
        "https://www.instagram.com/shop{n}/",
        "https://l.instagram.com/?u=shop{n}",
        "https://maps.app.goo.gl/shop{n}",
        "https://www.google.com.sa/maps/place/shop{n}",
        "https://shop{n}.business.site",
        "https://sites.google.com/view/shop{n}",
    ]

    @pytest.mark.parametrize("website", SHARED)
    async def test_two_businesses_on_one_shared_host_stay_two(
        self, ws: Workspace, website: str
    ) -> None:
        # Both in one city, no phones: only the domain could tie them.
        held = await ws.job()
        answer = await ws.upload(
            held,
            [
                item({"name": "Bakery Alpha", "city": "Dubai", "website": website.format(n=1)}),
                item({"name": "Garage Omega", "city": "Dubai", "website": website.format(n=2)}),
            ],
        )
        assert actions(answer) == ["created", "created"], website

    async def test_websites_on_one_ip_address_stay_apart(self, ws: Workspace) -> None:
        held = await ws.job()
        answer = await ws.upload(
            held,
            [
                item({"name": "Clinic A", "city": "Doha", "website": "http://10.0.0.1/a"}),
                item({"name": "Clinic B", "city": "Doha", "website": "http://10.0.0.1/b"}),
            ],
        )
        assert actions(answer) == ["created", "created"]

    async def test_place_ids_longer_than_the_bound_are_no_ids(
        self, ws: Workspace, owner: asyncpg.Connection
    ) -> None:
        # Cut to 300 characters, the two would have been one key.
        common = "ChIJ" + "x" * 296
        held = await ws.job()
        answer = await ws.upload(
            held,
            [
                item({"name": "Long Id One", "placeId": common + "1"}),
                item({"name": "Long Id Two", "placeId": common + "2"}),
                item({"name": "Exact Bound", "placeId": common}),
            ],
        )
        assert actions(answer) == ["created", "created", "created"]
        keys = await owner.fetch(
            "SELECT value FROM lead_keys WHERE tenant_id = $1::uuid AND kind = 'EXTERNAL'",
            ws.account.tenant_id,
        )
        assert [k["value"] for k in keys] == [f"googleMaps:{common}"]

    async def test_names_of_punctuation_or_marks_make_no_lead(
        self, ws: Workspace, owner: asyncpg.Connection
    ) -> None:
        held = await ws.job()
        answer = await ws.upload(
            held,
            [
                item({"name": "***", "city": "Jeddah"}),
                item({"name": "---", "city": "Jeddah"}),
                item({"name": "\u200f\u200e\u200b", "phone": "0501000009"}),
                item({"name": "\ufeff", "city": "Jeddah"}),
            ],
        )
        assert actions(answer) == ["skipped"] * 4
        assert await live_leads(owner, ws.account) == 0


class TestValues:
    async def test_values_read_from_messy_fields(self, ws: Workspace) -> None:
        held = await ws.job()
        raw = {
            "name": "Counts",
            "phone": "0501000020",
            "reviewsCount": "1,234",
            "rating": True,
            "lat": True,
            "lng": False,
            "city": "\u200f\u200e",
            "tags": ["\u200f", " vip\u200f ", "VIP", ""],
            "category": "\u202bمطعم\u202c",
        }
        answer = await ws.upload(held, [item(raw)])
        lead = await ws.lead(answer["leads"][0]["leadId"])
        assert lead is not None
        got = {
            k: lead[k] for k in ("reviewsCount", "rating", "location", "city", "tags", "category")
        }
        assert got == {
            "reviewsCount": 1234,
            "rating": None,
            "location": None,
            "city": None,
            "tags": ["vip"],
            "category": "مطعم",
        }

    @pytest.mark.parametrize("grouped", ["12,34", "1,234.5", "1,2345", ",123"])
    async def test_a_count_that_is_no_grouping_is_dropped(
        self, ws: Workspace, grouped: str
    ) -> None:
        held = await ws.job()
        answer = await ws.upload(held, [item({"name": "G", "reviewsCount": grouped})])
        lead = await ws.lead(answer["leads"][0]["leadId"])
        assert lead is not None
        assert lead["reviewsCount"] is None


class TestRefused:
    @pytest.mark.parametrize(
        "raw",
        [
            '{"name": "a", "\\ud800": 1}',
            '{"name": "\\udc00", "phone": "0501234567"}',
            '{"name": "a", "phones": ["050\\ud8001234567"]}',
            '{"name": "a", "x": [{"y": "\\udbff"}]}',
            '{"name": "a", "reviewsCount": 99999999999999999999}',
        ],
        ids=[
            "surrogate-key",
            "surrogate-name",
            "surrogate-phone",
            "surrogate-nested",
            "int-65-bits",
        ],
    )
    async def test_what_no_database_stores_refuses_the_batch(
        self, ws: Workspace, owner: asyncpg.Connection, raw: str
    ) -> None:
        held = await ws.job()
        good = json.dumps(item({"name": "سليم", "phone": "0509990000"}), ensure_ascii=False)
        shell = item(None)
        del shell["rawData"]
        bad = json.dumps(shell)[:-1] + ', "rawData": ' + raw + "}"
        body = f'{{"leaseId": "{held.lease}", "items": [{good}, {bad}]}}'
        response = await ws.client.post(
            f"/v1/agent/jobs/{held.job_id}/evidence",
            content=body.encode(),
            headers=held.agent.headers | {"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"][0]["loc"][:3] == ["body", "items", 1]
        for table in ("evidence", "leads", "lead_keys", "lead_activities", "lead_evidence"):
            count = await owner.fetchval(
                f"SELECT count(*) FROM {table} WHERE tenant_id = $1::uuid", ws.account.tenant_id
            )
            assert count == 0, table
