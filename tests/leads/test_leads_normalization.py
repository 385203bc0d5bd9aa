"""Normalization on write, through the API: what a person types is stored in one form.

tests/leads/test_normalize.py proves the functions one rule at a time; these prove that every
write path of the lead record goes through them (POST and PATCH, with the lead's and the
tenant's country), and what the API answers when they refuse.
"""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from leedz.leads.normalize import name_key, normalize_text
from tests.factories.accounts import Account, signup
from tests.factories.leads import create_lead, key_count, lead_count, stored

LRM, RLM, LRE, PDF, LRI, PDI = "\u200e", "\u200f", "\u202a", "\u202c", "\u2066", "\u2069"

# (as typed, the lead's country, its E.164); the tenant's default country is SA.
SPELLINGS: list[tuple[str, str | None, str]] = [
    # Saudi Arabia: a mobile and a Riyadh landline.
    ("0501234567", None, "+966501234567"),
    ("+966501234567", None, "+966501234567"),
    ("00966501234567", None, "+966501234567"),
    ("966501234567", None, "+966501234567"),
    ("+966 50 123 4567", None, "+966501234567"),
    ("050-123-4567", None, "+966501234567"),
    ("(050) 123 4567", None, "+966501234567"),
    ("050.123.4567", None, "+966501234567"),
    ("٠٥٠١٢٣٤٥٦٧", None, "+966501234567"),
    ("۰۵۰۱۲۳۴۵۶۷", None, "+966501234567"),
    (f"{LRM}+966 50 123 4567{LRM}", None, "+966501234567"),
    (f"{RLM}٠٥٠ ١٢٣ ٤٥٦٧", None, "+966501234567"),
    (f"{LRI}050{PDI} 123 4567", None, "+966501234567"),
    ("+966 (0)50 123 4567", None, "+966501234567"),
    ("٠٠٩٦٦٥٠١٢٣٤٥٦٧", None, "+966501234567"),
    ("+٩٦٦٥٠١٢٣٤٥٦٧", None, "+966501234567"),
    ("050 123 4567", "SA", "+966501234567"),
    ("011 234 5678", None, "+966112345678"),
    ("+966-11-234-5678", None, "+966112345678"),
    # United Arab Emirates: a mobile and a Dubai landline.
    ("050 123 4567", "AE", "+971501234567"),
    ("+971 50 123 4567", "AE", "+971501234567"),
    ("00971501234567", "AE", "+971501234567"),
    ("971501234567", "AE", "+971501234567"),
    ("٠٥٠١٢٣٤٥٦٧", "AE", "+971501234567"),
    ("+971501234567", None, "+971501234567"),
    ("04 345 6789", "AE", "+97143456789"),
    ("(04) 345-6789", "AE", "+97143456789"),
    ("۰۴ ۳۴۵ ۶۷۸۹", "AE", "+97143456789"),
    ("+971.4.345.6789", "AE", "+97143456789"),
    (f"{LRE}+971 4 345 6789{PDF}", "AE", "+97143456789"),
    # Egypt: a mobile and a Cairo landline.
    ("010 1234 5678", "EG", "+201012345678"),
    ("01012345678", "EG", "+201012345678"),
    ("+20 10 1234 5678", "EG", "+201012345678"),
    ("0020 10 1234 5678", "EG", "+201012345678"),
    ("201012345678", "EG", "+201012345678"),
    ("٠١٠١٢٣٤٥٦٧٨", "EG", "+201012345678"),
    ("۰۱۰-۱۲۳۴-۵۶۷۸", "EG", "+201012345678"),
    ("+20 10 1234 5678", "SA", "+201012345678"),
    ("02 2345 6789", "EG", "+20223456789"),
    ("(02) 2345-6789", "EG", "+20223456789"),
    ("+20 2 2345 6789", "EG", "+20223456789"),
    ("00 20 2 2345 6789", None, "+20223456789"),
    # Kuwait: 8 digits, no trunk 0.
    ("5001 2345", "KW", "+96550012345"),
    ("+965 5001 2345", "KW", "+96550012345"),
    ("00965 50012345", "KW", "+96550012345"),
    ("96550012345", "KW", "+96550012345"),
    ("٥٠٠١٢٣٤٥", "KW", "+96550012345"),
    ("(965) 5001-2345", "KW", "+96550012345"),
    ("٩٩٥٥-١٢٣٤", "KW", "+96599551234"),
    ("+965 ٦٥٥٥ ١٢٣٤", None, "+96565551234"),
    ("2222 2222", "KW", "+96522222222"),
    ("+965-2222-2222", "KW", "+96522222222"),
]


