"""GET /v1/leads and /count: q and its normalization, filters, sorts, keyset cursors, who sees
what. Leads are created through POST /v1/leads; only what the API cannot set (timestamps,
source, lists, which have no endpoint on this branch) is written as the database owner."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from leedz.leads.normalize import trim_text
from tests.factories.accounts import Account, member, on_plan, signup

Params = dict[str, Any] | list[tuple[str, Any]]


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


async def make(client: httpx.AsyncClient, who: Account, name: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/leads", json={"name": name, **fields}, headers=who.headers)
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def get(client: httpx.AsyncClient, who: Account, params: Params) -> dict[str, Any]:
    response = await client.get("/v1/leads", params=params, headers=who.headers)
    assert response.status_code == 200, f"{params}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def names(client: httpx.AsyncClient, who: Account, params: Params) -> set[str]:
    return {lead["name"] for lead in (await get(client, who, params))["items"]}


async def count(client: httpx.AsyncClient, who: Account, params: Params) -> int:
    response = await client.get("/v1/leads/count", params=params, headers=who.headers)
    assert response.status_code == 200, f"{params}: {response.text}"
    return int(response.json()["count"])


async def page_all(
    client: httpx.AsyncClient, who: Account, params: dict[str, Any], *, limit: int = 2
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(500):
        page = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = await get(client, who, {**params, **page})
        assert len(body["items"]) <= limit
        seen.extend(body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# ---------------------------------------------------------------------------------------------
# q


ARABIC = {
    "مؤسسة الأمل": ["مؤسسه الامل", "موسسة الأمل", "مؤسسة الامل", "الأمل", "الإمل", "الآمل",
                    "الٱمل"],
    "مكتبة إقرأ": ["مكتبه اقرا", "إقرأ", "اقرأ", "آقرا", "كتبة"],
    "مقهى الهدى": ["مقهي الهدي", "مقهى", "الهدى", "هدي"],
    "شركة النـــور": ["شركة النور", "النور", "شركه النور"],
    "مَطْعَمُ الرَّيَّان": ["مطعم الريان", "الريان", "مطعم"],
    "\u200fصالون\u200f الياسمين": ["صالون الياسمين", "\u200fالياسمين\u200e"],
    "متجر ٣٦٥": ["365", "٣٦٥", "۳۶۵", "متجر 365"],
    "صيدلية ۷۸۹": ["789", "٧٨٩", "۷۸۹"],
}  # fmt: skip


async def test_arabic_spellings_find_the_same_lead(
    client: httpx.AsyncClient, boss: Account
) -> None:
    for name in ARABIC:
        await make(client, boss, name)
    for name, queries in ARABIC.items():
        for q in [name, *queries]:
            # Stored without the direction marks at its ends (docs/leads.md).
            found = await names(client, boss, {"q": q})
            assert found == {trim_text(name)}, f"q={q!r} should find {name!r}"
    assert await names(client, boss, {"q": "مطعم السلام"}) == set()


async def test_latin_case_accents_and_substrings(client: httpx.AsyncClient, boss: Account) -> None:
    await make(client, boss, "Café Royal")
    await make(client, boss, "Müller Bäckerei GmbH")
    await make(client, boss, "Straße Shop")
    cases = {
        "CAFE": {"Café Royal"},
        "café royal": {"Café Royal"},
        "oya": {"Café Royal"},
        "afé ro": {"Café Royal"},
        "muller": {"Müller Bäckerei GmbH"},
        "ckere": {"Müller Bäckerei GmbH"},
        "strasse": {"Straße Shop"},
        "SHOP": {"Straße Shop"},
    }
    for q, expected in cases.items():
        assert await names(client, boss, {"q": q}) == expected, q


PHONES = {
    "SA lead": ("+966501234567", "SA"),
    "AE lead": ("055 111 2233", "AE"),
    "EG lead": ("010 9876 5432", "EG"),
    "KW lead": ("9911 2233", "KW"),
}
PHONE_QUERIES = {
    "SA lead": [
        "050 123 4567", "0501234567", "+966501234567", "00966 50 123 4567", "٠٥٠١٢٣٤٥٦٧",
        "۰۵۰۱۲۳۴۵۶۷", "966501234567", "+966 (0)50 123 4567", "050-123-4567", "(050) 123-4567",
        "\u200f+966 50 123 4567\u200e", "+966-50-123-4567", "501234567", "٩٦٦٥٠١٢٣٤٥٦٧",
        "123 4567",
    ],
    "AE lead": ["055 111 2233", "0551112233", "+971 55 111 2233", "00971551112233",
                "971551112233", "٠٥٥١١١٢٢٣٣"],
    "EG lead": ["010 9876 5432", "01098765432", "+20 10 9876 5432", "0020 109 876 5432",
                "201098765432", "٠١٠٩٨٧٦٥٤٣٢"],
    "KW lead": ["9911 2233", "99112233", "+965 9911 2233", "00965-9911-2233", "96599112233",
                "٩٩١١٢٢٣٣"],
}  # fmt: skip


async def test_phones_typed_every_way(client: httpx.AsyncClient, boss: Account) -> None:
    for name, (phone, country) in PHONES.items():
        lead = await make(client, boss, name, phones=[phone], country=country)
        assert lead["phones"][0].startswith("+")
    for name, queries in PHONE_QUERIES.items():
        for q in queries:
            assert await names(client, boss, {"q": q}) == {name}, f"q={q!r} should find {name}"
    assert await names(client, boss, {"q": "+966 50 999 0000"}) == set()


async def test_email_domain_and_contact_name(client: httpx.AsyncClient, boss: Account) -> None:
    await make(
        client,
        boss,
        "Royal Trading",
        emails=["Sales@Royal.com.sa"],
        website="https://www.royal.com.sa/ar/",
        contactName="Khalid أحمد",
    )
    await make(client, boss, "Other Co", emails=["hello@other.com.sa"])
    for q in [
        "sales@royal.com.sa", "SALES@ROYAL", "sales@", "@royal.com", "royal.com.sa",
        "www.royal.com.sa", "https://royal.com.sa/contact", "khalid", "احمد", "KHALID أحمد",
    ]:  # fmt: skip
        assert await names(client, boss, {"q": q}) == {"Royal Trading"}, q
    assert await names(client, boss, {"q": "com.sa"}) == {"Royal Trading", "Other Co"}


async def test_a_short_q_matches_the_start_of_a_word(
    client: httpx.AsyncClient, boss: Account
) -> None:
    await make(client, boss, "Café Royal")
    await make(client, boss, "Blue Cat")
    await make(client, boss, "Deca Store")
    await make(client, boss, "الأمل")
    await make(client, boss, "مطعم الامل")
    assert await names(client, boss, {"q": "ca"}) == {"Café Royal", "Blue Cat"}
    assert await names(client, boss, {"q": "C"}) == {"Café Royal", "Blue Cat"}
    assert await names(client, boss, {"q": "st"}) == {"Deca Store"}
    assert await names(client, boss, {"q": "أل"}) == {"الأمل", "مطعم الامل"}
    assert await names(client, boss, {"q": "لا"}) == set()


async def test_wildcards_in_q_are_literal(client: httpx.AsyncClient, boss: Account) -> None:
    await make(client, boss, "Alpha", emails=["a_b@alpha.com.sa"])
    await make(client, boss, "Beta")
    assert await names(client, boss, {"q": "%"}) == set()
    assert await names(client, boss, {"q": "_"}) == set()
    assert await names(client, boss, {"q": "a_b@"}) == {"Alpha"}
    assert await names(client, boss, {"q": "a%b"}) == set()
    assert await names(client, boss, {"q": "\\"}) == set()
    assert await names(client, boss, {"q": "   "}) == {"Alpha", "Beta"}  # blank: no q


# ---------------------------------------------------------------------------------------------
# Filters


async def _filter_world(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> tuple[Account, dict[str, dict[str, Any]]]:
    sales = await member(client, boss, "SALES")
    leads = {
        "a": await make(client, boss, "A", status="NEW", city="Riyadh", country="SA",
                        category="Restaurant", tags=["VIP", "Hot"], phones=["0501111111"],
                        ownerId=boss.user_id),
        "b": await make(client, boss, "B", status="WON", city=" riyadh ", country="SA",
                        category="restaurant", tags=["vip"], emails=["b@b.com.sa"]),
        "c": await make(client, boss, "C", status="LOST", city="Dubai", country="AE",
                        category="Cafe", tags=["cold"], doNotContact=True,
                        ownerId=sales.user_id, phones=["0502222222"], emails=["c@c.com.sa"]),
        "d": await make(client, boss, "D", status="CONTACTED"),
    }  # fmt: skip
    await owner.execute(
        "UPDATE leads SET source_type = 'IMPORT' WHERE id = $1", uuid.UUID(leads["d"]["id"])
    )
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for offset, key in enumerate("abcd"):
        await owner.execute(
            "UPDATE leads SET created_at = $2 WHERE id = $1",
            uuid.UUID(leads[key]["id"]),
            base + timedelta(days=offset),
        )
    return sales, leads


async def test_each_filter_alone_and_combined(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    sales, _ = await _filter_world(client, boss, owner)
    cases: list[tuple[Params, set[str]]] = [
        ({}, {"A", "B", "C", "D"}),
        ([("status", "NEW"), ("status", "WON")], {"A", "B"}),
        ({"status": "LOST"}, {"C"}),
        ({"ownerId": boss.user_id}, {"A"}),
        ({"ownerId": sales.user_id}, {"C"}),
        ({"ownerId": str(uuid.uuid4())}, set()),
        ({"unassigned": "true"}, {"B", "D"}),
        ({"unassigned": "false"}, {"A", "C"}),
        ({"tag": "vip"}, {"A", "B"}),
        ({"tag": "VIP"}, {"A", "B"}),
        ([("tag", "vip"), ("tag", "HOT")], {"A"}),
        ([("tag", "vip"), ("tag", "cold")], set()),
        ({"city": "RIYADH"}, {"A", "B"}),
        ({"city": "  riyadh  "}, {"A", "B"}),
        ({"city": "Riy"}, set()),
        ({"country": "ae"}, {"C"}),
        ({"country": "SA"}, {"A", "B"}),
        ({"category": "RESTAURANT"}, {"A", "B"}),
        ({"category": "cafe"}, {"C"}),
        ({"source": "IMPORT"}, {"D"}),
        ({"source": "MANUAL"}, {"A", "B", "C"}),
        ({"source": "SEARCH"}, set()),
        ({"hasPhone": "true"}, {"A", "C"}),
        ({"hasPhone": "false"}, {"B", "D"}),
        ({"hasEmail": "true"}, {"B", "C"}),
        ({"hasEmail": "false"}, {"A", "D"}),
        ({"doNotContact": "true"}, {"C"}),
        ({"doNotContact": "false"}, {"A", "B", "D"}),
        ({"createdFrom": "2026-01-02T00:00:00Z"}, {"B", "C", "D"}),
        ({"createdTo": "2026-01-02T00:00:00Z"}, {"A"}),
        ({"createdFrom": "2026-01-02T00:00:00Z", "createdTo": "2026-01-04T00:00:00Z"}, {"B", "C"}),
        ({"createdFrom": "2026-01-02T03:00:00+03:00", "createdTo": "2026-01-03"}, {"B"}),
        # Combined
        ({"city": "riyadh", "status": "WON"}, {"B"}),
        ({"tag": "vip", "hasPhone": "true", "country": "SA"}, {"A"}),
        ({"q": "0502222222", "doNotContact": "true", "ownerId": sales.user_id}, {"C"}),
        ({"q": "0502222222", "doNotContact": "false"}, set()),
        ({"unassigned": "true", "ownerId": boss.user_id}, set()),
        ({"hasEmail": "true", "hasPhone": "true", "category": "cafe", "city": "dubai"}, {"C"}),
    ]
    for params, expected in cases:
        assert await names(client, boss, params) == expected, params
        assert await count(client, boss, params) == len(expected), params


async def _lists(owner: asyncpg.Connection, tenant_id: str, leads: list[str]) -> dict[str, str]:
    """Lists have no endpoint on this branch: written as the owner."""
    tenant = uuid.UUID(tenant_id)

    async def add(name: str, kind: str, filter_: dict[str, Any] | None) -> str:
        list_id = await owner.fetchval(
            "INSERT INTO lists (tenant_id, name, kind, filter) VALUES ($1, $2, $3, $4::jsonb)"
            " RETURNING id",
            tenant, name, kind, json.dumps(filter_) if filter_ is not None else None,
        )  # fmt: skip
        return str(list_id)

    static = await add("static", "STATIC", None)
    for lead_id in leads:
        await owner.execute(
            "INSERT INTO list_members (tenant_id, list_id, lead_id) VALUES ($1, $2, $3)",
            tenant,
            uuid.UUID(static),
            uuid.UUID(lead_id),
        )
    riyadh = await add("riyadh", "DYNAMIC", {"city": "riyadh", "sort": "name"})
    return {
        "static": static,
        "empty": await add("empty", "STATIC", None),
        "riyadh": riyadh,
        "riyadh_in_static": await add("r∩s", "DYNAMIC", {"city": "Riyadh", "listId": static}),
        "nested_dynamic": await add("nested", "DYNAMIC", {"tag": ["vip"], "listId": riyadh}),
        "gone": await add("gone", "DYNAMIC", {"listId": str(uuid.uuid4())}),
        "q": await add("q", "DYNAMIC", {"q": "0501111111"}),
    }


async def test_list_id_static_and_dynamic(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    _, leads = await _filter_world(client, boss, owner)
    lists = await _lists(owner, boss.tenant_id, [leads["a"]["id"], leads["c"]["id"]])
    cases: list[tuple[Params, set[str]]] = [
        ({"listId": lists["static"]}, {"A", "C"}),
        ({"listId": lists["static"], "status": "LOST"}, {"C"}),
        ({"listId": lists["empty"]}, set()),
        ({"listId": lists["riyadh"]}, {"A", "B"}),
        ({"listId": lists["riyadh"], "status": "WON"}, {"B"}),
        ({"listId": lists["riyadh"], "city": "dubai"}, set()),
        ({"listId": lists["riyadh_in_static"]}, {"A"}),
        # One level: a saved filter's listId naming a DYNAMIC list is ignored.
        ({"listId": lists["nested_dynamic"]}, {"A", "B"}),
        # A saved filter's list that is gone: nothing.
        ({"listId": lists["gone"]}, set()),
        ({"listId": lists["q"]}, {"A"}),
        ({"listId": lists["q"], "q": "A"}, {"A"}),
        ({"listId": lists["q"], "q": "B"}, set()),
    ]
    for params, expected in cases:
        assert await names(client, boss, params) == expected, params
        assert await count(client, boss, params) == len(expected), params
    for missing in (str(uuid.uuid4()),):
        response = await client.get("/v1/leads", params={"listId": missing}, headers=boss.headers)
        problem(response, 404, "not_found")
        response = await client.get(
            "/v1/leads/count", params={"listId": missing}, headers=boss.headers
        )
        problem(response, 404, "not_found")


# ---------------------------------------------------------------------------------------------
# Sorts and cursors

SORTS = ["createdAt", "updatedAt", "name", "rating", "lastActivityAt"]
COLUMN = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "name": "name_sort",
    "rating": "rating",
    "lastActivityAt": "last_activity_at",
}


async def _expected_order(
    owner: asyncpg.Connection, tenant_id: str, sort: str, ids: set[str] | None = None
) -> list[str]:
    """The order the contract promises, by SQL over the stored columns: the key (NULLs last in
    both directions), then id in the same direction."""
    descending = sort.startswith("-")
    column = COLUMN[sort.lstrip("-")]
    direction = "DESC" if descending else "ASC"
    rows = await owner.fetch(
        f"SELECT id FROM leads WHERE tenant_id = $1::uuid AND deleted_at IS NULL"
        f" ORDER BY {column} {direction} NULLS LAST, id {direction}",
        tenant_id,
    )
    order = [str(r["id"]) for r in rows]
    return [i for i in order if ids is None or i in ids]


async def _sort_world(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> list[dict[str, Any]]:
    """15 leads: ratings with ties and NULLs, names with ties, shared timestamps."""
    ratings = [4.5, None, 3.0, 4.5, None, 5.0, 0.0, 3.0, None, 4.5, 1.5, None, 2.0, 5.0, 3.0]
    lead_names = ["beta", "Alpha", "gamma", "alpha", "Beta", "delta", "ALPHA", "epsilon",
                  "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"]  # fmt: skip
    leads = [
        await make(client, boss, name, rating=rating)
        for name, rating in zip(lead_names, ratings, strict=True)
    ]
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    for index, lead in enumerate(leads):
        # Three leads per instant: ties on every time column.
        at = moment + timedelta(minutes=index // 3)
        await owner.execute(
            "UPDATE leads SET created_at = $2::timestamptz,"
            " updated_at = $2::timestamptz + interval '1 hour',"
            " last_activity_at = $2::timestamptz - interval '1 day' * ($3::int % 4) WHERE id = $1",
            uuid.UUID(lead["id"]),
            at,
            index,
        )
    return leads


async def test_every_sort_both_ways_with_ties_and_null_ratings(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    await _sort_world(client, boss, owner)
    for sort in SORTS + [f"-{s}" for s in SORTS]:
        expected = await _expected_order(owner, boss.tenant_id, sort)
        whole = (await get(client, boss, {"sort": sort, "limit": 200}))["items"]
        assert [lead["id"] for lead in whole] == expected, sort
        paged = await page_all(client, boss, {"sort": sort}, limit=2)
        assert [lead["id"] for lead in paged] == expected, sort
        if sort.lstrip("-") == "rating":
            ratings = [lead["rating"] for lead in whole]
            assert ratings[-4:] == [None] * 4, f"{sort}: NULL ratings last"
            known = ratings[:-4]
            assert known == sorted(known, reverse=sort.startswith("-")), sort


async def test_default_sort_is_newest_first(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    await _sort_world(client, boss, owner)
    expected = await _expected_order(owner, boss.tenant_id, "-createdAt")
    assert [lead["id"] for lead in (await get(client, boss, {}))["items"]] == expected


async def test_pages_do_not_skip_or_repeat_while_leads_are_added(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    initial = {lead["id"] for lead in await _sort_world(client, boss, owner)}
    added = 0
    for sort in SORTS + [f"-{s}" for s in SORTS]:
        expected = await _expected_order(owner, boss.tenant_id, sort, initial)
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            body = await get(client, boss, params)
            seen.extend(lead["id"] for lead in body["items"])
            cursor = body["nextCursor"]
            if cursor is None:
                break
            # Between pages, someone adds leads: rated high, low, not at all; named at both
            # ends of the alphabet.
            added += 1
            await make(
                client,
                boss,
                ["aaa new", "zzz new", "mmm new"][added % 3],
                rating=[5.0, 0.0, None][added % 3],
            )
        assert len(seen) == len(set(seen)), f"{sort}: a lead came twice"
        assert [i for i in seen if i in initial] == expected, f"{sort}: skipped or reordered"


@pytest.mark.parametrize(
    ("first", "most"),
    [((1, 1), 0), ((1, 1), 3), ((2, 2), 7), ((3, 3), 1_000)],
    ids=["scan-at-once", "walk-a-little", "walk-then-scan", "walk-in-steps"],
)
async def test_walk_steps_and_the_handover_keep_the_order(
    client: httpx.AsyncClient,
    boss: Account,
    owner: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    first: tuple[int, int],
    most: int,
) -> None:
    """A q is found by walking the sort's index in steps, then (when matches look rare) by
    reading every candidate and sorting: tiny steps here, so that a few leads take every
    path, with its position handed from one to the next."""
    from leedz.leads import repository

    monkeypatch.setattr(repository, "WALK_FIRST_ROWS", first)
    monkeypatch.setattr(repository, "WALK_ROWS_PER_WANTED", 1)
    monkeypatch.setattr(repository, "WALK_MAX_ROWS", most)
    leads = await _sort_world(client, boss, owner)
    # "eta" is inside beta, Beta, zeta, eta, theta; "al" starts only the three alphas.
    for q, matching in [("eta", {"beta", "zeta", "eta", "theta"}), ("al", {"alpha"})]:
        wanted = {lead["id"] for lead in leads if lead["name"].lower() in matching}
        for sort in SORTS + [f"-{s}" for s in SORTS]:
            expected = await _expected_order(owner, boss.tenant_id, sort, wanted)
            for limit in (1, 2, 50):
                paged = await page_all(client, boss, {"sort": sort, "q": q}, limit=limit)
                assert [lead["id"] for lead in paged] == expected, (q, sort, limit)
        assert await count(client, boss, {"q": q}) == len(wanted)


async def test_count_equals_what_pages_hold(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    await _sort_world(client, boss, owner)
    for params in [{}, {"q": "alpha"}, {"sort": "rating"}, {"q": "a"}, {"hasPhone": "true"}]:
        paged = await page_all(client, boss, dict(params), limit=2)
        assert await count(client, boss, params) == len(paged), params


def _token(payload: object) -> str:
    raw = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_tampered_cursors_are_a_422(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    await _sort_world(client, boss, owner)
    first = await get(client, boss, {"sort": "name", "limit": 2})
    by_name = first["nextCursor"]
    rating_cursor = (await get(client, boss, {"sort": "-rating", "limit": 2}))["nextCursor"]
    some_id = str(uuid.uuid4())
    bad = [
        "not base64 at all!",
        "!!!!",
        "AAAA",
        _token(b"\xff\xfe\x00garbage"),
        _token([1, 2]),
        _token("a string"),
        _token({"v": 1}),
        _token({"v": 2, "s": "name", "k": "a", "i": some_id}),
        _token({"v": 1, "s": "name", "k": 5, "i": some_id}),
        _token({"v": 1, "s": "name", "k": "a", "i": "not-a-uuid"}),
        _token({"v": 1, "s": "name", "k": "a", "i": 12}),
        _token({"v": 1, "s": "name", "k": "a", "i": some_id, "x": 1}),
        _token({"v": 1, "s": "name", "k": None, "i": some_id}),
        _token({"v": 1, "s": "bogus", "k": "a", "i": some_id}),
        _token(b"[" * 60 + b"]" * 60),
        by_name[:-3],
        by_name + "x",
        "x" * 501,
        _token({"v": 1, "s": "name", "k": "a" * 400, "i": some_id}),
    ]
    for cursor in bad:
        response = await client.get(
            "/v1/leads", params={"sort": "name", "cursor": cursor}, headers=boss.headers
        )
        problem(response, 422, "validation_error")
    # A cursor made for another sort.
    response = await client.get(
        "/v1/leads", params={"sort": "-name", "cursor": by_name}, headers=boss.headers
    )
    assert problem(response, 422, "validation_error")["field"] == "cursor"
    response = await client.get(
        "/v1/leads", params={"sort": "-createdAt", "cursor": rating_cursor}, headers=boss.headers
    )
    assert problem(response, 422, "validation_error")["field"] == "cursor"
    # Wrong types for the sort's key.
    for sort, key in [
        ("rating", "high"), ("rating", True), ("rating", 7), ("rating", float("nan")),
        ("createdAt", "yesterday"), ("createdAt", "2026-01-01T00:00:00"), ("createdAt", 1),
        ("createdAt", None), ("createdAt", "0001-01-01T00:00:00+14:00"), ("updatedAt", []),
        ("-lastActivityAt", {"a": 1}),
    ]:  # fmt: skip
        cursor = _token({"v": 1, "s": sort, "k": key, "i": some_id})
        response = await client.get(
            "/v1/leads", params={"sort": sort, "cursor": cursor}, headers=boss.headers
        )
        assert problem(response, 422, "validation_error")["field"] == "cursor", (sort, key)
    # Well-formed positions nobody made are fine: they are just positions.
    for sort, key in [("rating", None), ("rating", 2), ("createdAt", "9999-12-31T00:00:00+00:00")]:
        cursor = _token({"v": 1, "s": sort, "k": key, "i": some_id})
        response = await client.get(
            "/v1/leads", params={"sort": sort, "cursor": cursor}, headers=boss.headers
        )
        assert response.status_code == 200, response.text


# ---------------------------------------------------------------------------------------------
# Trash, visibility, tenants, bad parameters


async def test_deleted_shows_only_the_trash(client: httpx.AsyncClient, boss: Account) -> None:
    kept = await make(client, boss, "Kept Alpha")
    gone = await make(client, boss, "Gone Alpha")
    response = await client.delete(f"/v1/leads/{gone['id']}", headers=boss.headers)
    assert response.status_code == 204
    assert await names(client, boss, {}) == {"Kept Alpha"}
    assert await names(client, boss, {"deleted": "true"}) == {"Gone Alpha"}
    assert await names(client, boss, {"deleted": "true", "q": "alpha"}) == {"Gone Alpha"}
    assert await count(client, boss, {"deleted": "true"}) == 1
    assert await count(client, boss, {"q": "alpha"}) == 1
    trash = (await get(client, boss, {"deleted": "true"}))["items"]
    assert trash[0]["deletedAt"] is not None
    assert kept["id"] not in {lead["id"] for lead in trash}


async def test_sales_sees_own_and_unassigned_only_when_told_so(
    client: httpx.AsyncClient, boss: Account
) -> None:
    sales = await member(client, boss, "SALES")
    colleague = await member(client, boss, "SALES")
    await make(client, boss, "Mine Shop", ownerId=sales.user_id)
    await make(client, boss, "Free Shop")
    await make(client, boss, "Theirs Shop", ownerId=colleague.user_id)
    await make(client, boss, "Boss Shop", ownerId=boss.user_id)
    everyone = {"Mine Shop", "Free Shop", "Theirs Shop", "Boss Shop"}
    assert await names(client, sales, {"q": "shop"}) == everyone
    response = await client.patch(
        "/v1/tenants/current",
        json={"settings": {"salesSeeAllLeads": False}},
        headers=boss.headers,
    )
    assert response.status_code == 200, response.text
    for params in [{}, {"q": "shop"}, {"sort": "name"}, {"unassigned": "false"}]:
        expected = {"Mine Shop", "Free Shop"}
        if params.get("unassigned") == "false":
            expected = {"Mine Shop"}
        assert await names(client, sales, params) == expected, params
        assert await count(client, sales, params) == len(expected), params
        assert {lead["name"] for lead in await page_all(client, sales, dict(params))} == expected
    assert await names(client, sales, {"ownerId": colleague.user_id}) == set()
    assert await count(client, sales, {"ownerId": colleague.user_id}) == 0
    assert await names(client, boss, {"q": "shop"}) == everyone
    manager = await member(client, boss, "MANAGER")
    assert await count(client, manager, {}) == len(everyone)


async def test_another_tenants_leads_and_lists_stay_out(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    stranger = await signup(client, tenant_name="Elsewhere")
    await make(client, stranger, "مؤسسة الأمل الأخرى", phones=["0509999999"])
    await make(client, boss, "مؤسسة الأمل")
    assert await names(client, boss, {"q": "الامل"}) == {"مؤسسة الأمل"}
    assert await names(client, boss, {"q": "0509999999"}) == set()
    assert await count(client, boss, {}) == 1
    assert await names(client, stranger, {}) == {"مؤسسة الأمل الأخرى"}
    foreign = await _lists(owner, stranger.tenant_id, [])
    for list_id in foreign.values():
        for path in ("/v1/leads", "/v1/leads/count"):
            response = await client.get(path, params={"listId": list_id}, headers=boss.headers)
            problem(response, 404, "not_found")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/leads", {"bogus": "1"}),
        ("/v1/leads", {"owner": "x"}),
        ("/v1/leads", {"q": "x" * 201}),
        ("/v1/leads", {"limit": "0"}),
        ("/v1/leads", {"limit": "201"}),
        ("/v1/leads", {"limit": "ten"}),
        ("/v1/leads", {"sort": "price"}),
        ("/v1/leads", {"status": "MAYBE"}),
        ("/v1/leads", [("status", "NEW")] * 6),
        ("/v1/leads", {"ownerId": "me"}),
        ("/v1/leads", {"hasPhone": "perhaps"}),
        ("/v1/leads", {"createdFrom": "last week"}),
        ("/v1/leads", {"country": "XX"}),
        ("/v1/leads", {"tag": "x" * 51}),
        ("/v1/leads", {"q": "a\x00b"}),
        ("/v1/leads/count", {"limit": "10"}),
        ("/v1/leads/count", {"cursor": "abc"}),
        ("/v1/leads/count", {"bogus": "1"}),
        ("/v1/leads/count", {"q": "x" * 201}),
    ],
)
async def test_bad_parameters_are_a_422(
    client: httpx.AsyncClient, boss: Account, path: str, params: Params
) -> None:
    response = await client.get(path, params=params, headers=boss.headers)
    problem(response, 422, "validation_error")


async def test_q_of_200_characters_is_fine(client: httpx.AsyncClient, boss: Account) -> None:
    name = "مؤسسة " + "ا" * 190
    await make(client, boss, name)
    assert await names(client, boss, {"q": "مؤسسه " + "ا" * 194}) == set()
    assert await names(client, boss, {"q": "مؤسسه " + "ا" * 190}) == {name}


# ---------------------------------------------------------------------------------------------
# Fields

IMPORTABLE = {
    "name", "contactName", "category", "phones", "emails", "website", "address", "city",
    "country", "lat", "lng", "rating", "reviewsCount", "status", "tags", "doNotContact",
    "externalIds.googleMaps", "customFields.<key>",
}  # fmt: skip


async def test_fields(client: httpx.AsyncClient, boss: Account) -> None:
    response = await client.get("/v1/leads/fields", headers=boss.headers)
    assert response.status_code == 200, response.text
    fields = {f["key"]: f for f in response.json()["items"]}
    assert {k for k, f in fields.items() if f["importable"]} == IMPORTABLE
    assert fields["customFields.<key>"]["pattern"] is True
    assert fields["status"]["type"] == "enum"
    assert fields["status"]["values"] == ["NEW", "CONTACTED", "QUALIFIED", "WON", "LOST"]
    assert fields["phones"]["type"] == "phone[]"
    assert fields["emails"]["type"] == "email[]"
    assert fields["website"]["type"] == "url"
    assert fields["createdAt"]["type"] == "date-time"
    assert fields["rating"]["sortable"]
    assert not fields["rating"]["filterable"]
    assert fields["city"]["filterable"]
    assert not fields["city"]["sortable"]
    assert {k for k, f in fields.items() if f["sortable"]} == {
        "name", "rating", "createdAt", "updatedAt", "lastActivityAt",
    }  # fmt: skip
    for field in fields.values():
        assert field["label"]["ar"]
        assert field["label"]["en"]
