"""GET /v1/leads and /count as a client with other habits uses them: phones typed the ways the
Gulf types them, addresses and domains in capitals, IDN and punycode, and parameters and
cursors built to break the query. Every answer is a page (or a count) or a 422 naming the
parameter; never a 500, never another tenant's lead."""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, on_plan, signup
from tests.factories.leads import create_lead

NIL = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "ENTERPRISE")
    return account


def cursor_of(payload: Any) -> str:
    text = json.dumps(payload, ensure_ascii=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def ids(client: httpx.AsyncClient, account: Account, **params: Any) -> list[str]:
    response = await client.get("/v1/leads", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return [lead["id"] for lead in response.json()["items"]]


class TestQ:
    LEADS: ClassVar[dict[str, dict[str, Any]]] = {
        "uae": {"name": "Dubai Mobile", "phones": ["+971 50 123 4567"]},
        "kw": {"name": "Kuwait Mobile", "phones": ["+965 9911 2233"]},
        "eg": {"name": "Cairo Mobile", "phones": ["+20 10 1234 5678"]},
        "om": {"name": "Muscat", "phones": ["+968 9123 4567"]},
        "bh": {"name": "Manama", "phones": ["+973 3612 3456"]},
        "qa": {"name": "Doha", "phones": ["+974 5512 3456"]},
        "ruh": {"name": "Riyadh Landline", "phones": ["011 456 7890"]},
        "mail": {
            "name": "Mail Co",
            "emails": ["Info@Shop.Example.COM.SA"],
            "website": "HTTP://WWW.Shop.Example.COM.SA/path?x",
        },
        "idn": {
            "name": "IDN Co",
            "website": "https://مثال.السعودية",
            "emails": ["s@مثال.السعودية"],
        },
        "plus": {"name": "Plus Co", "emails": ["sales+leads@plus.example"]},
        "latin": {"name": "Zoë’s Crème Café", "contactName": "José Núñez"},
    }
    # fmt: off
    QUERIES: ClassVar[list[tuple[str, str]]] = [
        ("uae", "+٩٧١ ٥٠ ١٢٣ ٤٥٦٧"), ("uae", "00971501234567"), ("uae", "971-50-123-4567"),
        ("uae", "050 123 4567"), ("kw", "(+965) 9911-2233"), ("kw", "٩٩١١ ٢٢٣٣"),
        ("eg", "0020 10 1234 5678"), ("eg", "٠١٠١٢٣٤٥٦٧٨"), ("om", "96891234567"),
        ("om", "9123 4567"), ("bh", "00973 3612 3456"), ("qa", "974 5512 3456"),
        ("ruh", "(011) 456 7890"), ("ruh", "۰۱۱۴۵۶۷۸۹۰"), ("ruh", "٠١١٤٥٦7890"),
        ("ruh", "+966 11 456 7890 ext. 12"), ("ruh", "011 456 7890 تحويلة 3"),
        ("ruh", "tel:0114567890"), ("mail", "INFO@SHOP"), ("mail", "WWW.Shop.Example.COM.SA"),
        ("mail", "http://shop.example.com.sa/x"), ("idn", "مثال.السعودية"), ("idn", "xn--mgbh0fb"),
        ("idn", "s@مثال"), ("plus", "sales+leads"), ("latin", "zoes"), ("latin", "Zoe's"),
        ("latin", "CRÈME"), ("latin", "jose nunez"), ("latin", "zoë’s crème"),
    ]
    # fmt: on

    async def test_each_spelling_finds_its_lead_and_count_agrees(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        made = {
            key: (await create_lead(client, boss, **body))["id"] for key, body in self.LEADS.items()
        }
        missed = []
        for key, q in self.QUERIES:
            found = await ids(client, boss, q=q)
            count = await client.get("/v1/leads/count", params={"q": q}, headers=boss.headers)
            if made[key] not in found or count.json()["count"] != len(found):
                missed.append((key, q, len(found), count.json()))
        assert missed == []

    @pytest.mark.parametrize(
        "q", ["%", "_", "\\", "%%%", "'; DROP TABLE leads; --", "ـــ", "\u200f"]
    )
    async def test_wildcards_and_nothing_searchable_match_nothing(
        self, client: httpx.AsyncClient, boss: Account, q: str
    ) -> None:
        await create_lead(client, boss, name="100% Halal_Shop \\o/")
        assert await ids(client, boss, q=q) == []


class TestParameters:
    # fmt: off
    REFUSED: ClassVar[list[tuple[dict[str, Any] | str, str]]] = [
        ({"status": "ARCHIVED"}, "status"), ({"status": "new"}, "status"),
        ({"status": ["NEW"] * 6}, "status"), ({"sort": "phones"}, "sort"), ({"sort": ""}, "sort"),
        ({"sort": "-id"}, "sort"), ({"unassigned": "maybe"}, "unassigned"),
        ({"deleted": "both"}, "deleted"), ({"ownerId": "me"}, "ownerId"),
        ({"createdFrom": "yesterday"}, "createdFrom"),
        ({"createdFrom": "2026-13-01"}, "createdFrom"),
        ({"country": "ZZ"}, "country"), ({"country": "KSA"}, "country"),
        ({"source": "AGENT"}, "source"), ({"q": "x" * 201}, "q"), ({"q": "a\x00b"}, "q"),
        ({"city": "\x07"}, "city"), ({"tag": ""}, "tag"),
        ({"tag": ["t"] * 21}, "tag"), ({"owner": "x"}, "owner"), ("ownerId=", "ownerId"),
        ("status=", "status"),
    ]
    # fmt: on

    async def test_a_bad_filter_is_422_naming_it_on_pages_and_counts(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        wrong: list[tuple[object, ...]] = []
        for params, name in self.REFUSED:
            for path in ("/v1/leads", "/v1/leads/count"):
                if isinstance(params, str):
                    response = await client.get(f"{path}?{params}", headers=boss.headers)
                else:
                    response = await client.get(path, params=params, headers=boss.headers)
                problem = response.json()
                named = [error["loc"][1] for error in problem.get("errors", [])]
                if response.status_code != 422 or name not in named:
                    wrong.append((path, params, response.status_code, response.text[:150]))
        assert wrong == []

    @pytest.mark.parametrize("limit", ["0", "-1", "201", str(10**9), str(10**30), "abc", "٥", "²"])
    async def test_a_limit_outside_1_to_200_is_422(
        self, client: httpx.AsyncClient, boss: Account, limit: str
    ) -> None:
        response = await client.get(f"/v1/leads?limit={limit}", headers=boss.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["query", "limit"]

    @pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
    async def test_a_time_with_no_utc_form_is_422(
        self, client: httpx.AsyncClient, boss: Account, moment: str
    ) -> None:
        for path in ("/v1/leads", "/v1/leads/count"):
            response = await client.get(path, params={"createdTo": moment}, headers=boss.headers)
            assert response.status_code == 422, response.text

    async def test_an_unknown_list_is_404_and_an_empty_question_is_empty(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        await create_lead(client, boss, name="Anyone")
        response = await client.get("/v1/leads", params={"listId": NIL}, headers=boss.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        params = {"createdFrom": "2026-12-01", "createdTo": "2026-01-01"}
        assert await ids(client, boss, **params) == []
        assert await ids(client, boss, ownerId=boss.user_id, unassigned="true") == []


class TestCursors:
    async def test_another_tenants_cursor_is_a_position_in_ours_and_never_theirs(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        other = await signup(client)
        await on_plan(owner, other, "ENTERPRISE")
        mine = [(await create_lead(client, boss, name=f"Mine {n}"))["id"] for n in range(3)]
        theirs = [(await create_lead(client, other, name=f"Theirs {n}"))["id"] for n in range(3)]
        page = await client.get("/v1/leads", params={"limit": 1}, headers=other.headers)
        cursor = page.json()["nextCursor"]
        response = await client.get(
            "/v1/leads", params={"limit": 10, "cursor": cursor}, headers=boss.headers
        )
        assert response.status_code == 200, response.text
        found = [lead["id"] for lead in response.json()["items"]]
        assert set(found) <= set(mine)
        assert not set(found) & set(theirs)

    async def test_a_cursor_of_another_sort_is_422(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        for n in range(3):
            await create_lead(client, boss, name=f"Rated {n}", rating=n)
        page = await client.get(
            "/v1/leads", params={"limit": 1, "sort": "rating"}, headers=boss.headers
        )
        cursor = page.json()["nextCursor"]
        for sort in ("-rating", "name", "createdAt", "-lastActivityAt"):
            response = await client.get(
                "/v1/leads", params={"cursor": cursor, "sort": sort}, headers=boss.headers
            )
            assert response.status_code == 422, (sort, response.text)
            assert "another sort" in response.json()["detail"]

    # fmt: off
    FORGED: ClassVar[list[tuple[str, Any]]] = [
        ("rating", {"v": 1, "s": "rating", "k": True, "i": NIL}),
        ("rating", {"v": 1, "s": "rating", "k": "NaN", "i": NIL}),
        ("rating", {"v": 1, "s": "rating", "k": 1e308, "i": NIL}),
        ("rating", {"v": 1, "s": "rating", "k": None, "i": "x"}),
        ("rating", {"v": 1, "s": "rating", "k": 1}),
        ("-createdAt", {"v": 1, "s": "-createdAt", "k": "0001-01-01T00:00:00+14:00", "i": NIL}),
        ("-createdAt", {"v": 1, "s": "-createdAt", "k": "2026-01-01T00:00:00", "i": NIL}),
        ("-createdAt", {"v": 1, "s": "-createdAt", "k": 5, "i": NIL}),
        ("-createdAt",
         {"v": 1, "s": "-createdAt", "k": "2026-01-01T00:00:00+00:00", "i": NIL, "x": 1}),
        ("name", {"v": 1, "s": "name", "k": "\u0000", "i": NIL}),
        ("name", {"v": 1, "s": "name", "k": "\ud800", "i": NIL}),
        ("name", {"v": 1, "s": "name", "k": "n" * 301, "i": NIL}),
        ("name", {"v": 2, "s": "name", "k": "a", "i": NIL}),
        ("name", [1, 2]), ("name", "x"), ("name", None), ("name", 5),
    ]
    # fmt: on

    async def test_a_forged_cursor_is_422_never_500(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        await create_lead(client, boss, name="Anyone", rating=3)
        wrong: list[tuple[object, ...]] = []
        for sort, payload in self.FORGED:
            response = await client.get(
                "/v1/leads",
                params={"sort": sort, "cursor": cursor_of(payload), "q": "any"},
                headers=boss.headers,
            )
            if response.status_code != 422:
                wrong.append((payload, response.status_code, response.text[:150]))
        for raw in ("x", "==", "%%%", "eyJ", "e30", "bnVsbA", "A" * 501):
            response = await client.get("/v1/leads", params={"cursor": raw}, headers=boss.headers)
            if response.status_code != 422:
                wrong.append((raw, response.status_code, response.text[:150]))
        assert wrong == []
