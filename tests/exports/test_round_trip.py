"""Export, then import the file into another workspace: every importable field, Arabic text and
phone comes back as it was. The file is read by the import's own reader and mapped by its own
suggestion (custom field columns by `field_of_header`)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.exports.columns import field_of_header
from leedz.imports import mapping, reader
from leedz.jobs.work import Cancelled
from tests.exports.support import exported, run
from tests.factories.accounts import Account, on_plan, signup
from tests.factories.leads import create_lead
from tests.imports.support import workspace

# The columns a re-import restores, as stored.
RESTORED = (
    "name", "contact_name", "category", "phones", "emails", "website", "domain", "address",
    "city", "country", "lat", "lng", "rating", "reviews_count", "status", "tags",
    "do_not_contact",
)  # fmt: skip


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="شركة التصدير")
    await on_plan(owner, account, "PRO")
    return account


async def _leads(owner: asyncpg.Connection, tenant_id: Any) -> dict[str, asyncpg.Record]:
    rows = await owner.fetch(
        "SELECT * FROM leads WHERE tenant_id = $1::uuid AND deleted_at IS NULL", str(tenant_id)
    )
    return {row["name"]: row for row in rows}


@pytest.mark.parametrize("fmt", ["CSV", "XLSX"])
async def test_export_then_import_keeps_every_field(
    client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection, boss: Account, fmt: str
) -> None:
    await create_lead(
        client,
        boss,
        name="مطعم الأمل للتجارة",
        contactName="محمد العتيبي",
        category="مطاعم",
        phones=["+966501234567", "055 123 4567"],
        emails=["info@alamal.example", "sales@alamal.example"],
        website="https://alamal.example/ar",
        address="شارع الملك فهد، العليا، الرياض 12211",
        city="الرياض",
        country="SA",
        location={"lat": 24.7136, "lng": 46.6753},
        rating=4.5,
        reviewsCount=1200,
        externalIds={"googleMaps": "ChIJ123"},
        status="QUALIFIED",
        tags=["عميل مميز", "vip"],
        doNotContact=True,
        customFields={"industry": "أغذية", "score": "-12.5", "note": 'قال: "نعم, غدًا"\nسطر'},
    )
    await create_lead(
        client,
        boss,
        name="Golden Palm Trading L.L.C.",
        phones=["+971501234567"],
        city="Dubai",
        country="AE",
        rating=0,
        customFields={"industry": "Retail"},
    )
    output = await run(app, boss, {"format": fmt})
    assert not isinstance(output, Cancelled)
    async with exported(app, boss, output) as path:
        detected = reader.detect(path, name=f"leads.{fmt.lower()}")
        header = list(detected.header)
        cells = list(reader.rows(path, detected))
    assert detected.format.value == fmt
    suggested = mapping.suggest(header)
    for column in header:  # the import's suggestion maps every importable column back
        key = field_of_header(column)
        if key in mapping.IMPORTABLE and key != mapping.NOTES_FIELD:
            assert suggested.get(column) == key, column
    custom = {
        column: key
        for column in header
        if (key := field_of_header(column)) and key.startswith("customFields.")
    }
    target = await workspace(client, app, owner)
    result = await target.run(cells, header=header, mapping=suggested | custom, mode="CREATE_ONLY")
    assert result.output["created"] == 2, result.report
    assert result.output["failed"] == 0, result.report

    before = await _leads(owner, boss.tenant_id)
    after = await _leads(owner, target.tenant_id)
    assert set(after) == set(before)
    for name, source in before.items():
        copy = after[name]
        assert {c: copy[c] for c in RESTORED} == {c: source[c] for c in RESTORED}, name
        assert json.loads(copy["external_ids"]) == json.loads(source["external_ids"])
        # Custom fields come back as the text they were exported as.
        custom_before = json.loads(source["custom_fields"])
        assert json.loads(copy["custom_fields"]) == {k: str(v) for k, v in custom_before.items()}
