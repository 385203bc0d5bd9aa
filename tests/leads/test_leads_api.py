"""The lead record over HTTP: create and read, who may call what, and input built to break it.

Normalization on write: test_leads_normalization.py; identity keys: test_leads_keys.py; PATCH,
ETag and the timeline: test_leads_patch.py; owners: test_leads_owners.py; trash and notes:
test_leads_trash_notes.py; quota and audit: test_leads_quota_audit.py.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from leedz.leads.schemas import MAX_CUSTOM_FIELDS_DEPTH
from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import create_lead, key_count, lead_count, stored

FULL = {
    "name": "مطعم الأمل",
    "contactName": "Khalid",
    "category": "Restaurant",
    "phones": ["0501234567"],
    "emails": ["info@alamal.com.sa"],
    "website": "https://www.alamal.com.sa/menu",
    "socialProfiles": {"instagram": "@alamal", "x": "https://x.com/alamal"},
    "address": "King Fahd Rd",
    "city": "Riyadh",
    "country": "SA",
    "location": {"lat": 24.7136, "lng": 46.6753},
    "rating": 4.5,
    "reviewsCount": 120,
    "externalIds": {"googleMaps": "ChIJ123"},
    "status": "CONTACTED",
    "tags": ["vip"],
    "doNotContact": True,
    "customFields": {"branch": "Olaya", "seats": 40, "menu": {"halal": True}},
    "confidence": "MEDIUM",
}


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


class TestCreateAndRead:
    async def test_every_field_round_trips(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        response = await client.post("/v1/leads", json=FULL, headers=boss.headers)
        assert response.status_code == 201, response.text
        lead = response.json()
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"/v1/leads/{lead['id']}"
        assert lead["phones"] == ["+966501234567"]
        assert lead["website"] == "https://www.alamal.com.sa/menu"
        assert lead["domain"] == "alamal.com.sa"
        assert lead["location"] == {"lat": 24.7136, "lng": 46.6753}
        assert lead["source"] == {"type": "MANUAL", "jobId": None}
        assert lead["version"] == 1
        assert lead["ownerId"] is None
        assert lead["deletedAt"] is None
        assert lead["possibleDuplicates"] == []
        for field in (
            "name", "contactName", "category", "emails", "socialProfiles", "address", "city",
            "country", "rating", "reviewsCount", "externalIds", "status", "tags",
            "doNotContact", "customFields", "confidence",
        ):  # fmt: skip
            assert lead[field] == FULL[field], field
        got = await client.get(f"/v1/leads/{lead['id']}", headers=boss.headers)
        assert got.status_code == 200
        assert got.headers["etag"] == '"1"'
        assert got.json() == {k: v for k, v in lead.items() if k != "possibleDuplicates"}
        row = await stored(owner, lead["id"])
        assert row["created_by_id"] == uuid.UUID(boss.user_id)
        assert row["source_type"] == "MANUAL"

    async def test_only_a_name_is_required(self, client: httpx.AsyncClient, boss: Account) -> None:
        lead = await create_lead(client, boss, name="  Al Amal  ")
        assert lead["name"] == "Al Amal"
        assert lead["status"] == "NEW"
        assert lead["confidence"] == "HIGH"
        assert (lead["phones"], lead["emails"], lead["tags"]) == ([], [], [])
        assert (lead["socialProfiles"], lead["externalIds"], lead["customFields"]) == ({}, {}, {})
        assert lead["doNotContact"] is False
        assert lead["createdAt"] == lead["updatedAt"] == lead["lastActivityAt"]

    async def test_the_fields_sent_are_recorded_as_edited_by_hand(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, name="X", phones=["0501234567"], city="Riyadh")
        assert (await stored(owner, lead["id"]))["edited_fields"] == ["city", "name", "phones"]

    async def test_the_derived_columns_are_written(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(
            client, boss, name="شركة الأمل للتجارة ذ.م.م", contactName="Khālid",
            phones=["0501234567"], emails=["Info@AlAmal.com.sa"], website="alamal.com.sa",
        )  # fmt: skip
        row = await stored(owner, lead["id"])
        assert row["name_key"] == "الامل للتجاره"
        assert row["name_sort"] == "شركه الامل للتجاره ذمم"
        for part in ("شركه الامل للتجاره ذمم", "khalid", "info@alamal.com.sa", "alamal.com.sa",
                     "966501234567"):  # fmt: skip
            assert part in row["search_text"], part


class TestRoles:
    async def test_sales_create_read_change_and_annotate(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        lead = await create_lead(client, sales, name="From sales")
        path = f"/v1/leads/{lead['id']}"
        assert (await client.get(path, headers=sales.headers)).status_code == 200
        changed = await client.patch(path, json={"status": "CONTACTED"}, headers=sales.headers)
        assert changed.status_code == 200
        note = await client.post(f"{path}/notes", json={"body": "called"}, headers=sales.headers)
        assert note.status_code == 201
        assert (await client.get(f"{path}/activities", headers=sales.headers)).status_code == 200

    @staticmethod
    def routes(lead_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
        return [
            ("GET", f"/v1/leads/{lead_id}", None),
            ("PATCH", f"/v1/leads/{lead_id}", {"name": "Taken over"}),
            ("DELETE", f"/v1/leads/{lead_id}", None),
            ("POST", f"/v1/leads/{lead_id}/restore", None),
            ("GET", f"/v1/leads/{lead_id}/activities", None),
            ("POST", f"/v1/leads/{lead_id}/notes", {"body": "hello"}),
        ]

    async def test_anonymous_is_401_everywhere(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        anonymous = [("POST", "/v1/leads", {"name": "x"}), *self.routes(lead["id"])]
        for method, path, body in anonymous:
            response = await client.request(method, path, json=body)
            assert response.status_code == 401, (method, path)
            assert response.json()["code"] == "unauthorized"

    async def test_another_tenants_lead_is_404_on_every_route(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, phones=["0501234567"])
        before = await stored(owner, lead["id"])
        stranger = await signup(client)
        for method, path, body in self.routes(lead["id"]):
            response = await client.request(method, path, json=body, headers=stranger.headers)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["code"] == "not_found"
        assert await stored(owner, lead["id"]) == before
        # Nor does the stranger's tenant see the key: the same phone is theirs to use.
        await create_lead(client, stranger, phones=["0501234567"])

    async def test_a_random_uuid_is_404_on_every_route(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        for method, path, body in self.routes(str(uuid.uuid4())):
            response = await client.request(method, path, json=body, headers=boss.headers)
            assert response.status_code == 404, (method, path, response.text)

    @pytest.mark.parametrize("lead_id", ["not-a-uuid", "1", "00000000-0000-0000-0000-00000000000g"])
    async def test_a_non_uuid_id_is_422_on_every_route(
        self, client: httpx.AsyncClient, boss: Account, lead_id: str
    ) -> None:
        for method, path, body in self.routes(lead_id):
            response = await client.request(method, path, json=body, headers=boss.headers)
            assert response.status_code == 422, (method, path, response.text)
            assert response.json()["errors"][0]["loc"] == ["path", "lead_id"]


def _nested(depth: int) -> Any:
    """A custom field value with which customFields (level 1) nests `depth` levels deep."""
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return value


BAD_BODIES: list[Any] = [
    pytest.param({"name": "n" * 301}, id="name over 300"),
    pytest.param({"name": ""}, id="name empty"),
    pytest.param({"name": " \u00a0 "}, id="name blank"),
    pytest.param({}, id="no name"),
    pytest.param({"name": "x", "phones": ["1"] * 10_000}, id="10000 phones"),
    pytest.param({"name": "x", "tags": ["t"] * 10_000}, id="10000 tags"),
    pytest.param({"name": "x", "emails": [f"a{i}@x.com" for i in range(21)]}, id="21 emails"),
    pytest.param({"name": "x", "tags": [f"t{i}" for i in range(51)]}, id="51 tags"),
    pytest.param({"name": "x", "tags": ["t" * 51]}, id="tag over 50"),
    pytest.param({"name": "x", "tags": ["  "]}, id="blank tag"),
    pytest.param({"name": "x", "status": "ARCHIVED"}, id="unknown status"),
    pytest.param({"name": "x", "status": "new"}, id="status in lower case"),
    pytest.param({"name": "x", "colour": "red"}, id="unknown field"),
    pytest.param({"name": "x", "id": str(uuid.uuid4())}, id="id is not writable"),
    pytest.param({"name": "x", "version": 7}, id="version is not writable"),
    pytest.param({"name": "x", "source": {"type": "SEARCH"}}, id="source is not writable"),
    pytest.param({"name": "x", "domain": "alamal.com.sa"}, id="domain is derived"),
    pytest.param({"name": "x", "customFields": {f"k{i}": i for i in range(51)}}, id="51 custom"),
    pytest.param({"name": "x", "customFields": {"k": "v" * 16_400}}, id="custom over 16 KB"),
    pytest.param({"name": "x", "customFields": {"bad key": 1}}, id="custom key with space"),
    pytest.param({"name": "x", "customFields": {"1st": 1}}, id="custom key with digit first"),
    pytest.param({"name": "x", "customFields": {"k" * 41: 1}}, id="custom key over 40"),
    pytest.param(
        {"name": "x", "customFields": {"deep": _nested(MAX_CUSTOM_FIELDS_DEPTH + 1)}},
        id="custom nested too deep",
    ),
    pytest.param(
        {"name": "x", "customFields": {"d": {"a": {"b": {"c": {"e": {}}}}}}},
        id="custom objects nested too deep",
    ),
    pytest.param({"name": "x", "customFields": []}, id="custom not an object"),
    pytest.param({"name": "x", "externalIds": {"google maps": "1"}}, id="system with space"),
    pytest.param({"name": "x", "externalIds": {"google:maps": "1"}}, id="system with colon"),
    pytest.param({"name": "x", "externalIds": {"": "1"}}, id="system empty"),
    pytest.param({"name": "x", "externalIds": {"9lives": "1"}}, id="system digit first"),
    pytest.param({"name": "x", "externalIds": {"s": "1" * 301}}, id="external id over 300"),
    pytest.param({"name": "x", "externalIds": {f"s{i}": "1" for i in range(11)}}, id="11 ids"),
    pytest.param({"name": "x", "externalIds": {"googleMaps": 5}}, id="external id a number"),
    pytest.param({"name": "x", "rating": 6}, id="rating 6"),
    pytest.param({"name": "x", "rating": -0.1}, id="rating negative"),
    pytest.param({"name": "x", "reviewsCount": -1}, id="reviews negative"),
    pytest.param({"name": "x", "reviewsCount": 2**31}, id="reviews over int4"),
    pytest.param({"name": "x", "location": {"lat": 24.7}}, id="lat without lng"),
    pytest.param({"name": "x", "location": {"lng": 46.6}}, id="lng without lat"),
    pytest.param({"name": "x", "location": {"lat": 91, "lng": 0}}, id="lat 91"),
    pytest.param({"name": "x", "location": {"lat": 0, "lng": 181}}, id="lng 181"),
    pytest.param({"name": "x", "country": "XX"}, id="country XX"),
    pytest.param({"name": "x", "country": "SAU"}, id="country alpha-3"),
    pytest.param({"name": "x", "country": "Saudi Arabia"}, id="country name"),
    pytest.param({"name": "x", "ownerId": "me"}, id="owner not a uuid"),
    pytest.param({"name": "x", "doNotContact": "yes"}, id="doNotContact a string"),
    pytest.param({"name": "x", "confidence": "CERTAIN"}, id="unknown confidence"),
    pytest.param({"name": "x", "socialProfiles": {"myspace": "x"}}, id="unknown network"),
    pytest.param({"name": "x", "socialProfiles": {"x": "h" * 301}}, id="profile over 300"),
    pytest.param({"name": "x", "website": 5}, id="website a number"),
    pytest.param({"name": "x", "website": ["a.com"]}, id="website a list"),
    pytest.param({"name": "x", "phones": "0501234567"}, id="phones a string"),
    pytest.param({"name": "x", "phones": [966501234567]}, id="phone a number"),
    pytest.param({"name": "x", "emails": ["not an address"]}, id="email invalid"),
    pytest.param({"name": "x", "city": "c" * 121}, id="city over 120"),
    pytest.param({"name": "x", "address": "a" * 501}, id="address over 500"),
    pytest.param({"name": "x", "website": "https://" + "a" * 2050 + ".com"}, id="website long"),
    pytest.param(["name"], id="body an array"),
    pytest.param("name", id="body a string"),
]

# NUL wherever a string goes; also the other C0 controls.
NUL_BODIES: list[Any] = [
    pytest.param({"name": "a\x00b"}, id="name"),
    pytest.param({"name": "x", "contactName": "\x00"}, id="contactName"),
    pytest.param({"name": "x", "category": "a\x00"}, id="category"),
    pytest.param({"name": "x", "address": "a\x00"}, id="address"),
    pytest.param({"name": "x", "city": "a\x00"}, id="city"),
    pytest.param({"name": "x", "country": "S\x00"}, id="country"),
    pytest.param({"name": "x", "website": "alamal.com.sa\x00"}, id="website"),
    pytest.param({"name": "x", "phones": ["050\x001234567"]}, id="phone"),
    pytest.param({"name": "x", "emails": ["a\x00@x.com"]}, id="email"),
    pytest.param({"name": "x", "tags": ["a\x00b"]}, id="tag"),
    pytest.param({"name": "x", "tags": ["a\x07b"]}, id="tag with BEL"),
    pytest.param({"name": "x", "externalIds": {"googleMaps": "a\x00b"}}, id="external id"),
    pytest.param({"name": "x", "externalIds": {"google\x00": "1"}}, id="external system"),
    pytest.param({"name": "x", "socialProfiles": {"instagram": "@a\x00"}}, id="social profile"),
    pytest.param({"name": "x", "customFields": {"k": "a\x00b"}}, id="custom value"),
    pytest.param({"name": "x", "customFields": {"k\x00": 1}}, id="custom key"),
    pytest.param({"name": "x", "customFields": {"k": {"in\x00ner": 1}}}, id="nested custom key"),
    pytest.param({"name": "x", "customFields": {"k": ["ok", {"v": "\x00"}]}}, id="nested value"),
    pytest.param({"name": "x", "customFields": {"k": "\x1b[31m"}}, id="custom escape"),
]


class TestBadInput:
    """Each a clear 4xx naming the problem, and nothing stored (rows counted as the owner)."""

    @staticmethod
    async def nothing_stored(owner: asyncpg.Connection, account: Account) -> None:
        assert await lead_count(owner, account) == 0
        assert await key_count(owner, account) == 0

    @pytest.mark.parametrize("body", BAD_BODIES)
    async def test_refused_with_422(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, body: Any
    ) -> None:
        response = await client.post("/v1/leads", json=body, headers=boss.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        await self.nothing_stored(owner, boss)

    @pytest.mark.parametrize("body", NUL_BODIES)
    async def test_control_characters_are_refused_before_the_database_sees_them(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, body: Any
    ) -> None:
        response = await client.post("/v1/leads", json=body, headers=boss.headers)
        assert response.status_code == 422, response.text
        problem = response.json()
        # Refused by validation (naming where), not by PostgreSQL's DataError (which names none).
        assert problem["detail"] != "A value is out of range or not representable"
        field = next((k for k in body if k != "name"), "name")
        assert problem["errors"][0]["loc"][:2] == ["body", field]
        await self.nothing_stored(owner, boss)

    @pytest.mark.parametrize("body", NUL_BODIES)
    async def test_and_on_patch_too(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, body: Any
    ) -> None:
        lead = await create_lead(client, boss)
        before = await stored(owner, lead["id"])
        response = await client.patch(f"/v1/leads/{lead['id']}", json=body, headers=boss.headers)
        assert response.status_code == 422, response.text
        assert await stored(owner, lead["id"]) == before

    async def test_custom_fields_at_the_bounds_are_accepted(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        fields: dict[str, Any] = {f"k{i}": i for i in range(48)}
        fields["deep"] = _nested(MAX_CUSTOM_FIELDS_DEPTH)
        fields["tree"] = {"a": {"b": {"c": {"d": 1}}}}
        lead = await create_lead(client, boss, customFields=fields)
        assert lead["customFields"] == fields
        big = await create_lead(client, boss, name="big", customFields={"k": "v" * 16_000})
        assert len(big["customFields"]["k"]) == 16_000
        text = await create_lead(
            client, boss, name="text", customFields={"note": "line one\nline two\ttabbed"}
        )
        assert text["customFields"]["note"] == "line one\nline two\ttabbed"

    @pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
    async def test_numbers_jsonb_cannot_hold_are_refused(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, number: str
    ) -> None:
        for body in (
            f'{{"name": "x", "customFields": {{"n": {number}}}}}',
            f'{{"name": "x", "customFields": {{"n": [1, {{"m": {number}}}]}}}}',
            f'{{"name": "x", "rating": {number}}}',
            f'{{"name": "x", "location": {{"lat": {number}, "lng": 1}}}}',
        ):
            response = await client.post(
                "/v1/leads",
                content=body,
                headers={**boss.headers, "content-type": "application/json"},
            )
            assert response.status_code == 422, (body, response.text)
            assert response.json()["detail"] != "A value is out of range or not representable"
        await self.nothing_stored(owner, boss)

    async def test_a_100_kb_name_is_over_the_body_limit(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        # The tests' LEEDZ_MAX_BODY_BYTES is 64 KiB (tests/conftest.py).
        response = await client.post(
            "/v1/leads", json={"name": "n" * 100_000}, headers=boss.headers
        )
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        big_tags = {"name": "x", "tags": ["tag-" + str(i) for i in range(10_000)]}
        response = await client.post("/v1/leads", json=big_tags, headers=boss.headers)
        assert response.status_code == 413
        await self.nothing_stored(owner, boss)

    async def test_a_long_name_under_the_body_limit_is_422(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        response = await client.post("/v1/leads", json={"name": "ن" * 20_000}, headers=boss.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "name"]
        await self.nothing_stored(owner, boss)

    @pytest.mark.parametrize(
        "content", ['{"name": ', '{"name": "x",}', "name=x", '{"name": "x"} trailing']
    )
    async def test_malformed_json_is_422(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, content: str
    ) -> None:
        response = await client.post(
            "/v1/leads",
            content=content,
            headers={**boss.headers, "content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == "The request body is not valid JSON"
        await self.nothing_stored(owner, boss)

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(
                b'{"name": "x", "customFields": {"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}}",
                id="nested past the parser",
            ),
            pytest.param(b'{"name": "\xff"}', id="not UTF-8"),
        ],
    )
    async def test_what_the_json_parser_refuses_is_400(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, content: bytes
    ) -> None:
        response = await client.post(
            "/v1/leads",
            content=content,
            headers={**boss.headers, "content-type": "application/json"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "bad_request"
        await self.nothing_stored(owner, boss)

    async def test_a_body_that_is_not_json_at_all(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        response = await client.post(
            "/v1/leads", content=json.dumps({"name": "x"}), headers={**boss.headers,
            "content-type": "text/plain"},
        )  # fmt: skip
        assert response.status_code == 422
        await self.nothing_stored(owner, boss)
