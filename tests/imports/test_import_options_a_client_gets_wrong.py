"""IMPORT options as a client gets them wrong, through POST /v1/jobs and a real worker: columns
the file does not have, one column twice, unknown fields, custom fields, another tenant's list
or owner, invalid tags; and reverts that must be refused. Each is refused with its code and
stores nothing."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.config import Settings
from tests.factories.accounts import Account, member, on_plan, signup
from tests.support.jobs_http import create_job, job_done, uploaded

CSV = (
    "الاسم,الجوال,الجوال,القطاع الفرعي,City\r\n"
    "مطعم البيك,0501234567,0551234567,وجبات سريعة,Jeddah\r\n"
    "كودو,0561234567,,برجر,Riyadh\r\n"
).encode()


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="مؤسسة الخيارات")
    await on_plan(owner, account, "PRO")
    return account


async def file_id(client: httpx.AsyncClient, account: Account) -> str:
    stored = await uploaded(client, account, "leads.csv", CSV)
    assert stored["detected"]["header"] == [
        "الاسم",
        "الجوال",
        "الجوال (2)",
        "القطاع الفرعي",
        "City",
    ]
    return str(stored["id"])


async def tenant_rows(owner: asyncpg.Connection, account: Account) -> dict[str, int]:
    counts = {}
    for table in ("leads", "lead_keys", "list_members", "lead_activities"):
        counts[table] = await owner.fetchval(
            f"SELECT count(*) FROM {table} WHERE tenant_id = $1::uuid",
            account.tenant_id,
        )
    return counts


NOTHING = {"leads": 0, "lead_keys": 0, "list_members": 0, "lead_activities": 0}


async def test_custom_fields_and_one_field_from_two_columns(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    mapping = {"الاسم": "name", "الجوال": "phones", "الجوال (2)": "phones",
               "القطاع الفرعي": "customFields.subsector", "City": "city"}  # fmt: skip
    job = await job_done(
        client,
        app,
        settings,
        boss,
        "IMPORT",
        {"fileId": await file_id(client, boss), "mapping": mapping},
    )
    assert job["status"] == "COMPLETED", job
    assert job["output"]["created"] == 2
    rows = await owner.fetch(
        "SELECT name, phones, custom_fields FROM leads WHERE tenant_id = $1::uuid ORDER BY name",
        boss.tenant_id,
    )
    by_name = {r["name"]: r for r in rows}
    assert by_name["مطعم البيك"]["phones"] == ["+966501234567", "+966551234567"]
    assert json.loads(by_name["كودو"]["custom_fields"]) == {"subsector": "برجر"}


@pytest.mark.parametrize(
    "mapping",
    [
        {"Name": "name"},  # not the file's spelling
        {"الجوال (3)": "phones"},
        {"الاسم": "name", "Column Z": "city"},
    ],
)
async def test_a_column_the_file_does_not_have_fails_the_job_storing_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
    mapping: dict[str, str],
) -> None:
    job = await job_done(
        client,
        app,
        settings,
        boss,
        "IMPORT",
        {"fileId": await file_id(client, boss), "mapping": mapping},
    )
    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == "import_mapping_invalid", job["error"]
    assert await tenant_rows(owner, boss) == NOTHING


@pytest.mark.parametrize(
    "job_input",
    [
        {"mapping": {"الاسم": "password_hash"}},
        {"mapping": {"الاسم": "tenantId"}},
        {"mapping": {"الاسم": "id"}},
        {"mapping": {"الاسم": "customFields."}},
        {"mapping": {"الاسم": ""}},
        {"mapping": {}},
        {"mapping": {"": "name"}},
        {"mapping": {"الاسم": "name"}, "tags": [""]},
        {"mapping": {"الاسم": "name"}, "tags": ["x" * 500]},
        {"mapping": {"الاسم": "name"}, "tags": [f"t{i}" for i in range(21)]},
        {"mapping": {"الاسم": "name"}, "tags": "vip"},
        {"mapping": {"الاسم": "name"}, "tags": [1, 2]},
        {"mapping": {"الاسم": "name"}, "mode": "MERGE"},
        {"mapping": {"الاسم": "name"}, "listId": "not-a-uuid"},
        {"mapping": {"الاسم": "name"}, "country": "XX"},
        {"mapping": {"الاسم": "name"}, "sheet": ""},
    ],
)
async def test_an_input_refused_at_creation(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, job_input: dict[str, Any]
) -> None:
    response = await create_job(
        client, boss, "IMPORT", {"fileId": await file_id(client, boss), **job_input}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert await owner.fetchval("SELECT count(*) FROM jobs") == 0


async def test_a_duplicated_key_in_the_json_mapping_is_the_last_one(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    # JSON objects may repeat a key; like every JSON parser in a browser, the last one wins.
    raw = (
        '{"type": "IMPORT", "input": {"fileId": "%s", "mapping": '
        '{"الاسم": "city", "الاسم": "name", "الجوال": "phones"}}}' % await file_id(client, boss)
    ).encode()
    response = await client.post(
        "/v1/jobs", content=raw, headers={**boss.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["input"]["mapping"] == {"الاسم": "name", "الجوال": "phones"}


async def test_another_tenant_s_list_or_owner_fails_the_job_storing_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    stranger = await signup(client, tenant_name="Other Co")
    await on_plan(owner, stranger, "PRO")
    their_list = await client.post(
        "/v1/lists", json={"name": "Theirs", "kind": "STATIC"}, headers=stranger.headers
    )
    assert their_list.status_code == 201, their_list.text
    mapping = {"الاسم": "name", "الجوال": "phones"}
    for extra, code in (
        ({"listId": their_list.json()["id"]}, "import_list_not_found"),
        ({"ownerId": stranger.user_id}, "owner_not_member"),
    ):
        job = await job_done(
            client, app, settings, boss, "IMPORT",
            {"fileId": await file_id(client, boss), "mapping": mapping, **extra},
        )  # fmt: skip
        assert job["status"] == "FAILED", job
        assert job["error"]["code"] == code, job["error"]
        assert await tenant_rows(owner, boss) == NOTHING
    # The stranger's own list is untouched.
    assert await owner.fetchval("SELECT count(*) FROM list_members") == 0


async def test_reverts_that_are_refused(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    mapping = {"الاسم": "name", "الجوال": "phones"}
    fid = await file_id(client, boss)
    dry = await job_done(
        client, app, settings, boss, "IMPORT", {"fileId": fid, "mapping": mapping, "dryRun": True}
    )
    real = await job_done(
        client, app, settings, boss, "IMPORT", {"fileId": fid, "mapping": mapping}
    )
    assert real["output"]["created"] == 2

    async def revert(job: dict[str, Any], account: Account = boss) -> httpx.Response:
        return await client.post(f"/v1/jobs/{job['id']}/revert", headers=account.headers)

    response = await revert(dry)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "import_not_revertible"
    seller = await member(client, boss, "SALES")
    response = await revert(real, seller)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    assert (
        await owner.fetchval(
            "SELECT count(*) FROM leads WHERE tenant_id = $1::uuid AND deleted_at IS NULL",
            boss.tenant_id,
        )
        == 2
    )
    stranger = await signup(client, tenant_name="Other Co")
    response = await revert(real, stranger)
    assert response.status_code == 404, response.text
    first = await revert(real)
    assert first.status_code == 200, first.text
    assert first.json()["trashed"] == 2
    second = await revert(real)
    assert second.status_code == 409, second.text
    assert second.json()["code"] == "import_already_reverted"
    # An export job is no import.
    export = await job_done(client, app, settings, boss, "EXPORT", {"format": "CSV"})
    response = await revert(export)
    assert response.status_code == 404, response.text
