"""Evidence upload through the agent's REST twin: limits, sanitizing, idempotency, the lease."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.evidence.test_store_batch import evidence, raw_data_of_size
from tests.factories.accounts import Account, signup
from tests.factories.agents import AgentHandle, claim, create_job, register_agent


@pytest.fixture
async def boss(client: httpx.AsyncClient) -> Account:
    return await signup(client)


@pytest.fixture
async def held(client: httpx.AsyncClient, boss: Account) -> tuple[AgentHandle, str, str]:
    agent = await register_agent(client, boss)
    job = await create_job(client, boss)
    claimed = await claim(client, agent)
    assert claimed is not None
    return agent, job["id"], claimed["leaseId"]


async def upload(
    client: httpx.AsyncClient, agent: AgentHandle, job_id: str, lease: str, items: list[Any]
) -> httpx.Response:
    return await client.post(
        f"/v1/agent/jobs/{job_id}/evidence",
        json={"leaseId": lease, "items": items},
        headers=agent.headers,
    )


async def stored(owner: asyncpg.Connection, job_id: str) -> int:
    count: int = await owner.fetchval(
        "SELECT count(*) FROM evidence WHERE job_id = $1::uuid", job_id
    )
    return count


class TestUpload:
    async def test_stored_sanitized_listed_and_idempotent(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        held: tuple[AgentHandle, str, str],
        owner: asyncpg.Connection,
    ) -> None:
        agent, job_id, lease = held
        items = [
            evidence(snippet='<p onclick="x()">hi<script>alert(1)</script></p>'),
            evidence(
                title="second", url="https://example.com/b", snippet="<a href='javascript:x'>b</a>"
            ),
        ]
        first = await upload(client, agent, job_id, lease, items)
        assert first.status_code == 200, first.text
        assert len(first.json()["stored"]) == 2
        assert first.json()["duplicates"] == []
        again = await upload(client, agent, job_id, lease, items)
        assert again.json()["stored"] == []
        assert len(again.json()["duplicates"]) == 2
        assert await stored(owner, job_id) == 2
        listed = (await client.get(f"/v1/jobs/{job_id}/evidence", headers=boss.headers)).json()
        snippets = " ".join(item["snippet"] for item in listed["items"])
        assert "<script" not in snippets
        assert "onclick" not in snippets
        assert "javascript:" not in snippets.lower()

    async def test_limits_at_the_exact_byte(
        self,
        client: httpx.AsyncClient,
        held: tuple[AgentHandle, str, str],
        owner: asyncpg.Connection,
    ) -> None:
        agent, job_id, lease = held
        exact = await upload(client, agent, job_id, lease, [evidence(snippet="x" * 10_240)])
        assert exact.status_code == 200, exact.text
        over = await upload(
            client, agent, job_id, lease, [evidence(title="a"), evidence(snippet="y" * 10_241)]
        )
        assert over.status_code == 413
        assert over.json()["code"] == "payload_too_large"
        assert over.json()["item"] == 1
        assert over.json()["field"] == "snippet"
        raw_exact = await upload(
            client, agent, job_id, lease, [evidence(title="r", rawData=raw_data_of_size(51_200))]
        )
        assert raw_exact.status_code == 200, raw_exact.text
        raw_over = await upload(
            client, agent, job_id, lease, [evidence(title="s", rawData=raw_data_of_size(51_201))]
        )
        assert raw_over.status_code == 413
        assert raw_over.json()["field"] == "rawData"
        assert await stored(owner, job_id) == 2

    async def test_a_stale_lease_stores_nothing(
        self,
        client: httpx.AsyncClient,
        held: tuple[AgentHandle, str, str],
        owner: asyncpg.Connection,
    ) -> None:
        agent, job_id, _ = held
        response = await upload(client, agent, job_id, str(uuid.uuid4()), [evidence()])
        assert response.status_code == 409
        assert response.json()["code"] == "lease_stale"
        assert await stored(owner, job_id) == 0

    @pytest.mark.parametrize(
        "body",
        [
            b"{not json",
            b'{"leaseId": "x", "items": []}',
            b'{"items": [{}]}',
            b"[]",
        ],
    )
    async def test_malformed_bodies_are_422(
        self, client: httpx.AsyncClient, held: tuple[AgentHandle, str, str], body: bytes
    ) -> None:
        agent, job_id, _ = held
        response = await client.post(
            f"/v1/agent/jobs/{job_id}/evidence",
            content=body,
            headers={**agent.headers, "content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