@pytest.fixture
async def boss(client: httpx.AsyncClient) -> Account:
    return await signup(client)


class TestPhonesToE164:
    def test_the_table_spans_four_countries_and_forty_spellings(self) -> None:
        assert len(SPELLINGS) >= 40
        assert {e164[:4] for _, _, e164 in SPELLINGS} == {"+966", "+971", "+201", "+202", "+965"}

    @pytest.mark.parametrize(("typed", "country", "e164"), SPELLINGS)
    async def test_post_stores_e164_and_its_key(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        typed: str,
        country: str | None,
        e164: str,
    ) -> None:
        body = {"phones": [typed], **({"country": country} if country else {})}
        lead = await create_lead(client, boss, **body)
        assert lead["phones"] == [e164]
        keys = await owner.fetch(
            "SELECT kind::text, value FROM lead_keys WHERE lead_id = $1::uuid", lead["id"]
        )
        assert [tuple(k) for k in keys] == [("PHONE", e164)]

    async def test_patch_stores_every_spelling_the_same_way(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss)
        for typed, country, e164 in SPELLINGS:
            response = await client.patch(
                f"/v1/leads/{lead['id']}",
                json={"phones": [typed], "country": country},
                headers=boss.headers,
            )
            assert response.status_code == 200, (typed, response.text)
            assert response.json()["phones"] == [e164], typed

    async def test_spellings_of_one_number_collapse_order_kept(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(
            client, boss, phones=["011 234 5678", "0501234567", "+966 50 123 4567", "٠٥٠١٢٣٤٥٦٧"]
        )
        assert lead["phones"] == ["+966112345678", "+966501234567"]

    async def test_a_trailing_extension_is_dropped(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, phones=["011 234 5678 ext. 12", "tel:+966501234567"])
        assert lead["phones"] == ["+966112345678", "+966501234567"]


class TestWhichCountryReadsANationalNumber:
    async def test_the_tenants_default_country(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        saudi = await create_lead(client, boss, name="Before", phones=["0501234567"])
        assert saudi["phones"] == ["+966501234567"]
        changed = await client.patch(
            "/v1/tenants/current", json={"settings": {"defaultCountry": "AE"}}, headers=boss.headers
        )
        assert changed.status_code == 200, changed.text
        emirati = await create_lead(client, boss, name="After", phones=["0501234567"])
        assert emirati["phones"] == ["+971501234567"]
        # What was stored stays as it was read.
        got = await client.get(f"/v1/leads/{saudi['id']}", headers=boss.headers)
        assert got.json()["phones"] == ["+966501234567"]

    async def test_the_leads_country_beats_the_tenants(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        await client.patch(
            "/v1/tenants/current", json={"settings": {"defaultCountry": "AE"}}, headers=boss.headers
        )
        lead = await create_lead(client, boss, phones=["0501234567"], country="SA")
        assert lead["phones"] == ["+966501234567"]
        kuwaiti = await create_lead(client, boss, name="K", phones=["5001 2345"], country="kw")
        assert kuwaiti["country"] == "KW"
        assert kuwaiti["phones"] == ["+96550012345"]

    async def test_the_numbers_own_country_beats_both(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, phones=["+20 10 1234 5678"], country="KW")
        assert lead["phones"] == ["+201012345678"]
        assert lead["country"] == "KW"  # the lead's country is not the phone's

    async def test_patch_reads_new_phones_in_the_stored_country(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, country="KW")
        response = await client.patch(
            f"/v1/leads/{lead['id']}", json={"phones": ["5001 2345"]}, headers=boss.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["phones"] == ["+96550012345"]
        assert response.json()["country"] == "KW"

    async def test_patch_reads_phones_in_the_country_sent_with_them(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, country="KW")
        response = await client.patch(
            f"/v1/leads/{lead['id']}",
            json={"phones": ["0501234567"], "country": "AE"},
            headers=boss.headers,
        )
        assert response.json()["phones"] == ["+971501234567"]
        cleared = await client.patch(
            f"/v1/leads/{lead['id']}",
            json={"phones": ["0501234567"], "country": None},
            headers=boss.headers,
        )
        assert cleared.json()["phones"] == ["+966501234567"]  # the tenant's SA
        assert cleared.json()["country"] is None

    async def test_changing_only_the_country_leaves_stored_phones_alone(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, phones=["0501234567"])
        response = await client.patch(
            f"/v1/leads/{lead['id']}", json={"country": "AE"}, headers=boss.headers
        )
        assert response.json()["phones"] == ["+966501234567"]


class TestImpossibleNumbers:
    @pytest.mark.parametrize(
        ("typed", "country"),
        [
            ("123", None),
            ("050123456", None),  # one digit short
            ("0501234567890", None),
            ("abc", None),
            ("+966 12", None),
            ("19019", "EG"),  # a hotline short code
            ("0501234567", "KW"),  # Kuwait has no trunk 0 and no 10-digit numbers
            ("+999 501234567", None),
            ("050 123 4567 / 050", None),
            ("٠٥٠-١٢٣", None),
            ("+", None),
            ("--", None),
        ],
    )
    async def test_post_is_422_naming_field_and_index(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        typed: str,
        country: str | None,
    ) -> None:
        body = {"name": "x", "phones": ["+966501234567", typed], "country": country}
        response = await client.post("/v1/leads", json=body, headers=boss.headers)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["detail"].startswith("phones[1]: not a phone number")
        assert problem["field"] == "phones"
        assert problem["errors"][0]["loc"] == ["body", "phones", 1]
        assert typed not in problem["detail"] or typed in {"+", "--"}  # no personal data echoed
        assert await lead_count(owner, boss) == 0
        assert await key_count(owner, boss) == 0

    async def test_patch_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(client, boss, phones=["0501234567"])
        before = await stored(owner, lead["id"])
        response = await client.patch(
            f"/v1/leads/{lead['id']}",
            json={"name": "renamed", "phones": ["0501234567", "0509999999", "12"]},
            headers=boss.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "phones", 2]
        assert await stored(owner, lead["id"]) == before
        assert await key_count(owner, boss) == 1


class TestEmails:
    async def test_trimmed_lower_cased_and_deduplicated(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        lead = await create_lead(
            client,
            boss,
            emails=[" Info@AlAmal.com.SA ", "info@alamal.com.sa", "mailto:Sales@AlAmal.com.sa",
                    f"{RLM}INFO@alamal.com.sa", "ｉｎｆｏ@alamal.com.sa"],
        )  # fmt: skip
        assert lead["emails"] == ["info@alamal.com.sa", "sales@alamal.com.sa"]
        keys = await owner.fetch(
            "SELECT value FROM lead_keys WHERE lead_id = $1::uuid AND kind = 'EMAIL'"
            " ORDER BY value",
            lead["id"],
        )
        assert [k["value"] for k in keys] == ["info@alamal.com.sa", "sales@alamal.com.sa"]

    @pytest.mark.parametrize("typed", ["info", "info@", "@alamal.com.sa", "a b@x.com", "a@@x.com"])
    async def test_not_an_address_is_422_naming_its_index(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, typed: str
    ) -> None:
        body = {"name": "x", "emails": ["ok@alamal.com.sa", typed]}
        response = await client.post("/v1/leads", json=body, headers=boss.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "emails", 1]
        assert await lead_count(owner, boss) == 0


class TestWebsite:
    @pytest.mark.parametrize(
        ("typed", "website", "domain"),
        [
            ("shop.alamal.com.sa", "https://shop.alamal.com.sa/", "alamal.com.sa"),
            ("https://shop.alamal.com.sa/menu?x=1", "https://shop.alamal.com.sa/menu?x=1",
             "alamal.com.sa"),
            ("http://WWW.AlAmal.COM.sa", "http://www.alamal.com.sa/", "alamal.com.sa"),
            ("alamal.com.sa:8080/contact", "https://alamal.com.sa:8080/contact", "alamal.com.sa"),
            ("  www.example.co.uk  ", "https://www.example.co.uk/", "example.co.uk"),
            ("alamal.myshopify.com", "https://alamal.myshopify.com/", "alamal.myshopify.com"),
            ("مثال.السعودية", "https://xn--mgbh0fb.xn--mgberp4a5d4ar/",
             "xn--mgbh0fb.xn--mgberp4a5d4ar"),
            # No registrable domain: kept as typed, domain null.
            ("http://10.0.0.1/", "http://10.0.0.1/", None),
            ("http://[2001:db8::1]/", "http://[2001:db8::1]/", None),
            ("localhost", "https://localhost/", None),
            ("com.sa", "https://com.sa/", None),
        ],
    )  # fmt: skip
    async def test_stored_url_and_registrable_domain(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        typed: str,
        website: str,
        domain: str | None,
    ) -> None:
        lead = await create_lead(client, boss, website=typed)
        assert (lead["website"], lead["domain"]) == (website, domain)

    @pytest.mark.parametrize(
        "typed",
        [
            "ftp://alamal.com.sa",
            "https://user:secret@alamal.com.sa/",
            "https://user@alamal.com.sa/",
            "javascript:alert(1)",
            "mailto:info@alamal.com.sa",
            "http://",
            "https://exa mple.com",
        ],
    )
    async def test_refused_with_422_on_website(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, typed: str
    ) -> None:
        response = await client.post(
            "/v1/leads", json={"name": "x", "website": typed}, headers=boss.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "website"]
        assert "secret" not in response.text
        assert await lead_count(owner, boss) == 0

    async def test_blank_or_null_clears_it_and_the_domain(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, website="alamal.com.sa")
        for cleared in ("  ", None):
            await client.patch(
                f"/v1/leads/{lead['id']}", json={"website": "alamal.com.sa"}, headers=boss.headers
            )
            response = await client.patch(
                f"/v1/leads/{lead['id']}", json={"website": cleared}, headers=boss.headers
            )
            assert (response.json()["website"], response.json()["domain"]) == (None, None)


class TestTags:
    async def test_deduplicated_case_insensitively_first_spelling_kept(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(
            client, boss, tags=["VIP", "vip", " Vip ", "hot  lead", "Hot Lead", "عميل", "STRASSE",
                                "straße"],
        )  # fmt: skip
        assert lead["tags"] == ["VIP", "hot lead", "عميل", "STRASSE"]

    async def test_patch_replaces_the_whole_list(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await create_lead(client, boss, tags=["a", "b"])
        response = await client.patch(
            f"/v1/leads/{lead['id']}", json={"tags": ["B", "c", "C"]}, headers=boss.headers
        )
        assert response.json()["tags"] == ["B", "c"]


# Two spellings of one business name: name_key equal, so they are look-alikes.
SAME_NAME = [
    ("مطعم الأمل", "مطعم الامل"),
    ("مكتبة المدينة", "مكتبه المدينه"),
    ("مستشفى النور", "مستشفي النور"),
    ("شركة الأمل للتجارة", "الامل للتجاره"),
    ("الأمل ذ.م.م", "الأمل"),
    ("مؤسسة الفجر", "الفجر"),
    ("مطعم الأمل وشركاه", "مطعم الامل"),
    ("مـطـعـم الـبـيـك", "مطعم البيك"),
    ("مَطْعَمُ الْبَيْك", "مطعم البيك"),
    ("شاطئ الراحة", "شاطي الراحه"),
    (f"{RLM}الأمل{RLM}", "الامل"),
    ("کافی نت", "كافي نت"),
    ("ﻻفتة", "لافتة"),
    ("Al Amal LLC", "al amal"),
    ("Al Amal L.L.C.", "AL AMAL"),
    ("Al-Amal Trading Co.", "al amal trading"),
    ("Café Beirut", "CAFE BEIRUT"),
    ("McDonald's", "McDonalds"),
    ("Straße Café", "strasse cafe"),
    ("U.A.E Exchange", "UAE Exchange"),
    ("Salon ١٢٣", "salon 123"),
    ("Noor FZ-LLC", "noor"),
]

# Names that must stay different: not look-alikes.
DIFFERENT_NAME = [
    ("Al Amal", "الأمل"),  # a transliteration: such leads meet through a key
    ("مطعم الأمل", "مقهى الأمل"),
    ("الأمل", "الآمال"),
    ("مطعم البيك", "مطعم البيت"),
    ("بيت", "بنت"),
    ("کافی شاپ", "كافي شاب"),  # پ is p, not ب
    ("شركة", "مؤسسة"),  # a legal form alone is the name
    ("مطعم", "مطعم الأمل"),
    ("Al Amal Trading", "Al Amal Group"),
    ("Al Noor", "Al Nour"),
    ("Cafe 1", "Cafe 2"),
    ("Salon 123", "Salon 1234"),
]


class TestNameForms:
    """name_key and normalize_text on pairs test_normalize.py does not hold, and their laws."""

    def test_there_are_twenty_pairs_each_way(self) -> None:
        assert len(SAME_NAME) >= 20
        assert len(DIFFERENT_NAME) >= 10

    @pytest.mark.parametrize(("a", "b"), SAME_NAME)
    def test_same_name(self, a: str, b: str) -> None:
        assert name_key(a) == name_key(b)

    @pytest.mark.parametrize(("a", "b"), DIFFERENT_NAME)
    def test_different_names(self, a: str, b: str) -> None:
        assert name_key(a) != name_key(b)

    @pytest.mark.parametrize("name", [n for pair in SAME_NAME + DIFFERENT_NAME for n in pair])
    def test_both_forms_are_fixed_points(self, name: str) -> None:
        assert normalize_text(normalize_text(name)) == normalize_text(name)
        assert name_key(name_key(name)) == name_key(name)
        # The key only ever drops words from the normalized name.
        assert set(name_key(name).split()) <= set(normalize_text(name).split())


class TestLookAlikes:
    """A second lead whose name is the first's under name_key is created (201) and names the
    first in possibleDuplicates, when both are in the same city (or either has none)."""

    @pytest.mark.parametrize(("first", "second"), SAME_NAME)
    async def test_same_city_names_the_first(
        self, client: httpx.AsyncClient, boss: Account, first: str, second: str
    ) -> None:
        one = await create_lead(client, boss, name=first, city="Riyadh")
        two = await create_lead(client, boss, name=second, city="RIYADH")
        assert two["possibleDuplicates"] == [
            {"id": one["id"], "name": one["name"], "reasons": ["name"], "deleted": False}
        ]

    @pytest.mark.parametrize(("first", "second"), SAME_NAME[:5] + SAME_NAME[-5:])
    async def test_another_city_names_none(
        self, client: httpx.AsyncClient, boss: Account, first: str, second: str
    ) -> None:
        await create_lead(client, boss, name=first, city="Riyadh")
        two = await create_lead(client, boss, name=second, city="Jeddah")
        assert two["possibleDuplicates"] == []

    @pytest.mark.parametrize(("first", "second"), DIFFERENT_NAME)
    async def test_a_different_name_names_none(
        self, client: httpx.AsyncClient, boss: Account, first: str, second: str
    ) -> None:
        await create_lead(client, boss, name=first, city="Riyadh")
        two = await create_lead(client, boss, name=second, city="Riyadh")
        assert two["possibleDuplicates"] == []

    async def test_an_unknown_city_on_either_side_matches(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        nowhere = await create_lead(client, boss, name="مطعم الأمل")
        riyadh = await create_lead(client, boss, name="مطعم الامل", city="Riyadh")
        assert [d["id"] for d in riyadh["possibleDuplicates"]] == [nowhere["id"]]
        again = await create_lead(client, boss, name="مطعم الأمل")
        assert [d["id"] for d in again["possibleDuplicates"]] == [nowhere["id"], riyadh["id"]]

    async def test_leads_in_the_trash_are_not_named(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        one = await create_lead(client, boss, name="Al Amal", city="Riyadh")
        await client.delete(f"/v1/leads/{one['id']}", headers=boss.headers)
        two = await create_lead(client, boss, name="al amal llc", city="Riyadh")
        assert two["possibleDuplicates"] == []

    async def test_another_tenants_leads_are_not_named(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        await create_lead(client, boss, name="Al Amal", city="Riyadh")
        stranger = await signup(client)
        theirs = await create_lead(client, stranger, name="Al Amal", city="Riyadh")
        assert theirs["possibleDuplicates"] == []
