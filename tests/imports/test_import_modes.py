"""The IMPORT job's core: rows into leads under each mode, with the report it writes."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.factories.accounts import on_plan
from tests.imports.support import HEADER, Workspace, workspace


@pytest.fixture
async def ws(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, app, owner)


def counts(output: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in output.items() if k != "reportFileId"}


async def a_lead(ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await ws.client.post("/v1/leads", json=body, headers=ws.account.headers)
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


class TestCreate:
    async def test_rows_become_leads_with_source_import(self, ws: Workspace) -> None:
        run = await ws.run(
            [
                ["مطعم البيك", "0501234567", "info@albaik.example", "جدة"],
                ["Kudu", "+966 55 123 4567", "", "Riyadh"],
            ],
            mode="CREATE_ONLY",
        )
        assert counts(run.output) == {
            "rows": 2, "created": 2, "updated": 0, "joined": 0, "skipped": 0, "failed": 0,
        }  # fmt: skip
        leads = await ws.leads()
        assert [lead["name"] for lead in leads] == ["مطعم البيك", "Kudu"]
        assert leads[0]["phones"] == ["+966501234567"]
        assert leads[0]["emails"] == ["info@albaik.example"]
        assert leads[0]["source_type"] == "IMPORT"
        assert leads[0]["source_job_id"] == run.job_id
        assert run.report[0] == ["row", "action", "leadId", "error"]
        assert run.line(2) == {
            "row": "2", "action": "created", "leadId": str(leads[0]["id"]), "error": "",
        }  # fmt: skip
        entry = await ws.owner.fetchrow(
            "SELECT type, details FROM lead_activities WHERE lead_id = $1", leads[0]["id"]
        )
        assert entry is not None
        assert entry["type"] == "CREATED"
        assert json.loads(entry["details"]) == {
            "source": "IMPORT",
            "jobId": str(run.job_id),
            "row": 2,
        }
        keys = await ws.owner.fetch(
            "SELECT kind::text, value FROM lead_keys WHERE lead_id = $1 ORDER BY kind",
            leads[0]["id"],
        )
        assert sorted((k["kind"], k["value"]) for k in keys) == [
            ("EMAIL", "info@albaik.example"), ("PHONE", "+966501234567"),
        ]  # fmt: skip

    async def test_the_lead_reads_back_through_the_api(self, ws: Workspace) -> None:
        await ws.run([["مطعم البيك", "050 123 4567", "", "جدة"]])
        response = await ws.client.get("/v1/leads", headers=ws.account.headers)
        (lead,) = response.json()["items"]
        assert lead["source"]["type"] == "IMPORT"
        assert lead["phones"] == ["+966501234567"]
        search = await ws.client.get("/v1/leads", params={"q": "البيك"}, headers=ws.account.headers)
        assert [item["id"] for item in search.json()["items"]] == [lead["id"]]

    async def test_three_spellings_of_one_business_are_one_lead(self, ws: Workspace) -> None:
        run = await ws.run(
            [
                ["مطعم البيك", "0501234567", "", "جدة"],
                ["Al Baik Restaurant", "+966 50 123 4567", "info@albaik.example", "Jeddah"],
                ["البيك", "٠٥٠١٢٣٤٥٦٧", "", ""],
            ]
        )
        assert counts(run.output) == {
            "rows": 3, "created": 1, "updated": 0, "joined": 2, "skipped": 0, "failed": 0,
        }  # fmt: skip
        (lead,) = await ws.leads()
        assert lead["name"] == "مطعم البيك"  # the first row's spelling stays
        assert lead["phones"] == ["+966501234567"]
        assert lead["emails"] == ["info@albaik.example"]  # a later row fills what it lacks
        assert {line["leadId"] for line in run.lines} == {str(lead["id"])}
        assert [line["action"] for line in run.lines] == ["created", "joined", "joined"]

    async def test_duplicates_across_batches_collapse_onto_one_lead(self, ws: Workspace) -> None:
        run = await ws.run(
            [
                ["A", "0501234567", "", ""],
                ["B", "0551234567", "", ""],
                ["C", "0561234567", "", ""],
                ["A again", "0501234567", "a@example.com", ""],
                ["B again", "", "", ""],
            ],
            batch_rows=2,
        )
        assert counts(run.output)["created"] == 4  # "B again" shares nothing with B
        assert run.line(5)["action"] == "joined"
        assert run.line(5)["leadId"] == run.line(2)["leadId"]
        leads = await ws.leads()
        assert len(leads) == 4
        assert leads[0]["emails"] == ["a@example.com"]

    async def test_several_values_in_one_cell(self, ws: Workspace) -> None:
        await ws.run([["Kudu", "0501234567 / 0551234567", "a@x.example; b@x.example", ""]])
        (lead,) = await ws.leads()
        assert lead["phones"] == ["+966501234567", "+966551234567"]
        assert lead["emails"] == ["a@x.example", "b@x.example"]

    async def test_the_jobs_country_reads_local_phones(self, ws: Workspace) -> None:
        await ws.run([["Cairo shop", "010 1234 5678", "", ""]], country="EG")
        (lead,) = await ws.leads()
        assert lead["phones"] == ["+201012345678"]

    async def test_the_rows_country_wins_over_the_jobs(self, ws: Workspace) -> None:
        await ws.run(
            [["Dubai shop", "050 123 4567", "", "AE"]],
            header=["الاسم", "الجوال", "x", "الدولة"],
            mapping={"الاسم": "name", "الجوال": "phones", "الدولة": "country"},
            country="EG",
        )
        (lead,) = await ws.leads()
        assert lead["phones"] == ["+971501234567"]
        assert lead["country"] == "AE"


class TestRowsThatDoNotImport:
    async def test_a_bad_phone_fails_its_row_only(self, ws: Workspace) -> None:
        run = await ws.run(
            [
                ["Good one", "0501234567", "", ""],
                ["Bad phone", "12", "", ""],
                ["Another", "0551234567", "", ""],
            ]
        )
        assert counts(run.output) == {
            "rows": 3, "created": 2, "updated": 0, "joined": 0, "skipped": 0, "failed": 1,
        }  # fmt: skip
        line = run.line(3)
        assert line["action"] == "failed"
        assert line["leadId"] == ""
        assert line["error"].startswith("phones: '12': not a phone number")
        assert "column 'الجوال'" in line["error"]
        assert [lead["name"] for lead in await ws.leads()] == ["Good one", "Another"]

    async def test_a_bad_email_and_a_bad_website_name_their_field(self, ws: Workspace) -> None:
        run = await ws.run(
            [["X", "", "not-an-email", "", "x.example"], ["Y", "", "", "", "http://"]],
            header=[*HEADER, "Website"],
            mapping={"الاسم": "name", "البريد الإلكتروني": "emails", "Website": "website"},
        )
        assert run.line(2)["error"].startswith("emails: ")
        assert run.line(3)["error"].startswith("website: ")
        assert await ws.leads() == []

    async def test_an_empty_row_is_skipped(self, ws: Workspace) -> None:
        run = await ws.run([["", "  ", "", ""], ["Kudu", "0501234567", "", ""]])
        assert run.line(2) == {"row": "2", "action": "skipped", "leadId": "", "error": "empty_row"}
        assert run.line(3)["action"] == "created"

    async def test_a_row_without_a_name_cannot_create(self, ws: Workspace) -> None:
        run = await ws.run([["", "0501234567", "", ""]])
        assert run.line(2)["action"] == "failed"
        assert run.line(2)["error"].startswith("name: ")

    async def test_a_text_too_long_names_its_field(self, ws: Workspace) -> None:
        run = await ws.run([["x" * 301, "0501234567", "", ""]])
        assert run.line(2)["error"].startswith("name: ")

    async def test_rows_past_the_quota_are_skipped(self, ws: Workspace) -> None:
        await on_plan(ws.owner, ws.account, "FREE")  # 100 leads
        limit = await ws.owner.fetchval("SELECT max_leads FROM plans WHERE name = 'FREE'")
        await a_lead(ws, name="Already here")
        rows = [[f"Shop {n}", f"05012{n:05d}", "", ""] for n in range(limit + 2)]
        run = await ws.run(rows, batch_rows=40)
        assert run.output["created"] == limit - 1
        assert run.output["skipped"] == 3
        assert [line["error"] for line in run.lines if line["action"] == "skipped"] == [
            "over_quota"
        ] * 3
        assert len(await ws.leads()) == limit


class TestModes:
    async def test_create_only_skips_a_match_naming_the_lead(self, ws: Workspace) -> None:
        lead = await a_lead(ws, name="Kudu", phones=["0501234567"], city="Riyadh")
        run = await ws.run([["كودو", "+966501234567", "", ""]], mode="CREATE_ONLY")
        assert run.line(2) == {
            "row": "2", "action": "skipped", "leadId": lead["id"], "error": "duplicate",
        }  # fmt: skip
        (row,) = await ws.leads()
        assert row["name"] == "Kudu"
        assert row["version"] == 1

    async def test_create_or_update_overwrites_and_adds(self, ws: Workspace) -> None:
        lead = await a_lead(
            ws, name="Kudu", phones=["0501234567"], city="Riyadh", category="Food", tags=["vip"]
        )
        run = await ws.run(
            [["Kudu Restaurants", "0501234567; 0551234567", "kudu@example.com", ""]],
            tags=["imported"],
        )
        assert run.line(2)["action"] == "updated"
        assert run.line(2)["leadId"] == lead["id"]
        (row,) = await ws.leads()
        assert row["name"] == "Kudu Restaurants"  # a person's edit, replaced by the import
        assert row["city"] == "Riyadh"  # a blank cell clears nothing
        assert row["category"] == "Food"  # an unmapped field is untouched
        assert row["phones"] == ["+966501234567", "+966551234567"]
        assert row["emails"] == ["kudu@example.com"]
        assert row["tags"] == ["vip", "imported"]
        assert row["version"] == 2
        assert "name" in row["edited_fields"]
        entry = await ws.owner.fetchrow(
            "SELECT details FROM lead_activities WHERE lead_id = $1 AND type = 'IMPORTED'",
            row["id"],
        )
        assert entry is not None
        details = json.loads(entry["details"])
        assert details["jobId"] == str(run.job_id)
        assert {"name", "phones", "emails", "tags"} <= set(details["fields"])
        owners = await ws.owner.fetch(
            "SELECT value FROM lead_keys WHERE lead_id = $1 AND kind = 'PHONE' ORDER BY value",
            row["id"],
        )
        assert [o["value"] for o in owners] == ["+966501234567", "+966551234567"]

    async def test_update_only_skips_what_matches_nothing(self, ws: Workspace) -> None:
        lead = await a_lead(ws, name="Kudu", emails=["kudu@example.com"])
        run = await ws.run(
            [
                ["", "0501234567", "kudu@example.com", "Riyadh"],
                ["Someone new", "0551234567", "", ""],
            ],
            mode="UPDATE_ONLY",
        )
        assert run.line(2)["action"] == "updated"
        assert run.line(2)["leadId"] == lead["id"]
        assert run.line(3) == {"row": "3", "action": "skipped", "leadId": "", "error": "no_match"}
        (row,) = await ws.leads()
        assert row["name"] == "Kudu"
        assert row["city"] == "Riyadh"
        assert row["phones"] == ["+966501234567"]

    async def test_a_lead_in_the_trash_is_not_recreated(self, ws: Workspace) -> None:
        lead = await a_lead(ws, name="Kudu", phones=["0501234567"])
        deleted = await ws.client.delete(f"/v1/leads/{lead['id']}", headers=ws.account.headers)
        assert deleted.status_code == 204
        run = await ws.run([["Kudu", "0501234567", "", ""]])
        assert run.line(2) == {
            "row": "2", "action": "skipped", "leadId": lead["id"], "error": "in_trash",
        }  # fmt: skip

    async def test_a_row_matching_two_leads_updates_the_oldest(self, ws: Workspace) -> None:
        first = await a_lead(ws, name="Kudu", phones=["0501234567"])
        second = await a_lead(ws, name="Kudu Co", emails=["kudu@example.com"])
        run = await ws.run([["Kudu", "0501234567", "kudu@example.com", ""]])
        line = run.line(2)
        assert (line["action"], line["leadId"]) == ("updated", first["id"])
        assert line["error"] == f"also_matches:{second['id']}"
        assert len(await ws.leads()) == 2  # an import never merges

    async def test_the_other_fields(self, ws: Workspace) -> None:
        header = ["Name", "Status", "DNC", "Rating", "Lat", "Lng", "Size", "Maps", "Tags"]
        mapping = {
            "Name": "name", "Status": "status", "DNC": "doNotContact", "Rating": "rating",
            "Lat": "lat", "Lng": "lng", "Size": "customFields.size",
            "Maps": "externalIds.googleMaps", "Tags": "tags",
        }  # fmt: skip
        run = await ws.run(
            [
                ["Kudu", "qualified", "نعم", "4.5", "24.7", "46.6", "big", "ChIJ1", "a, b"],
                ["Bad", "maybe", "", "", "", "", "", "", ""],
                ["Half", "", "", "", "24.7", "", "", "", ""],
            ],
            header=header,
            mapping=mapping,
        )
        assert run.line(2)["action"] == "created"
        assert run.line(3)["error"].startswith("status: must be one of NEW")
        assert run.line(4)["error"].startswith("lng: a location needs both")
        (lead,) = await ws.leads()
        assert lead["status"] == "QUALIFIED"
        assert lead["do_not_contact"] is True
        assert lead["rating"] == 4.5
        assert (lead["lat"], lead["lng"]) == (24.7, 46.6)
        assert json.loads(lead["custom_fields"]) == {"size": "big"}
        assert json.loads(lead["external_ids"]) == {"googleMaps": "ChIJ1"}
        assert lead["tags"] == ["a", "b"]
