"""Duplicate suggestions: which leads, why, how sure; never across tenants or visibility."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, member, on_plan, signup
from tests.merges.helpers import new_lead


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="Duplicates")
    await on_plan(owner, account, "PRO")
    return account


async def suggestions(
    client: httpx.AsyncClient, account: Account, lead: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The suggestions for `lead`, by the name of each suggested lead."""
    response = await client.get(f"/v1/leads/{lead['id']}/duplicates", headers=account.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    return {i["lead"]["name"]: i for i in items}


def reason_types(item: dict[str, Any]) -> list[str]:
    return [r["type"] for r in item["reasons"]]


class TestDomain:
    async def test_same_city_or_unknown_city_never_another_city(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await new_lead(
            client, boss, name="Alpha", website="https://www.alamal.com.sa/", city="Riyadh"
        )
        await new_lead(client, boss, name="Beta", website="shop.alamal.com.sa", city="riyadh")
        await new_lead(client, boss, name="Gamma", website="https://alamal.com.sa/contact")
        await new_lead(client, boss, name="Delta", website="alamal.com.sa", city="Jeddah")
        await new_lead(client, boss, name="Epsilon", website="alamal.com", city="Riyadh")
        found = await suggestions(client, boss, lead)
        assert set(found) == {"Beta", "Gamma"}
        assert found["Beta"]["reasons"] == [
            {"type": "domain", "value": "alamal.com.sa", "similarity": None}
        ]
        assert found["Beta"]["score"] == 0.9
        assert found["Gamma"]["score"] == 0.8  # a city unknown weighs less
        assert list(found) == ["Beta", "Gamma"]

    @pytest.mark.parametrize(
        ("mine", "theirs"),
        [
            ("https://instagram.com/alamal", "https://www.instagram.com/other"),
            ("https://linktr.ee/alamal", "https://linktr.ee/other"),
            ("https://wa.me/966501234567", "https://wa.me/966507654321"),
            ("https://sites.google.com/view/alamal", "https://sites.google.com/view/other"),
        ],
    )
    async def test_a_shared_host_is_never_a_reason(
        self, client: httpx.AsyncClient, boss: Account, mine: str, theirs: str
    ) -> None:
        lead = await new_lead(client, boss, name="Alpha", website=mine, city="Riyadh")
        await new_lead(client, boss, name="Beta", website=theirs, city="Riyadh")
        assert await suggestions(client, boss, lead) == {}


class TestEmailDomain:
    async def test_a_business_mail_domain_in_common_counts_free_mail_never(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await new_lead(
            client,
            boss,
            name="Alpha",
            emails=["info@alamal.sa", "alpha@gmail.com"],
            city="Dubai",
        )
        await new_lead(client, boss, name="Beta", emails=["sales@mail.alamal.sa"], city="Dubai")
        await new_lead(client, boss, name="Gamma", website="https://alamal.sa", city="Dubai")
        for i, provider in enumerate(
            ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.fr")
        ):
            await new_lead(client, boss, name=f"Free {i}", emails=[f"x{i}@{provider}"])
        await new_lead(client, boss, name="Far", emails=["far@alamal.sa"], city="Cairo")
        found = await suggestions(client, boss, lead)
        assert set(found) == {"Beta", "Gamma"}
        assert found["Beta"]["reasons"] == [
            {"type": "email_domain", "value": "alamal.sa", "similarity": None}
        ]
        assert found["Beta"]["score"] == 0.7
        # Its website is the lead's e-mail domain: the same business's mail.
        assert reason_types(found["Gamma"]) == ["email_domain"]

    async def test_the_lead_with_a_website_finds_the_one_writing_from_it(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await new_lead(client, boss, name="Alpha", website="alamal.sa")
        await new_lead(client, boss, name="Beta", emails=["ops@alamal.sa"])
        found = await suggestions(client, boss, lead)
        assert reason_types(found["Beta"]) == ["email_domain"]
        assert found["Beta"]["score"] == 0.6


class TestNames:
    @pytest.mark.parametrize(
        ("mine", "theirs"),
        [
            ("مطعم الأمل", "مطعم الامل"),  # hamza
            ("حلويات سعادة", "حلويات سعاده"),  # taa marbuta
            ("مقهى الشرفة", "مقهي الشرفه"),  # alef maksura
            ("مَطْعَمُ الأَمَلِ", "مطعم الأمل"),  # diacritics
            ("شركة الأمل للتجارة", "الأمل للتجارة ذ.م.م"),  # legal forms
            ("Al-Amal Trading LLC", "al amal trading"),
        ],
    )
    async def test_spellings_of_one_name_in_the_same_city(
        self, client: httpx.AsyncClient, boss: Account, mine: str, theirs: str
    ) -> None:
        lead = await new_lead(client, boss, name=mine, city="الرياض", phones=["+966501111111"])
        await new_lead(client, boss, name=theirs, city="الرياض")
        await new_lead(client, boss, name=theirs, city="جدة")
        await new_lead(client, boss, name=theirs)
        response = await client.get(f"/v1/leads/{lead['id']}/duplicates", headers=boss.headers)
        found = response.json()["items"]
        assert [(i["lead"]["city"], i["score"], reason_types(i)) for i in found] == [
            ("الرياض", 0.7, ["name"]),
            (None, 0.5, ["name"]),
        ]

    async def test_two_leads_with_phones_are_not_one_by_name(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await new_lead(
            client, boss, name="مطعم الأمل", city="Riyadh", phones=["+966501111111"]
        )
        await new_lead(client, boss, name="مطعم الامل", city="Riyadh", phones=["+966502222222"])
        await new_lead(
            client, boss, name="مطعم الأمل للمأكولات", city="Riyadh", phones=["+966503333333"]
        )
        assert await suggestions(client, boss, lead) == {}

    async def test_near_matches_in_the_same_city_scored_by_similarity(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await new_lead(client, boss, name="Al Amal Restaurant", city="Riyadh")
        await new_lead(client, boss, name="Al Amal Restaurants", city="Riyadh")
        await new_lead(client, boss, name="Jarir Book Store", city="Riyadh")
        await new_lead(client, boss, name="Al Amal Restaurants", city="Jeddah")
        far = await new_lead(client, boss, name="Jarir Bookstore", city="Riyadh")
        await new_lead(client, boss, name="Obeikan Bookstore", city="Riyadh")
        found = await suggestions(client, boss, lead)
        assert set(found) == {"Al Amal Restaurants"}
        item = found["Al Amal Restaurants"]
        assert item["lead"]["city"] == "Riyadh"
        (reason,) = item["reasons"]
        assert reason["type"] == "similar_name"
        assert 0.8 < reason["similarity"] < 0.9
        assert item["score"] == round(0.6 * reason["similarity"], 3)
        close = await suggestions(client, boss, far)
        assert set(close) == {"Jarir Book Store"}  # Obeikan Bookstore: 0.42, under 0.5
        assert reason_types(close["Jarir Book Store"]) == ["similar_name"]

    async def test_reasons_add_up_and_the_best_come_first_twenty_at_most(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await new_lead(client, boss, name="Nakheel", website="nakheel.sa", city="Riyadh")
        both = await new_lead(
            client, boss, name="Nakheel", website="https://nakheel.sa/branch", city="Riyadh"
        )
        for i in range(22):
            await new_lead(client, boss, name="Nakheel", city=None if i % 2 else "Riyadh")
        response = await client.get(f"/v1/leads/{lead['id']}/duplicates", headers=boss.headers)
        items = response.json()["items"]
        assert len(items) == 20
        assert items[0]["lead"]["id"] == both["id"]
        assert reason_types(items[0]) == ["domain", "name"]
        assert items[0]["score"] == 0.97  # 1 - (1 - 0.9)(1 - 0.7)
        assert {i["score"] for i in items[1:]} <= {0.7, 0.5}
        assert lead["id"] not in {i["lead"]["id"] for i in items}


class TestWhoSeesWhat:
    async def test_other_tenants_and_hidden_leads_are_404_and_never_suggested(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, boss: Account
    ) -> None:
        stranger = await signup(client, tenant_name="Elsewhere")
        theirs = await new_lead(client, stranger, name="Al Amal", website="alamal.sa")
        mine = await new_lead(client, boss, name="Al Amal", website="alamal.sa")
        assert await suggestions(client, boss, mine) == {}
        foreign = await client.get(f"/v1/leads/{theirs['id']}/duplicates", headers=boss.headers)
        assert foreign.status_code == 404

        sales = await member(client, boss, "SALES")
        others = await new_lead(client, boss, name="Al Amal", ownerId=boss.user_id)
        own = await new_lead(client, sales, name="Al Amal", ownerId=sales.user_id)
        open_lead = await new_lead(client, boss, name="Al Amal")
        settings = await client.patch(
            "/v1/tenants/current",
            json={"settings": {"salesSeeAllLeads": False}},
            headers=boss.headers,
        )
        assert settings.status_code == 200, settings.text
        hidden = await client.get(f"/v1/leads/{others['id']}/duplicates", headers=sales.headers)
        assert hidden.status_code == 404
        found = await client.get(f"/v1/leads/{own['id']}/duplicates", headers=sales.headers)
        ids = {i["lead"]["id"] for i in found.json()["items"]}
        assert ids == {mine["id"], open_lead["id"]}
        # The manager sees them all.
        everyone = await client.get(f"/v1/leads/{own['id']}/duplicates", headers=boss.headers)
        assert {i["lead"]["id"] for i in everyone.json()["items"]} == {
            mine["id"],
            open_lead["id"],
            others["id"],
        }

    async def test_trash_and_merged_leads_are_not_suggested(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        lead = await new_lead(client, boss, name="Al Amal", city="Riyadh")
        trashed = await new_lead(client, boss, name="Al Amal", city="Riyadh")
        folded = await new_lead(client, boss, name="Al-Amal", city="Riyadh")
        survivor = await new_lead(client, boss, name="Other", city="Riyadh")
        await client.delete(f"/v1/leads/{trashed['id']}", headers=boss.headers)
        merged = await client.post(
            f"/v1/leads/{survivor['id']}/merge",
            json={"leadIds": [folded["id"]]},
            headers=boss.headers,
        )
        assert merged.status_code == 200
        assert await suggestions(client, boss, lead) == {}
