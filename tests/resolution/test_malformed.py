"""Malformed rawData through the REST upload: kept with a whole lead, or refused with nothing.

Every case ends one of two ways, never a 500:
- refused: a 4xx with a stable code, and nothing of the batch stored (no evidence, no lead, no
  key, no timeline entry), the well-formed item beside it included;
- kept: the evidence stored, and the lead it made (if any) whole: its keys exactly its phones,
  e-mail addresses and place id, every value within the lead's bounds and in its stored form,
  linked to the evidence, with one CREATED entry.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import asyncpg
import httpx
import pytest

from leedz.leads.normalize import normalize_email, normalize_phone
from tests.resolution.support import Workspace, item, live_leads, workspace


def nested(depth: int) -> Any:
    """A value `depth` levels deep (an object in a list in an object…)."""
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.fixture
async def ws(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, owner)


async def whole(owner: asyncpg.Connection, lead_id: str, evidence_id: str) -> dict[str, Any]:
    """The lead as stored, after checking it is whole."""
    row = await owner.fetchrow("SELECT * FROM leads WHERE id = $1::uuid", lead_id)
    assert row is not None
    lead = dict(row)
    for column in ("external_ids", "social_profiles", "custom_fields"):
        lead[column] = json.loads(lead[column])
    keys = {
        (k["kind"], k["value"])
        for k in await owner.fetch(
            "SELECT kind::text, value FROM lead_keys WHERE lead_id = $1::uuid", lead_id
        )
    }
    external = lead["external_ids"]
    assert keys == (
        {("PHONE", p) for p in lead["phones"]}
        | {("EMAIL", e) for e in lead["emails"]}
        | {("EXTERNAL", f"googleMaps:{v}") for k, v in external.items() if k == "googleMaps"}
    )
    assert len(lead["phones"]) <= 20
    assert len(lead["emails"]) <= 20
    assert len(lead["tags"]) <= 50
    for phone in lead["phones"]:
        assert re.fullmatch(r"\+[1-9]\d{6,14}", phone)
        assert normalize_phone(phone, country=None, default_country="SA") == phone
    for email in lead["emails"]:
        assert normalize_email(email) == email
    for column, bound in (
        ("name", 300),
        ("contact_name", 200),
        ("category", 200),
        ("address", 500),
        ("city", 120),
    ):
        text = lead[column]
        if text is not None:
            assert 0 < len(text) <= bound
            assert text == text.strip()
            assert not any(unicodedata.category(ch) == "Cc" for ch in text)
    assert lead["name"]
    assert lead["rating"] is None or 0 <= lead["rating"] <= 5
    assert (lead["lat"] is None) == (lead["lng"] is None)
    link = await owner.fetchval(
        "SELECT fields FROM lead_evidence WHERE lead_id = $1::uuid AND evidence_id = $2::uuid",
        lead_id,
        evidence_id,
    )
    assert link is not None
    assert "name" in link
    created = await owner.fetchval(
        "SELECT count(*) FROM lead_activities WHERE lead_id = $1::uuid AND type = 'CREATED'",
        lead_id,
    )
    assert created == 1
    return lead


VALID = [f"050{n:07d}" for n in range(25)]

# fmt: off
KEPT: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # raw data → what the lead's columns must be
    "phones as JSON numbers": (
        {"name": "أرقام", "phones": [966501234567, 5.01234567e8, 5.51234567e8, 1e300, -5e8, 0.5]},
        {"phones": ["+966501234567", "+966551234567"]},
    ),
    "one phone as a number in exponent notation": (
        {"name": "أس", "phone": 5.31234567e8},
        {"phones": ["+966531234567"]},
    ),
    "phone arrays with nulls, objects and nested arrays": (
        {"name": "مصفوفات", "phones": [None, {"n": "0501112222"}, [["0502223333"]], True,
                                       [None, "0503334444"], "0505556666", {}], "phone": [[]]},
        {"phones": ["+966505556666"]},
    ),
    "10,000 phones, the valid ones first": (
        {"name": "كثير", "phones": VALID + [0] * (10_000 - len(VALID))},
        {"phones": [normalize_phone(p, country=None, default_country="SA") for p in VALID][:20]},
    ),
    "10,000 phones, the valid ones past the first hundred": (
        {"name": "كثير جدا", "phones": [0] * 9_990 + VALID[:10]},
        {"phones": []},
    ),
    "a 50 KB name": (
        {"name": "ن" * 25_000, "phone": "0507778888"},
        {"name": "ن" * 300, "phones": ["+966507778888"]},
    ),
    "a name of control characters and blanks around words": (
        {"name": "\t\x01 مطعم \x7f\n\n الوادي \x1b", "phone": "0507778889"},
        {"name": "مطعم الوادي"},
    ),
    "e-mail addresses as objects": (
        {"name": "بريد", "phone": "0501231234", "email": {"value": "c@d.sa"},
         "emails": [{"email": "a@b.sa"}, ["x@y.sa"], 7, "Real@Shop.SA"]},
        {"emails": ["real@shop.sa"]},
    ),
    "a website as a list": (
        {"name": "موقع", "phone": "0501231235", "website": ["https://a.sa", "https://b.sa"]},
        {"website": None, "domain": None},
    ),
    "numbers as strings in Arabic-Indic and Persian digits": (
        {"name": "أرقام عربية", "phone": "٠٥٠١٢٣١٢٣٦", "rating": "٤٫٥", "reviewsCount": "١٢٣",
         "lat": "٢٤٫٧١", "lng": "۴۶.۶۷"},
        {"phones": ["+966501231236"], "rating": 4.5, "reviews_count": 123, "lat": 24.71,
         "lng": 46.67},
    ),
    "nested eight levels deep under an unknown key": (
        {"name": "عميق", "phone": "0501231237", "extra": nested(7)},
        {"phones": ["+966501231237"]},
    ),
    "wrong types in every field but the name": (
        {"name": "أنواع", "city": 5, "country": 966, "tags": "a tag", "socialProfiles": ["x"],
         "placeId": {"id": 1}, "rating": True, "reviewsCount": -1, "lat": 100, "lng": 0,
         "category": ["مطعم"], "address": {"line": "x"}, "contactName": 7, "phones": 0.5,
         "email": 12},
        {"city": None, "country": None, "tags": [], "social_profiles": {}, "external_ids": {},
         "rating": None, "reviews_count": None, "lat": None, "category": None, "address": None,
         "contact_name": None, "phones": [], "emails": []},
    ),
}
# fmt: on


@pytest.mark.parametrize("case", list(KEPT))
async def test_messy_raw_data_is_kept_with_a_whole_lead(
    ws: Workspace, owner: asyncpg.Connection, case: str
) -> None:
    raw, expected = KEPT[case]
    job = await ws.job()
    answer = await ws.upload(job, [item(raw, kind="CONTACT_INFO", confidence="MEDIUM")])
    assert len(answer["stored"]) == 1
    assert answer["leads"][0]["action"] == "created"
    lead = await whole(owner, answer["leads"][0]["leadId"], answer["stored"][0])
    assert {column: lead[column] for column in expected} == expected


async def test_a_record_with_nothing_readable_is_kept_and_makes_no_lead(
    ws: Workspace, owner: asyncpg.Connection
) -> None:
    job = await ws.job()
    raw = {
        "name": ["not", "a", "name"],
        "phone": {"a": "0501234567"},
        "emails": [[]],
        "website": 5,
        "placeId": None,
        "extra": nested(7),
    }
    answer = await ws.upload(job, [item(raw)])
    assert answer["leads"] == [{"index": 0, "leadId": None, "action": "skipped"}]
    assert len(answer["stored"]) == 1
    assert await live_leads(owner, ws.account) == 0


# fmt: off
REFUSED: dict[str, tuple[dict[str, Any], int, str]] = {
    "a NUL in a phone": ({"name": "n", "phones": ["050\u00001234567"]}, 422, "validation_error"),
    "a NUL in a key": ({"name": "n", "phone": "0501234567", "a\u0000b": 1}, 422,
                       "validation_error"),
    "a NUL in the name": ({"name": "nul\u0000", "phone": "0501234567"}, 422, "validation_error"),
    "nested nine levels deep": ({"name": "n", "phone": "0501234567", "x": nested(9)}, 422,
                                "validation_error"),
    "nested without end": ({"name": "n", "x": nested(400)}, 422, "validation_error"),
    "an integer beyond 64 bits": ({"name": "n", "phone": 10**20}, 422, "validation_error"),
    "10,000 valid phones (over 50 KB)": (
        {"name": "n", "phones": [966500000000 + n for n in range(10_000)]}, 413,
        "payload_too_large",
    ),
    "a name over 50 KB": ({"name": "x" * 52_000}, 413, "payload_too_large"),
}
# fmt: on


@pytest.mark.parametrize("case", list(REFUSED))
async def test_what_cannot_be_stored_is_refused_and_nothing_is_stored(
    ws: Workspace, owner: asyncpg.Connection, case: str
) -> None:
    raw, status, code = REFUSED[case]
    job = await ws.job()
    good = item({"name": "سليم", "phone": "0509990000", "placeId": "ChIJ-good"}, title="good")
    response = await ws.client.post(
        f"/v1/agent/jobs/{job.job_id}/evidence",
        json={"leaseId": job.lease, "items": [good, item(raw, title="bad")]},
        headers=ws.agent.headers,
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    tenant = ws.account.tenant_id
    for table in ("evidence", "leads", "lead_keys", "lead_activities", "lead_evidence"):
        count = await owner.fetchval(
            f"SELECT count(*) FROM {table} WHERE tenant_id = $1::uuid",
            tenant,
        )
        assert count == 0, table
