"""Fuzzing the live server from its own OpenAPI document (schemathesis), with two tenants.

The issue's bar: 0 server errors, 0 responses that break their schema, 0 cross-tenant 2xx, in CI,
with a bounded number of examples (deterministic: `derandomize`, no example database).

Two passes over `leedz serve` (a real process, rate limits raised so the fuzzer is not only
answered 429):

1. Every operation, as tenant A's owner (or A's agent under /v1/agent/), with schema-valid and
   schema-invalid inputs; path parameters are random UUIDs or A's real ids (so the found branches
   run too). Checks: `not_a_server_error`, `response_schema_conformance`,
   `content_type_conformance`, plus the documented error contract: every 4xx/5xx is
   `application/problem+json` with `{type, title, status, detail, code, requestId}`.
   `status_code_conformance` is not run: the document declares only the success codes and 422,
   while 401/403/404/409/429 are part of the contract (API.md) and are checked by the
   problem+json rule instead.
2. Every operation with a path parameter, as tenant A, with tenant B's real ids in the path:
   nothing may answer 2xx, and B's objects are unchanged afterwards.

No operation is excluded (/metrics included). The deletes of A's agent, member, invite, list and
lead run last (`LAST`), so the operations that need them run first. logout
and password cannot end A's session (the fuzzer knows neither A's refresh token nor A's
password), nor can a password reset (the fuzzer never sees a mailed token); the test asserts that
A is still signed in at the end, so the run was not silently answered 401.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case as AnyCase
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.factories.accounts import Account, member, signup, unique_email
from tests.factories.agents import AgentHandle, create_job, register_agent
from tests.support import databases
from tests.support.live import running_server

pytestmark = pytest.mark.e2e

# Bounded for CI: examples per operation and generation mode.
POSITIVE_EXAMPLES = 30
NEGATIVE_EXAMPLES = 15
CROSS_TENANT_EXAMPLES = 5

# Every rate limit of config.py, high enough that the fuzzer meets the endpoints, not 429s.
GENEROUS = "100000/minute"

# Run after every other operation: they may revoke what the others need (A's agent token, the
# real member / invite ids). Everything else runs in document order.
LAST = (
    "POST /v1/lead-merges/{merge_id}/undo",
    "DELETE /v1/invites/{invite_id}",
    "DELETE /v1/members/{user_id}",
    "DELETE /v1/agents/{agent_id}",
    "DELETE /v1/lists/{list_id}",
    "DELETE /v1/leads/{lead_id}",
)

Operation = APIOperation[Any, Any, Any, Any]
Case = AnyCase[Any]

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "requestId"}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@dataclass
class Tenant:
    owner: Account
    member: Account
    agent: AgentHandle
    job_id: str
    invite_id: str
    lead_id: str
    list_id: str
    merge_id: str
    file_id: str

    def ids_for(self, parameter: str) -> str:
        return {
            "user_id": self.member.user_id,
            "invite_id": self.invite_id,
            "job_id": self.job_id,
            "agent_id": self.agent.id,
            "list_id": self.list_id,
            "merge_id": self.merge_id,
            "lead_id": self.lead_id,
            "file_id": self.file_id,
        }[parameter]

    def headers_for(self, operation: Operation) -> dict[str, str]:
        is_agent_side = operation.path.startswith("/v1/agent/")
        return self.agent.headers if is_agent_side else self.owner.headers


@dataclass
class World:
    base: str
    a: Tenant
    b: Tenant


async def _tenant(client: httpx.AsyncClient, conn: asyncpg.Connection, name: str) -> Tenant:
    owner = await signup(client, tenant_name=name)
    # Quotas of the FREE plan would turn most job creations into 402 quota_exceeded.
    await conn.execute(
        "UPDATE tenants SET plan_id = (SELECT id FROM plans WHERE name = 'ENTERPRISE')"
        " WHERE id = $1::uuid",
        owner.tenant_id,
    )
    sales = await member(client, owner, "SALES")
    agent = await register_agent(client, owner)
    job = await create_job(client, owner)
    invite = await client.post(
        "/v1/invites",
        json={"email": unique_email("pending"), "role": "SALES"},
        headers=owner.headers,
    )
    assert invite.status_code == 201, invite.text
    lead = await client.post(
        "/v1/leads",
        json={"name": f"{name} lead", "phones": ["0501234567"], "emails": ["info@alamal.com.sa"]},
        headers=owner.headers,
    )
    assert lead.status_code == 201, lead.text
    # A STATIC list with that lead on it (the list routes' real ids).
    listed = await client.post(
        "/v1/lists", json={"name": f"{name} list", "kind": "STATIC"}, headers=owner.headers
    )
    assert listed.status_code == 201, listed.text
    added = await client.post(
        f"/v1/lists/{listed.json()['id']}/leads",
        json={"leadIds": [lead.json()["id"]]},
        headers=owner.headers,
    )
    assert added.status_code == 200, added.text
    # A second lead folded into the first: the undo route's real id.
    folded = await client.post("/v1/leads", json={"name": f"{name} branch"}, headers=owner.headers)
    assert folded.status_code == 201, folded.text
    merged = await client.post(
        f"/v1/leads/{lead.json()['id']}/merge",
        json={"leadIds": [folded.json()["id"]]},
        headers=owner.headers,
    )
    assert merged.status_code == 200, merged.text
    # An upload: the file routes' real id.
    uploaded = await client.post(
        "/v1/files",
        files={"file": ("leads.csv", "الاسم,الجوال\nمطعم,0501234567\n".encode(), "text/csv")},
        data={"purpose": "import"},
        headers=owner.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    return Tenant(
        owner,
        sales,
        agent,
        str(job["id"]),
        str(invite.json()["invite"]["id"]),
        str(lead.json()["id"]),
        str(listed.json()["id"]),
        str(merged.json()["mergeId"]),
        str(uploaded.json()["id"]),
    )


async def _build_world(base: str, database_url: str) -> World:
    conn = await asyncpg.connect(databases.asyncpg_dsn(database_url))
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            a = await _tenant(client, conn, "Tenant A")
            b = await _tenant(client, conn, "Tenant B")
    finally:
        await conn.close()
    return World(base, a, b)


async def _truncate(database_url: str) -> None:
    conn = await asyncpg.connect(databases.asyncpg_dsn(database_url))
    try:
        await databases.empty_tenant_data(conn, database_url)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    with running_server(
        database_url,
        data_dir,
        LEEDZ_RATE_LIMIT_SIGNUP=GENEROUS,
        LEEDZ_RATE_LIMIT_LOGIN_IP=GENEROUS,
        LEEDZ_RATE_LIMIT_LOGIN_EMAIL=GENEROUS,
        LEEDZ_RATE_LIMIT_REFRESH=GENEROUS,
        LEEDZ_RATE_LIMIT_INVITE_LOOKUP=GENEROUS,
        LEEDZ_RATE_LIMIT_RESET_IP=GENEROUS,
        LEEDZ_RATE_LIMIT_RESET_EMAIL=GENEROUS,
        LEEDZ_RATE_LIMIT_VERIFY_RESEND=GENEROUS,
        LEEDZ_RATE_LIMIT_ACCOUNT_LINK=GENEROUS,
        LEEDZ_RATE_LIMIT_SOCKET_CONNECT=GENEROUS,
    ) as base:
        yield base
    asyncio.run(_truncate(database_url))


@pytest.fixture(scope="module")
def schema(live: str) -> Any:
    return schemathesis.openapi.from_url(f"{live}/openapi.json")


def _operations(schema: Any) -> list[Operation]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda op: _label(op) in LAST)


def _label(operation: Operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


@dataclass
class Report:
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)

    def fail(self, case: Case, kind: str, message: str) -> None:
        key = f"{_label(case.operation)}: {kind}"
        # One reproduction per operation and kind keeps the report readable.
        self.failures.setdefault(key, f"{message.strip()}\n  {case.as_curl_command()}")

    def summary(self) -> str:
        return (
            f"{len(self.cases)} operations, {sum(self.cases.values())} cases, statuses "
            f"{dict(sorted(self.statuses.items()))}, {len(self.failures)} failures"
        )

    def failure_list(self) -> str:
        return "\n\n".join(f"- {key}\n  {text}" for key, text in sorted(self.failures.items()))


def _problem_errors(response: Any) -> str | None:
    """The documented error contract (errors.py): every 4xx/5xx is a problem+json document."""
    content_type = response.headers.get("content-type", [""])[0]
    if not content_type.startswith("application/problem+json"):
        return f"status {response.status_code} with content-type {content_type!r}"
    try:
        body = response.json()
    except ValueError:
        return "problem+json that is not JSON"
    if not isinstance(body, dict) or not body.keys() >= PROBLEM_FIELDS:
        return f"problem without {sorted(PROBLEM_FIELDS - set(body or {}))}: {body!r}"
    if body["status"] != response.status_code or not isinstance(body["code"], str):
        return f"problem status/code do not match the answer: {body!r}"
    return None


def _exercise(
    base: str,
    world_tenant: Tenant,
    session: requests.Session,
    report: Report,
    strategy: st.SearchStrategy[Case],
    max_examples: int,
    expect: Callable[[Case, Any], None] | None = None,
) -> None:
    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        report.cases[_label(case.operation)] += 1
        try:
            response = case.call(
                base_url=base,
                session=session,
                headers=world_tenant.headers_for(case.operation),
                timeout=30,
            )
        except requests.RequestException as exc:
            report.fail(case, "transport", repr(exc))
            return
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                report.fail(case, type(failure).__name__, f"{failure.title}: {failure.message}")
        if response.status_code >= 400 and (problem := _problem_errors(response)):
            report.fail(case, "problem+json", problem)
        if expect is not None:
            expect(case, response)

    run()


def test_every_operation_as_tenant_a(live: str, schema: Any, database_url: str) -> None:
    world = asyncio.run(_build_world(live, database_url))
    report = Report()
    started = time.monotonic()
    with requests.Session() as session:
        for operation in _operations(schema):
            real = {p.name: world.a.ids_for(p.name) for p in operation.path_parameters}
            positive = operation.as_strategy(GenerationMode.POSITIVE)
            if real:
                positive = st.one_of(
                    positive, operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real)
                )
            _exercise(live, world.a, session, report, positive, POSITIVE_EXAMPLES)
            if operation.path_parameters or operation.query or operation.body:
                # Invalid inputs exist only where there are inputs.
                negative = operation.as_strategy(GenerationMode.NEGATIVE)
                _exercise(live, world.a, session, report, negative, NEGATIVE_EXAMPLES)
    print(f"fuzz: {report.summary()} in {time.monotonic() - started:.1f}s")  # noqa: T201 - shown with -s
    # The run was signed in throughout: nothing it sent ended tenant A's session.
    me = httpx.get(f"{live}/v1/auth/me", headers=world.a.owner.headers)
    assert me.status_code == 200, me.text
    every = {_label(op) for op in _operations(schema)}
    assert set(report.cases) == every, f"not exercised: {sorted(every - set(report.cases))}"
    assert not report.failures, f"{report.summary()}:\n{report.failure_list()}"


def test_tenant_b_ids_are_not_found_for_tenant_a(live: str, schema: Any, database_url: str) -> None:
    world = asyncio.run(_build_world(live, database_url))
    report = Report()
    crossing: list[str] = []

    def not_2xx(case: Case, response: Any) -> None:
        if 200 <= response.status_code < 300:
            crossing.append(
                f"{_label(case.operation)} {case.path_parameters} -> {response.status_code}"
                f"\n  {case.as_curl_command()}"
            )

    with requests.Session() as session:
        operations = [op for op in _operations(schema) if op.path_parameters]
        assert operations
        for operation in operations:
            theirs = {p.name: world.b.ids_for(p.name) for p in operation.path_parameters}
            strategy = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=theirs)
            _exercise(
                live, world.a, session, report, strategy, CROSS_TENANT_EXAMPLES, expect=not_2xx
            )
        # Tenant-scoped ids in bodies: switching into B's tenant is refused too.
        switch = session.post(
            f"{live}/v1/auth/switch-tenant",
            json={"tenantId": world.b.owner.tenant_id},
            headers=world.a.owner.headers,
        )
        if switch.status_code < 300:
            crossing.append(f"POST /v1/auth/switch-tenant into B -> {switch.status_code}")

    print(f"cross-tenant: {report.summary()}")  # noqa: T201 - shown with -s
    assert not crossing, "tenant A reached tenant B:\n" + "\n".join(crossing)
    assert not report.failures, f"{report.summary()}:\n{report.failure_list()}"
    _assert_b_untouched(live, world.b)


def _assert_b_untouched(base: str, b: Tenant) -> None:
    headers = b.owner.headers
    job = httpx.get(f"{base}/v1/jobs/{b.job_id}", headers=headers)
    assert job.status_code == 200
    assert job.json()["status"] == "PENDING", job.json()
    agents = httpx.get(f"{base}/v1/agents", headers=headers).json()["items"]
    assert [a["id"] for a in agents] == [b.agent.id]
    invites = httpx.get(f"{base}/v1/invites", headers=headers).json()["items"]
    assert [i["id"] for i in invites] == [b.invite_id]
    members = httpx.get(f"{base}/v1/members", headers=headers).json()["items"]
    roles = {m["user"]["id"]: m["role"] for m in members}
    assert roles == {b.owner.user_id: "OWNER", b.member.user_id: "SALES"}, roles
    lead = httpx.get(f"{base}/v1/leads/{b.lead_id}", headers=headers).json()
    # Version 2: the setup merged a second lead into it.
    assert (lead["version"], lead["deletedAt"]) == (2, None), lead
    listed = httpx.get(f"{base}/v1/lists/{b.list_id}", headers=headers)
    assert listed.status_code == 200
    assert (listed.json()["name"], listed.json()["leadCount"]) == ("Tenant B list", 1)
