"""Key lookups reach an index as the request role: under forced RLS only leakproof conditions
may drive an index scan, and `kind` (an enum: enum_eq is not leakproof) cannot."""

from __future__ import annotations

import uuid

import asyncpg

from tests.kit.test_tenant_isolation import as_app_role

OWNERS_SQL = (
    "EXPLAIN (COSTS OFF) SELECT k.lead_id FROM lead_keys k WHERE k.tenant_id = $1"
    " AND (k.kind::text, k.value) IN (SELECT * FROM unnest($2::text[], $3::text[]))"
    " AND k.value = ANY($3::text[])"
)


async def test_a_key_lookup_is_an_index_scan_for_the_request_role(
    owner: asyncpg.Connection,
) -> None:
    tenant = uuid.uuid4()
    await owner.execute(
        "INSERT INTO tenants (id, name, slug, plan_id)"
        " VALUES ($1, 'Keys', $2, (SELECT id FROM plans WHERE name = 'FREE'))",
        tenant,
        f"keys-{tenant.hex[:8]}",
    )
    await owner.execute(
        "INSERT INTO leads (id, tenant_id, name, source_type)"
        " SELECT md5(i::text)::uuid, $1, 'Lead ' || i, 'MANUAL' FROM generate_series(1, 3000) i",
        tenant,
    )
    await owner.execute(
        "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
        " SELECT $1, 'PHONE', '+9665' || lpad(i::text, 8, '0'), md5(i::text)::uuid"
        " FROM generate_series(1, 3000) i",
        tenant,
    )
    await owner.execute("ANALYZE lead_keys")
    async with as_app_role(owner, tenant) as conn:
        plan = "\n".join(
            r[0] for r in await conn.fetch(OWNERS_SQL, tenant, ["PHONE"], ["+966500000042"])
        )
    assert "ix_lead_keys_tenant_id_value" in plan, plan
