"""Every row of the committed RBAC table (tests/auth/rbac.csv), run against the live app."""

from __future__ import annotations

import csv
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.files import service as files
from leedz.files.models import FilePurpose
from tests.factories.accounts import Account, member, on_plan, signup, unique_email

TABLE = Path(__file__).with_name("rbac.csv")
CALLERS = ("OWNER", "ADMIN", "MANAGER", "SALES", "anonymous", "other")


def rows() -> list[dict[str, str]]:
    lines = [line for line in TABLE.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


CASES = [
    pytest.param(row, caller, id=f"{row['method']} {row['path']} as {caller}")
    for row in rows()
    for caller in CALLERS
]


@dataclass
class World:
    by_role: dict[str, Account]
    target: Account
    invite_id: str
    job_id: str
    agent_id: str
    list_id: str
    lead_id: str
    trashed_id: str
    other: Account


async def build_world(client: httpx.AsyncClient, owner: asyncpg.Connection) -> World:
    boss = await signup(client, tenant_name="RBAC Co")
    # Five members do not fit the FREE plan: this tenant is on PRO.
    await on_plan(owner, boss, "PRO")
    by_role = {"OWNER": boss}
    for role in ("ADMIN", "MANAGER", "SALES"):
        by_role[role] = await member(client, boss, role)
    target = await member(client, boss, "SALES")
    invite = await client.post(
        "/v1/invites",
        json={"email": unique_email("pending"), "role": "SALES"},
        headers=boss.headers,
    )
    assert invite.status_code == 201
    job = await client.post(
        "/v1/jobs", json={"type": "SEARCH", "input": {"query": "rbac"}}, headers=boss.headers
    )
    assert job.status_code == 201
    agent = await client.post("/v1/agents", json={"name": "rbac"}, headers=boss.headers)
    assert agent.status_code == 201
    listed = await client.post(
        "/v1/lists", json={"name": "RBAC list", "kind": "STATIC"}, headers=boss.headers
    )
    assert listed.status_code == 201
    lead = await client.post("/v1/leads", json={"name": "RBAC"}, headers=boss.headers)
    assert lead.status_code == 201
    trashed = await client.post("/v1/leads", json={"name": "Trashed"}, headers=boss.headers)
    assert trashed.status_code == 201
    deleted = await client.delete(f"/v1/leads/{trashed.json()['id']}", headers=boss.headers)
    assert deleted.status_code == 204
    other = await signup(client, tenant_name="Elsewhere")
    return World(
        by_role,
        target,
        invite.json()["invite"]["id"],
        job.json()["id"],
        agent.json()["agent"]["id"],
        listed.json()["id"],
        lead.json()["id"],
        trashed.json()["id"],
        other,
    )


async def lead_ids(client: httpx.AsyncClient, boss: Account) -> dict[str, str]:
    """{lead} and {lead2}, two unassigned leads, and {merge}, a third merged into {lead}."""
    ids: dict[str, str] = {}
    for name in ("lead", "lead2", "merged"):
        created = await client.post("/v1/leads", json={"name": name}, headers=boss.headers)
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    merged = await client.post(
        f"/v1/leads/{ids['lead']}/merge", json={"leadIds": [ids["merged"]]}, headers=boss.headers
    )
    assert merged.status_code == 200, merged.text
    return ids | {"merge": merged.json()["mergeId"]}


UPLOAD = {"file": ("رباك.csv", "الاسم,الجوال\nمحمد,+966501234567\n".encode(), "text/csv")}


async def file_ids(client: httpx.AsyncClient, app: FastAPI, boss: Account) -> dict[str, str]:
    """{file}, an upload the OWNER made, and {export}, an export file the OWNER's job wrote."""
    uploaded = await client.post("/v1/files", files=UPLOAD, headers=boss.headers)
    assert uploaded.status_code == 201, uploaded.text
    source = Path(app.state.settings.data_dir) / "rbac-export.csv"
    source.write_bytes(b"name\nRBAC\n")
    async with app.state.db.transaction(
        tenant_id=uuid.UUID(boss.tenant_id), user_id=uuid.UUID(boss.user_id)
    ) as tx:
        export = await files.store_generated(
            tx, path=source, name="export.csv", purpose=FilePurpose.EXPORT, content_type="text/csv"
        )
    return {"file": uploaded.json()["id"], "export": str(export.id)}


@pytest.mark.parametrize(("row", "caller"), CASES)
async def test_rbac_table(
    client: httpx.AsyncClient,
    app: FastAPI,
    owner: asyncpg.Connection,
    row: dict[str, str],
    caller: str,
) -> None:
    world = await build_world(client, owner)
    leads = (
        await lead_ids(client, world.by_role["OWNER"])
        if "{lead" in row["path"] or "{merge" in row["path"]
        else {}
    )
    if "{file" in row["path"] or "{export" in row["path"]:
        leads |= await file_ids(client, app, world.by_role["OWNER"])
    ids = {"lead": world.lead_id, "trashed": world.trashed_id} | leads
    path = row["path"].format(
        target=world.target.user_id,
        invite=world.invite_id,
        job=world.job_id,
        agent=world.agent_id,
        list=world.list_id,
        **ids,
    )
    body = row["body"].replace("{new_email}", unique_email("new")) if row["body"] else None
    for name in ("lead", "lead2"):
        if body and name in ids:
            body = body.replace(f"{{{name}}}", ids[name])
    headers: dict[str, str] = {}
    if caller == "other":
        headers = world.other.headers
    elif caller != "anonymous":
        headers = world.by_role[caller].headers
    if body == "multipart":  # the upload: multipart/form-data, never JSON
        response = await client.request(row["method"], path, headers=headers, files=UPLOAD)
    else:
        response = await client.request(
            row["method"],
            path,
            headers=headers,
            json=json.loads(body) if body else None,
        )
    assert response.status_code == int(row[caller]), response.text
    if response.status_code == 403:
        assert response.json()["code"] == "forbidden"
        assert response.json()["permission"]
