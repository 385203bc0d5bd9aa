"""Accounts through the public API: sign-up, sign-in, members of a tenant with a given role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    email: str
    password: str
    tokens: dict[str, Any]

    @property
    def access(self) -> str:
        return str(self.tokens["accessToken"])

    @property
    def refresh(self) -> str:
        return str(self.tokens["refreshToken"])

    @property
    def user_id(self) -> str:
        return str(self.tokens["user"]["id"])

    @property
    def tenant_id(self) -> str:
        return str(self.tokens["tenant"]["id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access}"}


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


async def signup(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    tenant_name: str | None = "Acme",
    invite_token: str | None = None,
) -> Account:
    email = email or unique_email()
    body: dict[str, Any] = {"email": email, "password": password, "name": email.split("@")[0]}
    if tenant_name is not None:
        body["tenantName"] = tenant_name
    if invite_token is not None:
        body["inviteToken"] = invite_token
    response = await client.post("/v1/auth/signup", json=body)
    assert response.status_code == 201, response.text
    return Account(email=email, password=password, tokens=response.json())


async def login(client: httpx.AsyncClient, account: Account) -> Account:
    response = await client.post(
        "/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200, response.text
    return Account(email=account.email, password=account.password, tokens=response.json())


async def member(client: httpx.AsyncClient, owner: Account, role: str) -> Account:
    """A new user who joined `owner`'s tenant with `role`, through a real invite."""
    email = unique_email(role.lower())
    invite = await client.post(
        "/v1/invites", json={"email": email, "role": role}, headers=owner.headers
    )
    assert invite.status_code == 201, invite.text
    token = invite.json()["acceptUrl"].rsplit("/", 1)[1]
    return await signup(client, email=email, tenant_name=None, invite_token=token)


async def on_plan(owner: asyncpg.Connection, account: Account, plan: str) -> None:
    """Move `account`'s tenant to `plan` (FREE's quotas stop tests that create many things)."""
    await owner.execute(
        "UPDATE tenants SET plan_id = (SELECT id FROM plans WHERE name = $2) WHERE id = $1::uuid",
        account.tenant_id,
        plan,
    )
