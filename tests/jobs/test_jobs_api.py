from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, member, on_plan, signup

SEARCH = {
    "type": "SEARCH",
    "input": {"query": "مطاعم في الرياض", "location": "Riyadh", "maxResults": 20},
}


@pytest.fixture
async def boss(client: httpx.AsyncClient) -> Account:
    return await signup(client)


class TestCreate:
    async def test_each_agent_type_with_valid_input(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        await on_plan(owner, boss, "PRO")
        bodies: list[dict[str, Any]] = [
            SEARCH,
            {"type": "SURVEY", "input": {"urls": ["https://example.com/a"]}},
            {"type": "WHATSAPP_SEND", "input": {"phone": "+966501234567", "message": "مرحبا"}},
            {
                "type": "WHATSAPP_BULK",
                "input": {"phones": ["+966501234567", "+971501234567"], "message": "hi"},
                "priority": 5,
            },
        ]
        for body in bodies:
            response = await client.post("/v1/jobs", json=body, headers=boss.headers)
            assert response.status_code == 201, response.text
            job = response.json()
            assert job["status"] == "PENDING"
            assert job["progress"] == 0
            assert job["type"] == body["type"]
        search = (
            await client.get("/v1/jobs", params={"type": "SEARCH"}, headers=boss.headers)
        ).json()
        assert search["items"][0]["input"] == {
            "query": "مطاعم في الرياض",
            "location": "Riyadh",
            "maxResults": 20,
        }

    @pytest.mark.parametrize(
        "body",
        [
            {"type": "SEARCH", "input": {}},
            {"type": "SEARCH", "input": {"query": "x", "maxResults": 0}},
            {"type": "SEARCH", "input": {"query": "x", "extra": 1}},
            {"type": "SURVEY", "input": {"urls": ["javascript:alert(1)"]}},
            {"type": "SURVEY", "input": {"urls": ["https://me:secret@example.com/"]}},
            {"type": "WHATSAPP_SEND", "input": {"phone": "0501234567", "message": "hi"}},
            {"type": "WHATSAPP_BULK", "input": {"phones": [], "message": "hi"}},
            {"type": "NOT_A_TYPE", "input": {}},
            {"type": "SEARCH", "input": {"query": "x"}, "priority": 99},
        ],
    )
    async def test_invalid_input_is_422_and_stores_nothing(
        self, client: httpx.AsyncClient, boss: Account, body: dict[str, object]
    ) -> None:
        response = await client.post("/v1/jobs", json=body, headers=boss.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert (await client.get("/v1/jobs", headers=boss.headers)).json()["items"] == []

    async def test_report_generate_is_not_available_yet(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        response = await client.post(
            "/v1/jobs", json={"type": "REPORT_GENERATE", "input": {}}, headers=boss.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "job_type_not_available"


SERVER_BODIES: dict[str, dict[str, Any]] = {
    "IMPORT": {
        "fileId": "0b4f5d1e-0000-4000-8000-000000000001",
        "mapping": {"الاسم": "name", "الجوال": "phones"},
        "country": "sa",
    },
    "EXPORT": {"format": "XLSX", "filter": {"status": ["NEW"]}, "columns": ["name", "phones"]},
    "BULK_STATUS_UPDATE": {"status": "WON", "leadIds": ["0b4f5d1e-0000-4000-8000-000000000002"]},
    "BULK_DELETE": {"filter": {"q": "مطعم"}},
}
# Who may create each: the permission of doing it by hand (access/permissions.py).
SERVER_ROLES = {
    "IMPORT": ("MANAGER", "SALES"),
    "EXPORT": ("MANAGER", "SALES"),
    "BULK_STATUS_UPDATE": ("SALES", None),
    "BULK_DELETE": ("MANAGER", "SALES"),
}


class TestServerRunJobs:
    @pytest.mark.parametrize("job_type", sorted(SERVER_BODIES))
    async def test_created_pending_with_validated_camel_case_input(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, job_type: str
    ) -> None:
        await on_plan(owner, boss, "STARTER")
        body = {"type": job_type, "input": SERVER_BODIES[job_type]}
        response = await client.post("/v1/jobs", json=body, headers=boss.headers)
        assert response.status_code == 201, response.text
        job = response.json()
        assert (job["status"], job["agentId"], job["attempts"]) == ("PENDING", None, 0)
        stored = job["input"]
        if job_type == "IMPORT":
            assert stored["mapping"] == {"الاسم": "name", "الجوال": "phones"}
            assert stored["mode"] == "CREATE_OR_UPDATE"
            assert stored["country"] == "SA"
        else:
            assert set(stored) >= {"filter", "listId", "leadIds"}

    @pytest.mark.parametrize(
        ("job_type", "bad"),
        [
            ("IMPORT", {"mapping": {"a": "name"}}),
            ("IMPORT", {"fileId": "not-a-uuid", "mapping": {"a": "name"}}),
            ("IMPORT", {"fileId": "0b4f5d1e-0000-4000-8000-000000000001", "mapping": {}}),
            ("IMPORT", {"fileId": "0b4f5d1e-0000-4000-8000-000000000001", "mapping": {"a": "nom"}}),
            ("EXPORT", {"format": "PDF"}),
            ("EXPORT", {"columns": ["name", "password"]}),
            ("EXPORT", {"filter": {"status": ["NOT_A_STATUS"]}}),
            ("BULK_STATUS_UPDATE", {"leadIds": ["0b4f5d1e-0000-4000-8000-000000000002"]}),
            ("BULK_STATUS_UPDATE", {"status": "WON", "leadIds": []}),
            ("BULK_DELETE", {"leadIds": ["x"]}),
            ("BULK_DELETE", {"unknown": 1}),
        ],
    )
    async def test_invalid_input_is_422_and_stores_nothing(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        job_type: str,
        bad: dict[str, Any],
    ) -> None:
        await on_plan(owner, boss, "STARTER")
        response = await client.post(
            "/v1/jobs", json={"type": job_type, "input": bad}, headers=boss.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"][0]["loc"][:2] == ["body", "input"]
        assert await owner.fetchval("SELECT count(*) FROM jobs") == 0

    @pytest.mark.parametrize("job_type", sorted(SERVER_ROLES))
    async def test_each_needs_the_permission_of_doing_it_by_hand(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, job_type: str
    ) -> None:
        await on_plan(owner, boss, "STARTER")
        allowed, refused = SERVER_ROLES[job_type]
        body = {"type": job_type, "input": SERVER_BODIES[job_type]}
        able = await member(client, boss, allowed)
        assert (await client.post("/v1/jobs", json=body, headers=able.headers)).status_code == 201
        if refused is None:
            return
        unable = await member(client, boss, refused)
        response = await client.post("/v1/jobs", json=body, headers=unable.headers)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
        assert response.json()["permission"].startswith("leads:")
        assert await owner.fetchval("SELECT count(*) FROM jobs") == 1

    async def test_export_needs_the_plans_bulk_export(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        body = {"type": "EXPORT", "input": SERVER_BODIES["EXPORT"]}
        response = await client.post("/v1/jobs", json=body, headers=boss.headers)  # FREE
        assert response.status_code == 402, response.text
        assert response.json()["code"] == "feature_not_in_plan"
        assert response.json()["feature"] == "bulk_export"
        assert await owner.fetchval("SELECT count(*) FROM jobs") == 0
        bulk = {"type": "BULK_DELETE", "input": SERVER_BODIES["BULK_DELETE"]}
        assert (await client.post("/v1/jobs", json=bulk, headers=boss.headers)).status_code == 201
        await on_plan(owner, boss, "STARTER")
        assert (await client.post("/v1/jobs", json=body, headers=boss.headers)).status_code == 201

    async def test_creation_notifies_waiting_workers_after_commit(
        self, client: httpx.AsyncClient, boss: Account, database_url: str
    ) -> None:
        from tests.support import databases

        heard: list[str] = []
        listener = await asyncpg.connect(databases.asyncpg_dsn(database_url))
        try:
            await listener.add_listener("leedz_server_jobs", lambda *args: heard.append(args[3]))
            body = {"type": "BULK_DELETE", "input": SERVER_BODIES["BULK_DELETE"]}
            assert (
                await client.post("/v1/jobs", json=body, headers=boss.headers)
            ).status_code == 201
            bad = {"type": "BULK_DELETE", "input": {"unknown": 1}}
            assert (
                await client.post("/v1/jobs", json=bad, headers=boss.headers)
            ).status_code == 422
            await client.post("/v1/jobs", json=SEARCH, headers=boss.headers)
            for _ in range(50):
                if heard:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
        finally:
            await listener.close()
        assert heard == [boss.tenant_id]


class TestQuotas:
    async def test_searches_are_reserved_and_capped(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        await owner.execute(
            "INSERT INTO usage_counters (tenant_id, period, searches)"
            " VALUES ($1::uuid, date_trunc('month', now())::date, 19)",
            boss.tenant_id,
        )
        assert (await client.post("/v1/jobs", json=SEARCH, headers=boss.headers)).status_code == 201
        over = await client.post("/v1/jobs", json=SEARCH, headers=boss.headers)
        assert over.status_code == 402
        assert over.json()["code"] == "quota_exceeded"
        assert over.json()["limit"] == 20
        usage = (await client.get("/v1/tenants/current/usage", headers=boss.headers)).json()
        assert usage["used"]["searches"] == 20

    async def test_cancelling_a_pending_job_gives_the_quota_back(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        job = (await client.post("/v1/jobs", json=SEARCH, headers=boss.headers)).json()
        before = (await client.get("/v1/tenants/current/usage", headers=boss.headers)).json()
        cancelled = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=boss.headers)
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "CANCELLED"
        assert cancelled.json()["completedAt"]
        after = (await client.get("/v1/tenants/current/usage", headers=boss.headers)).json()
        assert after["used"]["searches"] == before["used"]["searches"] - 1
        again = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=boss.headers)
        assert again.status_code == 409
        assert again.json()["code"] == "job_not_cancellable"

    async def test_messages_count_recipients(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        free = await client.post(
            "/v1/jobs",
            json={"type": "WHATSAPP_SEND", "input": {"phone": "+966501234567", "message": "x"}},
            headers=boss.headers,
        )
        assert free.status_code == 402  # FREE: no messages
        await on_plan(owner, boss, "STARTER")
        bulk = await client.post(
            "/v1/jobs",
            json={
                "type": "WHATSAPP_BULK",
                "input": {"phones": ["+966501234567", "+966501234568"], "message": "x"},
            },
            headers=boss.headers,
        )
        assert bulk.status_code == 201
        usage = (await client.get("/v1/tenants/current/usage", headers=boss.headers)).json()
        assert usage["used"]["messages"] == 2


class TestReading:
    async def test_filters_and_cursor_pagination(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        ids = [
            (await client.post("/v1/jobs", json=SEARCH, headers=boss.headers)).json()["id"]
            for _ in range(5)
        ]
        await client.post(f"/v1/jobs/{ids[0]}/cancel", headers=boss.headers)
        seen, cursor = [], None
        while True:
            params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/jobs", params=params, headers=boss.headers)).json()
            seen += [j["id"] for j in page["items"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        pending = await client.get("/v1/jobs", params={"status": "PENDING"}, headers=boss.headers)
        assert {j["id"] for j in pending.json()["items"]} == set(ids[1:])
        one = await client.get(f"/v1/jobs/{ids[1]}", headers=boss.headers)
        assert one.json()["id"] == ids[1]
        evidence = await client.get(f"/v1/jobs/{ids[1]}/evidence", headers=boss.headers)
        assert evidence.json() == {"items": [], "nextCursor": None}

    async def test_another_tenants_job_is_not_found(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        job = (await client.post("/v1/jobs", json=SEARCH, headers=boss.headers)).json()
        stranger = await signup(client)
        for method, path in (
            ("GET", f"/v1/jobs/{job['id']}"),
            ("POST", f"/v1/jobs/{job['id']}/cancel"),
            ("GET", f"/v1/jobs/{job['id']}/evidence"),
        ):
            response = await client.request(method, path, headers=stranger.headers)
            assert response.status_code == 404, (method, path)
        assert (await client.get("/v1/jobs", headers=stranger.headers)).json()["items"] == []

    async def test_sales_create_and_read_but_do_not_cancel(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        sales = await member(client, boss, "SALES")
        job = await client.post("/v1/jobs", json=SEARCH, headers=sales.headers)
        assert job.status_code == 201
        denied = await client.post(f"/v1/jobs/{job.json()['id']}/cancel", headers=sales.headers)
        assert denied.status_code == 403
        assert denied.json()["permission"] == "jobs:cancel"


class TestCancelRunning:
    async def test_a_running_job_is_flagged_for_its_agent_not_cancelled(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        job = (await client.post("/v1/jobs", json=SEARCH, headers=boss.headers)).json()
        await owner.execute(
            "UPDATE jobs SET status = 'RUNNING', started_at = now() WHERE id = $1::uuid",
            job["id"],
        )
        response = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=boss.headers)
        assert response.status_code == 200
        assert response.json()["status"] == "RUNNING"
        flagged = await owner.fetchval(
            "SELECT cancel_requested_at IS NOT NULL FROM jobs WHERE id = $1::uuid", job["id"]
        )
        assert flagged
        usage = (await client.get("/v1/tenants/current/usage", headers=boss.headers)).json()
        assert usage["used"]["searches"] == 1  # a job that ran keeps its quota
