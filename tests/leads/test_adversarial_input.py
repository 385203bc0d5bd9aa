"""A new client's data, spelled the ways the other lead tests do not spell it, through the API.

Gulf phones in every spelling (Arabic-Indic and Persian digits mixed with ASCII, brackets
around the country code, `00`, the country code without `+`, Omani, Bahraini and Qatari
numbers in a Saudi workspace, landlines with a city code, extensions); names with ligatures,
presentation forms, joiners, kashida and accents; e-mail addresses in capitals, with plus tags,
in Unicode and in punycode; websites that are IP addresses, IDN or shared hosts; and bodies
built to break the schema (wrong types, booleans for numbers, lone surrogates, duplicate JSON
keys, huge numbers). Each is either stored in its normal form or refused with a 4xx naming the
field, and a refusal stores nothing.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, on_plan, signup
from tests.factories.leads import create_lead, key_count, lead_count, stored


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "ENTERPRISE")
    return account


async def post_raw(client: httpx.AsyncClient, account: Account, body: str) -> httpx.Response:
    """A body sent as written (escapes such as a lone `\\ud800` survive only this way)."""
    headers = account.headers | {"content-type": "application/json"}
    return await client.post("/v1/leads", content=body.encode(), headers=headers)


async def patch_raw(
    client: httpx.AsyncClient, account: Account, lead_id: str, body: str, **headers: str
) -> httpx.Response:
    return await client.patch(
        f"/v1/leads/{lead_id}",
        content=body.encode(),
        headers=account.headers | {"content-type": "application/json"} | headers,
    )


# (spelling, the lead's country or None, E.164) in a workspace whose default country is SA.
# fmt: off
PHONES = [
    ("+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", None, "+971501234567"),           # Arabic-Indic, with +
    ("٠٠٩٧١ ٥٠ ١٢٣ ٤٥٦٧", None, "+971501234567"),          # Arabic-Indic, 00
    ("(+965) 9911-2233", None, "+96599112233"),             # country code in brackets
    ("0020 10 1234 5678", None, "+201012345678"),           # Egyptian mobile, 00
    ("966-50-123-4567", None, "+966501234567"),             # country code, no plus
    ("۰۵۰۱۲۳4567", None, "+966501234567"),                  # Persian digits then ASCII
    ("٠٥٥۱۲۳٤5٦٧", None, "+966551234567"),                  # three scripts in one number
    ("+968 9123 4567", None, "+96891234567"),               # Oman in a Saudi workspace
    ("96891234567", None, "+96891234567"),                  # Oman, no plus
    ("+973 3612 3456", None, "+97336123456"),               # Bahrain
    ("0097336123456", None, "+97336123456"),
    ("+974 5512 3456", None, "+97455123456"),               # Qatar
    ("97455123456", None, "+97455123456"),
    ("011 456 7890", None, "+966114567890"),                # Riyadh landline, city code
    ("(011) 456-7890", None, "+966114567890"),
    ("+966 (0) 11 456 7890", None, "+966114567890"),
    ("+966 11 456 7890 ext. 12", None, "+966114567890"),    # an extension is dropped
    ("+966114567890x12", None, "+966114567890"),
    ("٠١١ ٤٥٦ ٧٨٩٠ تحويلة ١٢", None, "+966114567890"),      # Arabic extension word
    ("+966 50 123 4567;ext=5", None, "+966501234567"),
    ("＋９６６５０１２３４５６７", None, "+966501234567"),        # fullwidth
    ("\u200f+966 50 123 4567\u200e", None, "+966501234567"),  # direction marks
    ("+966\u00a050\u202f123\u20094567", None, "+966501234567"),  # exotic spaces
    ("+966–50–123–4567", None, "+966501234567"),            # en dashes
    ("tel:+966501234567", None, "+966501234567"),
    ("9200 12345", None, "+966920012345"),                  # Saudi unified number
    ("0501234567", "ae", "+971501234567"),                  # lower-case country
    ("99112233", "KW", "+96599112233"),
    ("02 2345 6789", "EG", "+20223456789"),                 # Cairo landline
    ("00971501234567", "SA", "+971501234567"),              # 00 beats the lead's country
]
# Refused, with the reason the API gives (never echoing the spelling).
BAD_PHONES = [
    ("19123", "too short"),                                 # an Egyptian hotline, in SA
    ("+9665012345678", "no number is assigned"),
    ("+96650123456", "too short"),
    ("++966501234567", "a character that is not"),
    ("+966 50 123 4567 +966 55 765 4321", "a character that is not"),
    ("0800-FLOWERS", "letters"),
    ("   ", "no digits"),
]
# fmt: on


class TestPhones:
    async def test_gulf_spellings_are_stored_as_e164(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        wrong: list[tuple[object, ...]] = []
        for n, (spelling, country, expected) in enumerate(PHONES):
            body: dict[str, Any] = {"name": f"Phone {n}", "phones": [spelling]}
            if country:
                body["country"] = country
            response = await client.post("/v1/leads", json=body, headers=boss.headers)
            if response.status_code != 201 or response.json()["phones"] != [expected]:
                wrong.append((spelling, response.status_code, response.text[:200]))
                continue
            # Free the key for the next spelling of the same number.
            await owner.execute("DELETE FROM leads WHERE id = $1::uuid", response.json()["id"])
        assert wrong == []

    async def test_two_spellings_of_one_number_are_one_key(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        first = await create_lead(client, boss, name="Muscat Cafe", phones=["+968 9123 4567"])
        again = await client.post(
            "/v1/leads",
            json={"name": "مقهى مسقط", "phones": ["٠٠٩٦٨ ٩١٢٣ ٤٥٦٧"]},
            headers=boss.headers,
        )
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "lead_duplicate"
        assert [d["id"] for d in again.json()["duplicates"]] == [first["id"]]

    async def test_a_number_that_is_none_is_422_naming_its_position(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        for spelling, reason in BAD_PHONES:
            response = await client.post(
                "/v1/leads",
                json={"name": "Bad phone", "phones": ["0501234567", spelling]},
                headers=boss.headers,
            )
            assert response.status_code == 422, (spelling, response.text)
            problem = response.json()
            assert problem["errors"][0]["loc"] == ["body", "phones", 1], spelling
            assert reason in problem["detail"], (spelling, problem["detail"])
            assert spelling.strip() == "" or spelling not in problem["detail"]
        assert await lead_count(owner, boss) == 0
        assert await key_count(owner, boss) == 0


class TestNames:
    # (stored, typed) pairs that are one name: a look-alike, and each finds the other.
    SAME: ClassVar[list[tuple[str, str]]] = [
        ("مطعم لافندر", "مطعم ﻻفندر"),  # lam-alef ligature
        ("مطعم الأمل", "ﻣﻄﻌﻢ ﺍﻷﻣﻞ"),  # presentation forms (U+FE70-U+FEFF)
        ("مطعم الأمل", "مطعــــم الأمــل"),  # kashida
        ("مطعم الأمل", "مطعم \u200cالأمل"),  # ZWNJ
        ("مَطْعَمُ الأَمَلِ", "مطعم الامل"),  # harakat
        ("McDonald's Café", "MCDONALD’S CAFE"),  # curly apostrophe, accents, case
        ("Zoë’s Crème Brûlée", "zoes creme brulee"),
        ("مطعم Burger King", "مطعم BURGER KING"),  # mixed scripts
        ("صيدلية النهدي", "صيدليه النهدى"),
        ("ＡＬＡＭＡＬ", "alamal"),  # fullwidth
    ]

    async def test_spelling_variants_are_look_alikes_and_find_each_other(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        wrong: list[tuple[object, ...]] = []
        for first, second in self.SAME:
            one = await create_lead(client, boss, name=first, city="Jeddah")
            two = await create_lead(client, boss, name=second, city=" JEDDAH ")
            if one["id"] not in [d["id"] for d in two["possibleDuplicates"]]:
                wrong.append(("not a look-alike", first, second))
            for q in (first, second):
                found = await client.get("/v1/leads", params={"q": q}, headers=boss.headers)
                ids = {lead["id"] for lead in found.json()["items"]}
                if not {one["id"], two["id"]} <= ids:
                    wrong.append(("not found", q))
            await owner.execute(
                "DELETE FROM leads WHERE id = ANY($1::uuid[])", [one["id"], two["id"]]
            )
        assert wrong == []

    async def test_a_transliteration_and_the_al_split_are_other_names(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        await create_lead(client, boss, name="الأمل", city="Riyadh")
        for other in ("Al Amal", "ال أمل"):
            created = await create_lead(client, boss, name=other, city="Riyadh")
            assert created["possibleDuplicates"] == [], other

    @pytest.mark.parametrize(
        "name", ["\u200b", "\u200f\u200e", "\ufeff", "\u00ad", " \u202b \u202c ", "\u2066\u2069"]
    )
    async def test_a_name_of_invisible_characters_is_blank(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, name: str
    ) -> None:
        response = await client.post("/v1/leads", json={"name": name}, headers=boss.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "name"]
        assert await lead_count(owner, boss) == 0
        lead = await create_lead(client, boss, name="Visible")
        renamed = await client.patch(
            f"/v1/leads/{lead['id']}", json={"name": name}, headers=boss.headers
        )
        assert renamed.status_code == 422, renamed.text
        assert (await stored(owner, lead["id"]))["name"] == "Visible"

    async def test_names_of_punctuation_alone_look_like_nothing(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        # Their name key is empty; empty equals empty, but "!!!" is no look-alike of "???".
        first = await create_lead(client, boss, name="!!!")
        assert first["possibleDuplicates"] == []
        second = await create_lead(client, boss, name="???")
        assert second["possibleDuplicates"] == []
        third = await create_lead(client, boss, name="***", city="Riyadh")
        assert third["possibleDuplicates"] == []

    async def test_direction_marks_around_text_are_trimmed(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        # As copied from an Arabic page: the city, the name and a tag wrapped in marks.
        lead = await create_lead(
            client,
            boss,
            name="\u202bمطعم الوادي\u202c",
            city="\u200fالرياض\u200f",
            contactName="\u2067خالد\u2069",
            category="\ufeffمطعم",
            address=" \u200eشارع الملك فهد\u200e ",
            tags=["\u200fمميز\u200f", "vip"],
        )
        assert lead["name"] == "مطعم الوادي"
        assert lead["city"] == "الرياض"
        assert lead["contactName"] == "خالد"
        assert lead["category"] == "مطعم"
        assert lead["address"] == "شارع الملك فهد"
        assert lead["tags"] == ["مميز", "vip"]
        found = await client.get("/v1/leads", params={"city": "الرياض"}, headers=boss.headers)
        assert [item["id"] for item in found.json()["items"]] == [lead["id"]]
        twin = await create_lead(client, boss, name="مطعم الوادي", city="الرياض")
        assert [d["id"] for d in twin["possibleDuplicates"]] == [lead["id"]]
        # A field of marks alone is empty, a tag of them refused.
        blank = await create_lead(client, boss, name="Marks", city="\u200f\u200e")
        assert blank["city"] is None
        refused = await client.post(
            "/v1/leads", json={"name": "Tag", "tags": ["\u200f"]}, headers=boss.headers
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"][:2] == ["body", "tags"]


class TestEmails:
    async def test_addresses_are_stored_in_their_compared_form(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(
            client,
            boss,
            emails=[
                "  INFO@Shop.Example.COM.SA ",
                "Sales+Leads@Example.com",
                "mailto:Info%40Other.SA?subject=hi",
                "ＩＮＦＯ@ＦＵＬＬ.ＣＯＭ",
                "Ünïcode@Bücher.DE",
                "مبيعات@مثال.السعودية",
            ],
        )
        assert lead["emails"] == [
            "info@shop.example.com.sa",
            "sales+leads@example.com",
            "info@other.sa",
            "info@full.com",
            "ünïcode@bücher.de",
            "مبيعات@مثال.السعودية",
        ]

    async def test_a_punycode_domain_is_the_same_address_as_its_unicode_spelling(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        unicode_first = await create_lead(client, boss, emails=["info@مثال.السعودية"])
        punycode = await client.post(
            "/v1/leads",
            json={"name": "Other", "emails": ["INFO@XN--MGBH0FB.XN--MGBERP4A5D4AR"]},
            headers=boss.headers,
        )
        assert punycode.status_code == 409, punycode.text
        assert [d["id"] for d in punycode.json()["duplicates"]] == [unicode_first["id"]]
        stored_punycode = await create_lead(
            client, boss, name="Books", emails=["mailto:shop@xn--bcher-kva.de"]
        )
        assert stored_punycode["emails"] == ["shop@bücher.de"]

    @pytest.mark.parametrize(
        "email", ["a@b", "info@@x.com", "info@x..com", "info@[127.0.0.1]", "user@localhost"]
    )
    async def test_an_invalid_address_is_422_naming_its_position(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, email: str
    ) -> None:
        response = await client.post(
            "/v1/leads", json={"name": "x", "emails": ["ok@x.com", email]}, headers=boss.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "emails", 1]
        assert await lead_count(owner, boss) == 0


class TestWebsites:
    # (typed, stored website, domain)
    # fmt: off
    CASES: ClassVar[list[tuple[str, str, str | None]]] = [
        ("HTTP://WWW.Shop.Example.COM.SA/path?x", "http://www.shop.example.com.sa/path?x",
         "example.com.sa"),
        ("مثال.السعودية", "https://xn--mgbh0fb.xn--mgberp4a5d4ar/",
         "xn--mgbh0fb.xn--mgberp4a5d4ar"),
        ("https://ＥＸＡＭＰＬＥ.com", "https://example.com/", "example.com"),
        ("https://ex\u200bample.com", "https://example.com/", "example.com"),
        ("http://192.168.1.1/admin", "http://192.168.1.1/admin", None),
        ("http://[::1]:8080/", "http://[::1]:8080/", None),
        ("http://0x7f.1", "http://127.0.0.1/", None),
        ("https://com.sa", "https://com.sa/", None),
        ("//cdn.alamal.com.sa", "https://cdn.alamal.com.sa/", "alamal.com.sa"),
    ]
    # fmt: on

    async def test_websites_and_their_domains(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        wrong: list[tuple[object, ...]] = []
        for typed, website, domain in self.CASES:
            response = await client.post(
                "/v1/leads", json={"name": typed, "website": typed}, headers=boss.headers
            )
            got = response.json()
            if response.status_code != 201 or (got["website"], got["domain"]) != (website, domain):
                wrong.append((typed, response.status_code, response.text[:200]))
        assert wrong == []

    @pytest.mark.parametrize(
        "website",
        ["ftp://x.com", "javascript:alert(1)", "http://user:pw@x.com", "https://x.com:99999/",
         "https://exa mple.com", "https://-x-.com", "https://a..b.com", "data:text/html,hi"],
    )  # fmt: skip
    async def test_what_is_no_website_is_422_on_website(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, website: str
    ) -> None:
        response = await client.post(
            "/v1/leads", json={"name": "x", "website": website}, headers=boss.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "website"]
        assert await lead_count(owner, boss) == 0

    async def test_leads_on_one_shared_host_are_no_duplicates_of_each_other(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        pairs = [
            ("https://linktr.ee/alamal", "https://linktr.ee/alnoor"),
            ("https://wa.me/966501234567", "https://wa.me/966551234567"),
            ("https://wa.link/abc123", "https://wa.link/def456"),
            ("https://www.instagram.com/alamal/", "instagram.com/alnoor"),
            ("https://heylink.me/alamal", "https://heylink.me/alnoor"),
            ("https://alamal.bio.site", "https://alnoor.bio.site"),
        ]
        wrong: list[tuple[object, ...]] = []
        for one, two in pairs:
            first = await create_lead(client, boss, city="Dubai", website=one)
            await create_lead(client, boss, city="Dubai", website=two)
            duplicates = await client.get(
                f"/v1/leads/{first['id']}/duplicates", headers=boss.headers
            )
            assert duplicates.status_code == 200, duplicates.text
            reasons = [r for item in duplicates.json()["items"] for r in item["reasons"]]
            if any(reason["type"] == "domain" for reason in reasons):
                wrong.append((one, two, reasons))
        assert wrong == []


class TestWrongTypes:
    # Bodies a client with other habits sends; each a 422 naming the field, nothing changed.
    # fmt: off
    REFUSED: ClassVar[dict[str, list[str | int]]] = {
        '{"rating": true}': ["body", "rating"],
        '{"rating": false}': ["body", "rating"],
        '{"reviewsCount": true}': ["body", "reviewsCount"],
        '{"location": {"lat": true, "lng": false}}': ["body", "location", "lat"],
        '{"rating": 1e400}': ["body", "rating"],
        '{"rating": NaN}': ["body", "rating"],
        '{"rating": -Infinity}': ["body", "rating"],
        '{"location": {"lat": NaN, "lng": 0}}': ["body", "location", "lat"],
        '{"reviewsCount": 100000000000000000000000000000}': ["body", "reviewsCount"],
        '{"reviewsCount": 1.5}': ["body", "reviewsCount"],
        '{"phones": [null]}': ["body", "phones", 0],
        '{"tags": ["a", null]}': ["body", "tags", 1],
        '{"phones": [966501234567]}': ["body", "phones", 0],
        '{"phones": "0501112224"}': ["body", "phones"],
        '{"externalIds": {"googleMaps": null}}': ["body", "externalIds", "googleMaps"],
        '{"socialProfiles": {"instagram": ["a"]}}': ["body", "socialProfiles", "instagram"],
        '{"socialProfiles": {"myspace": "a"}}': ["body", "socialProfiles", "myspace"],
        '{"customFields": {"a": 1e400}}': ["body", "customFields"],
        '{"customFields": []}': ["body", "customFields"],
        '{"status": "new"}': ["body", "status"],
        '{"status": null}': ["body", "status"],
        '{"doNotContact": "true"}': ["body", "doNotContact"],
        '{"doNotContact": null}': ["body", "doNotContact"],
        '{"ownerId": 5}': ["body", "ownerId"],
        '{"country": "UK"}': ["body", "country"],
        '{"country": 966}': ["body", "country"],
        '{"name": ["a"]}': ["body", "name"],
        '{"domain": "x.com"}': ["body", "domain"],
        '{"version": 7}': ["body", "version"],
        # Lone surrogates: JSON allows the escape, no database can store it.
        '{"name": "x\\ud83d"}': ["body", "name"],
        '{"category": "\\udfff"}': ["body", "category"],
        '{"tags": ["\\ud800"]}': ["body", "tags", 0],
        '{"phones": ["050\\ud8001234567"]}': ["body", "phones", 0],
        '{"emails": ["a\\ud800@x.com"]}': ["body", "emails", 0],
        '{"website": "https://x.com/\\ud800"}': ["body", "website"],
        '{"socialProfiles": {"x": "\\ud800"}}': ["body", "socialProfiles", "x"],
        '{"externalIds": {"googleMaps": "\\ud800"}}': ["body", "externalIds", "googleMaps"],
        '{"customFields": {"k": ["\\udbff"]}}': ["body", "customFields"],
    }
    # fmt: on

    async def test_each_is_422_naming_the_field_and_nothing_changes(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, name="Target", rating=4.0, phones=["0501112222"])
        before = await stored(owner, lead["id"])
        wrong: list[tuple[object, ...]] = []
        for body, loc in self.REFUSED.items():
            response = await patch_raw(client, boss, lead["id"], body)
            if response.status_code != 422 or response.json()["errors"][0]["loc"] != loc:
                wrong.append(("PATCH", body, response.status_code, response.text[:200]))
            created = await post_raw(client, boss, '{"name": "New", ' + body[1:])
            if body.startswith('{"name"'):
                created = await post_raw(client, boss, body)
            if created.status_code != 422:
                wrong.append(("POST", body, created.status_code, created.text[:200]))
        assert wrong == []
        assert await stored(owner, lead["id"]) == before
        assert await lead_count(owner, boss) == 1

    async def test_a_duplicate_json_key_means_its_last_value(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        # As every JSON parser of the clients does; nothing in between is stored.
        response = await post_raw(
            client, boss, '{"name": "First", "name": "Second", "phones": ["0501234567"],'
            ' "phones": ["0551234567"]}'
        )  # fmt: skip
        assert response.status_code == 201, response.text
        assert (response.json()["name"], response.json()["phones"]) == (
            "Second",
            ["+966551234567"],
        )
        taken = await client.post(
            "/v1/leads", json={"name": "x", "phones": ["0501234567"]}, headers=boss.headers
        )
        assert taken.status_code == 201, "the first phone was never a key"

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ('{"name": "x", "reviewsCount": ' + "1" * 5000 + "}", 400),  # past Python's int limit
            ('{"name": "x", "customFields": {"a": ' + "[" * 30000 + "]" * 30000 + "}}", 400),
            ('{"name": "x", "customFields": {"a": ' + "[" * 40000 + "]" * 40000 + "}}", 413),
            ('{"name": "x"} trailing', 422),
            ("{'name': 'x'}", 422),
            ("", 422),
        ],
        ids=[
            "int-of-5000-digits",
            "nested-30000-deep",
            "nested-past-the-body-limit",
            "trailing-garbage",
            "quotes",
            "empty",
        ],
    )
    async def test_bodies_that_are_no_json_of_ours(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        body: str,
        status: int,
    ) -> None:
        response = await post_raw(client, boss, body)
        assert response.status_code == status, response.text
        assert response.json()["code"] in {"bad_request", "validation_error", "payload_too_large"}
        assert await lead_count(owner, boss) == 0


class TestIfMatch:
    async def test_only_an_etag_we_sent_passes(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, name="Versioned")
        before = await stored(owner, lead["id"])
        # Near misses: the current version (1) in shapes we never send.
        for if_match in ('"1', '1"', "+1", "1_0", 'W/ "1"', '"1" "1"', '"01"', "W/1", "0x1", '"0"'):
            response = await patch_raw(
                client, boss, lead["id"], '{"category": "x"}', **{"if-match": if_match}
            )
            assert response.status_code == 412, (if_match, response.text)
            assert response.json()["code"] == "version_conflict"
        assert await stored(owner, lead["id"]) == before
        for if_match, version in (('"1"', 2), ('W/"2"', 3), ("3", 4), (' "4" ', 5)):
            body = json.dumps({"category": if_match})
            response = await patch_raw(client, boss, lead["id"], body, **{"if-match": if_match})
            assert response.status_code == 200, (if_match, response.text)
            assert response.headers["etag"] == f'"{version}"'

    async def test_a_stale_or_huge_version_is_412_with_the_current_one(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, name="Versioned")
        for if_match in ('"2"', '"99999999999999999"'):
            response = await patch_raw(
                client, boss, lead["id"], '{"category": "x"}', **{"if-match": if_match}
            )
            assert response.status_code == 412, response.text
            assert response.json()["version"] == 1
