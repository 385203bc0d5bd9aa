"""Agents and jobs through the public API, and the agent side's calls (the REST twin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.factories.accounts import Account

SEARCH_INPUT = {"query": "مطاعم في الرياض", "location": "Riyadh", "maxResults": 5}


@dataclass
class AgentHandle:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def register_agent(client: httpx.AsyncClient, account: Account, **body: Any) -> AgentHandle:
    response = await client.post(
        "/v1/agents", json={"name": "Chrome", **body}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return AgentHandle(id=response.json()["agent"]["id"], token=response.json()["token"])


async def create_job(
    client: httpx.AsyncClient,
    account: Account,
    job_type: str = "SEARCH",
    job_input: dict[str, Any] | None = None,
    priority: int = 0,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/jobs",
        json={"type": job_type, "input": job_input or SEARCH_INPUT, "priority": priority},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def claim(
    client: httpx.AsyncClient, agent: AgentHandle, types: list[str] | None = None
) -> dict[str, Any] | None:
    """The claimed `{job, leaseId, leaseExpiresAt}`, or None (204)."""
    response = await client.post(
        "/v1/agent/jobs/claim",
        json={} if types is None else {"types": types},
        headers=agent.headers,
    )
    if response.status_code == 204:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
