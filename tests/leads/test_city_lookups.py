"""Name-and-city lookups reach `(tenant_id, name_key, city_key)` as the request role.

A new lead's look-alikes (`Leads.create`) and rule 5's candidates (`Candidates.lock`) look up
the leads of one name key in one city. Under forced row-level security only leakproof
conditions may drive an index scan: `lower(city) = …` could not, so each lookup read every lead
of the name, of every city. `city_key = …` (texteq) can (migration 20261202_0900). The
statements checked are the application's own, recorded as it sends them and then EXPLAINed
(no ANALYZE: nothing runs) by the request role in the tenant's context.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from leedz.access.roles import Role
from leedz.audit.repository import AuditEntry
from leedz.leads.models import ActivityType, LeadKeyKind
from leedz.leads.record import Key
from leedz.leads.repository import ActivityEntry, Leads
from leedz.resolution.repository import Candidates, NameProbe
from tests.kit.test_tenant_isolation import as_app_role

NAMES = 400
CITIES = 40
PER_NAME = 80
NAME_KEY = "bakery 7"


@dataclass
class _Recorder:
    """Stands for a transaction's connection: keeps each statement and its arguments."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.calls.append((sql, args))
        return []

    async def fetchrow(self, sql: str, *args: Any) -> None:
        self.calls.append((sql, args))


@dataclass
class _Tx:
    raw: _Recorder
    tenant_id: uuid.UUID
    role: Role = Role.OWNER


async def _tenant_of_many_names(owner: asyncpg.Connection, cities: int = CITIES) -> uuid.UUID:
    """A tenant of NAMES names in `cities` cities (and some leads of no city): each name key
    meets PER_NAME leads, the city narrows them to a few."""
    tenant = uuid.uuid4()
    await owner.execute(
        "INSERT INTO tenants (id, name, slug, plan_id)"
        " VALUES ($1, 'Cities', $2, (SELECT id FROM plans WHERE name = 'FREE'))",
        tenant,
        f"cities-{tenant.hex[:8]}",
    )
    await owner.execute(
        "INSERT INTO leads (tenant_id, name, name_key, city, source_type)"
        " SELECT $1, 'Bakery ' || (i % $2::int), 'bakery ' || (i % $2::int),"
        " CASE WHEN i % 50 = 0 THEN NULL ELSE ' City ' || (i / $2::int % $3::int) || ' ' END,"
        " 'MANUAL'"
        " FROM generate_series(1, $2::int * $4::int) i",
        tenant,
        NAMES,
        cities,
        PER_NAME,
    )
    await owner.execute("ANALYZE leads")
    return tenant


async def _plan(owner: asyncpg.Connection, tenant: uuid.UUID, sql: str, args: Any) -> str:
    async with as_app_role(owner, tenant) as conn:
        rows = await conn.fetch("EXPLAIN (COSTS OFF) " + sql, *args)
    return "\n".join(r[0] for r in rows)


def _city_in_index_condition(plan: str) -> bool:
    """Whether an index condition of the plan compares `city_key` (a Bitmap Heap Scan shows
    its BitmapOr's conditions as `Recheck Cond`), rather than a filter."""
    return any(
        "city_key =" in line and ("Index Cond" in line or "Recheck Cond" in line)
        for line in plan.splitlines()
    )


async def test_the_generated_city_key_is_the_city_trimmed_and_lower_cased(
    owner: asyncpg.Connection,
) -> None:
    tenant = await _tenant_of_many_names(owner)
    rows = await owner.fetch(
        "SELECT city, city_key FROM leads WHERE tenant_id = $1 ORDER BY city NULLS FIRST", tenant
    )
    assert {r["city_key"] for r in rows if r["city"] is None} == {None}
    assert all(r["city_key"] == r["city"].strip().lower() for r in rows if r["city"])


async def test_a_new_leads_look_alikes_are_an_index_lookup_of_its_name_and_city(
    owner: asyncpg.Connection,
) -> None:
    tenant = await _tenant_of_many_names(owner)
    recorder = _Recorder()
    leads = Leads(_Tx(recorder, tenant))  # type: ignore[arg-type]
    columns = {
        "name": "Bakery 7",
        "name_key": NAME_KEY,
        "city": "city 7",
        "source_type": "MANUAL",
    }
    with contextlib.suppress(LookupError):  # the recorder answers no row
        await leads.create(
            columns,
            [Key(LeadKeyKind.PHONE, "+966501234567")],
            activity=ActivityEntry(ActivityType.CREATED, actor_user_id=None),
            audit=AuditEntry(None, "lead.created", "create", "lead", None, None, None, None),
        )
    ((sql, args),) = recorder.calls
    plan = await _plan(owner, tenant, sql, args)
    look_alikes = plan[plan.index("SubPlan") :]  # after the CTEs: the look-alikes' query
    assert _city_in_index_condition(look_alikes), plan
    assert "lower((city)" not in plan, plan


async def test_rule_five_candidates_are_an_index_lookup_of_name_and_city(
    owner: asyncpg.Connection,
) -> None:
    tenant = await _tenant_of_many_names(owner)
    recorder = _Recorder()
    await Candidates(_Tx(recorder, tenant)).lock(  # type: ignore[arg-type]
        keys=[],
        domains=[],
        names=[NameProbe(NAME_KEY, "city 7", True)],
    )
    ((sql, args),) = recorder.calls
    plan = await _plan(owner, tenant, sql, args)
    assert _city_in_index_condition(plan), plan
    assert "lower(btrim" not in plan, plan


async def test_rule_five_for_a_record_with_phones_reads_the_phoneless_index_only(
    owner: asyncpg.Connection,
) -> None:
    """A record with phones: the name lookup goes to the partial index of phoneless leads
    (migration 20261202_1930), never to every lead of the name and city; a lead sharing a
    phone is a key owner, found by the key lookup.

    Four cities, so that a name and a city meet ~20 leads: with 40 they met ~2, and the
    partial index (as large as the whole one here, where no lead has a phone) won by one heap
    fetch's cost, 1.4 % of the plan, which another statistics sample could turn over."""
    tenant = await _tenant_of_many_names(owner, cities=4)
    # Keys to look up among: with an empty (or unanalyzed) lead_keys the planner rightly
    # scans it, and the plan would say nothing about the index.
    await owner.execute(
        "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
        " SELECT tenant_id, 'EMAIL', 'info@bakery' || row_number() OVER () || '.sa', id"
        " FROM leads WHERE tenant_id = $1",
        tenant,
    )
    await owner.execute("ANALYZE lead_keys")
    recorder = _Recorder()
    await Candidates(_Tx(recorder, tenant)).lock(  # type: ignore[arg-type]
        keys=[Key(LeadKeyKind.PHONE, "+966501234567")],
        domains=[],
        names=[NameProbe(NAME_KEY, "city 3", False)],
    )
    ((sql, args),) = recorder.calls
    plan = await _plan(owner, tenant, sql, args)
    assert "ix_leads_tenant_id_name_key_city_key_created_at_id" in plan, plan
    assert "ix_lead_keys_tenant_id_value" in plan, plan
