"""Tenant settings on PATCH /v1/tenants/current: defaults, validation, roles, audit, the typed
read other features use."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from leedz.config import Settings
from leedz.errors import NotFound
from leedz.kit.db import Database
from leedz.tenants import service as tenants
from leedz.tenants.repository import TenantSettings
from tests.factories.accounts import Account, member, signup

CURRENT = "/v1/tenants/current"
DEFAULTS = {
    "defaultCountry": "SA",
    "timezone": "Asia/Riyadh",
    "salesSeeAllLeads": True,
    "language": "ar",
}
SETTINGS_SQL = (
    "SELECT name, default_country, timezone, sales_see_all_leads, language"
    " FROM tenants WHERE id = $1::uuid"
)


async def _stored(owner: asyncpg.Connection, account: Account) -> dict[str, Any]:
    row = await owner.fetchrow(SETTINGS_SQL, account.tenant_id)
    assert row is not None
    return dict(row)


async def _updates(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    page = await client.get(
        "/v1/audit-logs", params={"eventType": "tenant.updated"}, headers=account.headers
    )
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


class TestDefaults:
    async def test_a_new_tenant_has_the_defaults_everywhere_it_is_shown(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        assert boss.tokens["tenant"]["settings"] == DEFAULTS
        current = await client.get(CURRENT, headers=boss.headers)
        assert current.status_code == 200
        assert current.json()["settings"] == DEFAULTS
        me = await client.get("/v1/auth/me", headers=boss.headers)
        assert me.json()["tenant"]["settings"] == DEFAULTS
        stored = await _stored(owner, boss)
        assert stored == {
            "name": "Acme",
            "default_country": "SA",
            "timezone": "Asia/Riyadh",
            "sales_see_all_leads": True,
            "language": "ar",
        }

    async def test_a_tenant_created_with_post_has_the_defaults(
        self, client: httpx.AsyncClient
    ) -> None:
        boss = await signup(client)
        created = await client.post("/v1/tenants", json={"name": "Second"}, headers=boss.headers)
        assert created.status_code == 201, created.text
        assert created.json()["settings"] == DEFAULTS


class TestPatch:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("defaultCountry", "AE"),
            ("timezone", "Africa/Cairo"),
            ("salesSeeAllLeads", False),
            ("language", "en"),
        ],
    )
    async def test_each_setting_alone(
        self, client: httpx.AsyncClient, field: str, value: object
    ) -> None:
        boss = await signup(client)
        response = await client.patch(
            CURRENT, json={"settings": {field: value}}, headers=boss.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["settings"] == {**DEFAULTS, field: value}
        assert response.json()["name"] == "Acme"
        again = await client.get(CURRENT, headers=boss.headers)
        assert again.json()["settings"] == {**DEFAULTS, field: value}

    async def test_name_and_every_setting_at_once(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        admin = await member(client, boss, "ADMIN")
        wanted = {
            "defaultCountry": "EG",
            "timezone": "UTC",
            "salesSeeAllLeads": False,
            "language": "en",
        }
        response = await client.patch(
            CURRENT, json={"name": "Nile", "settings": wanted}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "Nile"
        assert response.json()["settings"] == wanted
        assert await _stored(owner, boss) == {
            "name": "Nile",
            "default_country": "EG",
            "timezone": "UTC",
            "sales_see_all_leads": False,
            "language": "en",
        }

    async def test_a_lower_case_country_is_stored_upper_case(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        response = await client.patch(
            CURRENT, json={"settings": {"defaultCountry": "kw"}}, headers=boss.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["settings"]["defaultCountry"] == "KW"
        assert (await _stored(owner, boss))["default_country"] == "KW"

    async def test_an_empty_body_or_empty_settings_change_nothing(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        before = await _stored(owner, boss)
        bodies: list[dict[str, Any]] = [{}, {"settings": {}}, {"name": None, "settings": None}]
        for body in bodies:
            response = await client.patch(CURRENT, json=body, headers=boss.headers)
            assert response.status_code == 200, (body, response.text)
            assert response.json()["settings"] == DEFAULTS
        assert await _stored(owner, boss) == before
        assert await _updates(client, boss) == []

    async def test_the_list_of_my_tenants_shows_each_ones_settings(
        self, client: httpx.AsyncClient
    ) -> None:
        boss = await signup(client)
        second = await client.post("/v1/tenants", json={"name": "Second"}, headers=boss.headers)
        assert second.status_code == 201
        await client.patch(CURRENT, json={"settings": {"language": "en"}}, headers=boss.headers)
        listing = await client.get("/v1/tenants", headers=boss.headers)
        assert listing.status_code == 200, listing.text
        body = listing.json()
        assert body["nextCursor"] is None
        by_id = {t["id"]: t for t in body["items"]}
        assert set(by_id) == {boss.tenant_id, second.json()["id"]}
        assert by_id[boss.tenant_id]["role"] == "OWNER"
        assert by_id[boss.tenant_id]["settings"] == {**DEFAULTS, "language": "en"}
        assert by_id[second.json()["id"]]["settings"] == DEFAULTS


class TestRefused:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("defaultCountry", "XX"),
            ("defaultCountry", "QZ"),
            ("defaultCountry", "SAU"),
            ("defaultCountry", "S"),
            ("defaultCountry", ""),
            ("defaultCountry", 12),
            ("timezone", "Mars/Olympus_Mons"),
            ("timezone", "asia/riyadh"),
            ("timezone", "Asia/Riyadh/"),
            ("timezone", "../../etc/passwd"),
            ("timezone", ""),
            ("language", "fr"),
            ("language", "AR"),
            ("language", ""),
            ("salesSeeAllLeads", "false"),
            ("salesSeeAllLeads", 0),
        ],
    )
    async def test_an_unknown_value_is_a_422_naming_the_field_and_nothing_is_stored(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, field: str, value: object
    ) -> None:
        boss = await signup(client)
        before = await _stored(owner, boss)
        response = await client.patch(
            CURRENT, json={"name": "Not stored", "settings": {field: value}}, headers=boss.headers
        )
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == "validation_error"
        assert [e["loc"] for e in body["errors"]] == [["body", "settings", field]]
        assert await _stored(owner, boss) == before
        assert await _updates(client, boss) == []

    @pytest.mark.parametrize(
        "body",
        [
            {"settings": {"currency": "SAR"}},
            {"defaultCountry": "AE"},
            {"settings": "AE"},
        ],
    )
    async def test_unknown_keys_and_shapes_are_refused(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, body: dict[str, Any]
    ) -> None:
        boss = await signup(client)
        before = await _stored(owner, boss)
        response = await client.patch(CURRENT, json=body, headers=boss.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert await _stored(owner, boss) == before

    @pytest.mark.parametrize("role", ["MANAGER", "SALES"])
    async def test_managers_and_sales_may_not_change_them(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection, role: str
    ) -> None:
        boss = await signup(client)
        someone = await member(client, boss, role)
        before = await _stored(owner, boss)
        response = await client.patch(
            CURRENT, json={"settings": {"salesSeeAllLeads": False}}, headers=someone.headers
        )
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
        assert response.json()["permission"] == "tenant:update"
        assert await _stored(owner, boss) == before
        # Reading them is still allowed.
        current = await client.get(CURRENT, headers=someone.headers)
        assert current.status_code == 200
        assert current.json()["settings"] == DEFAULTS

    async def test_the_database_refuses_what_the_api_would(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        boss = await signup(client)
        for column, value in (("default_country", "sa"), ("language", "fr")):
            with pytest.raises(asyncpg.CheckViolationError):
                await owner.execute(
                    f"UPDATE tenants SET {column} = $2 WHERE id = $1::uuid",
                    boss.tenant_id,
                    value,
                )


class TestIsolation:
    async def test_another_tenant_is_untouched(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        a = await signup(client, tenant_name="A")
        b = await signup(client, tenant_name="B")
        b_before = await _stored(owner, b)
        response = await client.patch(
            CURRENT,
            json={"name": "A2", "settings": {"defaultCountry": "AE", "language": "en"}},
            headers=a.headers,
        )
        assert response.status_code == 200
        assert response.json()["id"] == a.tenant_id
        assert await _stored(owner, b) == b_before
        seen_by_b = await client.get(CURRENT, headers=b.headers)
        assert seen_by_b.json()["name"] == "B"
        assert seen_by_b.json()["settings"] == DEFAULTS
        assert await _updates(client, b) == []


class TestAudit:
    async def test_the_audit_row_lists_what_changed_from_and_to(
        self, client: httpx.AsyncClient
    ) -> None:
        boss = await signup(client)
        response = await client.patch(
            CURRENT,
            json={
                "name": "Acme",  # unchanged: not listed
                "settings": {
                    "defaultCountry": "sa",  # unchanged once upper-cased: not listed
                    "timezone": "Asia/Dubai",
                    "salesSeeAllLeads": False,
                    "language": "ar",  # unchanged: not listed
                },
            },
            headers={**boss.headers, "user-agent": "settings-test/1.0"},
        )
        assert response.status_code == 200, response.text
        [row] = await _updates(client, boss)
        assert row["userId"] == boss.user_id
        assert row["action"] == "updated"
        assert row["entityType"] == "tenant"
        assert row["entityId"] == boss.tenant_id
        assert row["userAgent"] == "settings-test/1.0"
        assert row["requestId"] == response.headers["x-request-id"]
        assert row["details"] == {
            "changes": {
                "timezone": {"from": "Asia/Riyadh", "to": "Asia/Dubai"},
                "salesSeeAllLeads": {"from": True, "to": False},
            }
        }

    async def test_a_rename_and_a_country_change_are_listed_and_a_no_op_writes_no_row(
        self, client: httpx.AsyncClient
    ) -> None:
        boss = await signup(client)
        await client.patch(
            CURRENT,
            json={"name": "Acme Gulf", "settings": {"defaultCountry": "qa"}},
            headers=boss.headers,
        )
        same_again = await client.patch(
            CURRENT,
            json={"name": "Acme Gulf", "settings": {"defaultCountry": "QA"}},
            headers=boss.headers,
        )
        assert same_again.status_code == 200
        [row] = await _updates(client, boss)
        assert row["details"] == {
            "changes": {
                "name": {"from": "Acme", "to": "Acme Gulf"},
                "defaultCountry": {"from": "SA", "to": "QA"},
            }
        }


class TestTypedRead:
    async def test_settings_of_the_current_tenant(
        self, client: httpx.AsyncClient, settings: Settings, database_url: str
    ) -> None:
        boss = await signup(client)
        other = await signup(client)
        await client.patch(
            CURRENT,
            json={"settings": {"defaultCountry": "jo", "salesSeeAllLeads": False}},
            headers=boss.headers,
        )
        db = Database(settings, database_url)
        await db.start()
        try:
            async with db.transaction(tenant_id=uuid.UUID(boss.tenant_id)) as tx:
                mine = await tenants.settings(tx)
            async with db.transaction(tenant_id=uuid.UUID(other.tenant_id)) as tx:
                theirs = await tenants.settings(tx)
            async with db.transaction(tenant_id=uuid.uuid4()) as tx:
                with pytest.raises(NotFound):
                    await tenants.settings(tx)
        finally:
            await db.dispose()
        assert mine == TenantSettings(
            default_country="JO",
            timezone="Asia/Riyadh",
            sales_see_all_leads=False,
            language="ar",
        )
        assert theirs == TenantSettings(
            default_country="SA", timezone="Asia/Riyadh", sales_see_all_leads=True, language="ar"
        )
        with pytest.raises(dataclasses.FrozenInstanceError):
            mine.language = "en"  # type: ignore[misc]
