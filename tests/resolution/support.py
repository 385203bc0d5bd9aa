"""Driving resolution the way agents do: a tenant, an agent, SEARCH jobs held under a lease,
evidence uploads through the REST twin; reading leads and their provenance back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.factories.accounts import Account, on_plan, signup
from tests.factories.agents import AgentHandle, claim, create_job, register_agent

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """A `collectedAt`: `seconds` after a fixed start."""
    return (T0 + timedelta(seconds=seconds)).isoformat()


def item(
    raw: dict[str, Any] | None,
    *,
    kind: str = "GOOGLE_MAPS_LISTING",
    confidence: str = "HIGH",
    title: str = "a listing",
    collected: float = 0,
    **extra: Any,
) -> dict[str, Any]:
    """One evidence item as an agent uploads it."""
    body: dict[str, Any] = {
        "type": kind,
        "title": title,
        "source": "test",
        "snippet": "",
        "confidence": confidence,
        "rawData": raw,
        "collectedAt": at(collected),
    }
    return body | extra


@dataclass
class Held:
    """A SEARCH job an agent holds under a lease."""

    agent: AgentHandle
    job_id: str
    lease: str


@dataclass
class Workspace:
    client: httpx.AsyncClient
    account: Account
    agent: AgentHandle
    held: list[Held] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return self.account.headers

    async def job(self, job_input: dict[str, Any] | None = None, job_type: str = "SEARCH") -> Held:
        """A new job of this workspace, claimed by its agent."""
        created = await create_job(
            self.client, self.account, job_type, job_input or {"query": "q", "maxResults": 20}
        )
        claimed = await claim(self.client, self.agent, [job_type])
        assert claimed is not None
        assert claimed["job"]["id"] == created["id"]
        held = Held(agent=self.agent, job_id=created["id"], lease=claimed["leaseId"])
        self.held.append(held)
        return held

    async def upload(self, held: Held, items: list[dict[str, Any]]) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/agent/jobs/{held.job_id}/evidence",
            json={"leaseId": held.lease, "items": items},
            headers=held.agent.headers,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def lead(self, lead_id: str) -> dict[str, Any] | None:
        """The lead, or None when it is gone (merged into another)."""
        response = await self.client.get(f"/v1/leads/{lead_id}", headers=self.headers)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def evidence(self, lead_id: str) -> list[dict[str, Any]]:
        """Every evidence item linked to the lead (all pages)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
            response = await self.client.get(
                f"/v1/leads/{lead_id}/evidence", params=params, headers=self.headers
            )
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            cursor = page["nextCursor"]
            if cursor is None:
                return items

    async def activities(self, lead_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/leads/{lead_id}/activities", params={"limit": 100}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


async def workspace(
    client: httpx.AsyncClient,
    owner: asyncpg.Connection,
    *,
    plan: str | None = "ENTERPRISE",
    concurrency: int = 10,
) -> Workspace:
    """A tenant (default country SA) on `plan`, with an agent that runs SEARCH and SURVEY jobs."""
    account = await signup(client)
    if plan is not None:
        await on_plan(owner, account, plan)
    agent = await register_agent(
        client, account, capabilities=["SEARCH", "SURVEY"], maxConcurrency=concurrency
    )
    return Workspace(client=client, account=account, agent=agent)


def actions(answer: dict[str, Any]) -> list[str]:
    return [entry["action"] for entry in answer["leads"]]


def lead_ids(answer: dict[str, Any]) -> list[str]:
    """The lead of each item ('' for none)."""
    return [entry["leadId"] or "" for entry in answer["leads"]]


async def live_leads(owner: asyncpg.Connection, account: Account) -> int:
    count: int = await owner.fetchval(
        "SELECT count(*) FROM leads WHERE tenant_id = $1::uuid AND merged_into_id IS NULL"
        " AND deleted_at IS NULL",
        account.tenant_id,
    )
    return count
