"""Raw rows for every tenant-owned table, written as the owner (RLS is not in the way)."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg


@dataclass
class TenantRows:
    """A tenant with one row in each tenant-owned table; `ids` maps table -> row id."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    ids: dict[str, uuid.UUID] = field(default_factory=dict)


def _token_hash() -> bytes:
    return hashlib.sha256(os.urandom(32)).digest()


async def create_tenant_with_rows(conn: asyncpg.Connection, label: str) -> TenantRows:
    tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
    rows = TenantRows(tenant_id=tenant_id, user_id=user_id)
    plan_id = await conn.fetchval("SELECT id FROM plans WHERE name = 'FREE'")
    await conn.execute(
        "INSERT INTO tenants (id, name, slug, plan_id) VALUES ($1, $2, $3, $4)",
        tenant_id,
        f"Tenant {label}",
        f"tenant-{label}-{tenant_id.hex[:8]}",
        plan_id,
    )
    await conn.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', $3)",
        user_id,
        f"{label}-{user_id.hex[:8]}@example.com",
        f"User {label}",
    )

    async def insert(table: str, sql: str, *args: object) -> None:
        rows.ids[table] = await conn.fetchval(sql, *args)

    await insert(
        "memberships",
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'OWNER') RETURNING id",
        tenant_id,
        user_id,
    )
    await insert(
        "invites",
        "INSERT INTO invites (tenant_id, email, role, token_hash, expires_at, inviter_id)"
        " VALUES ($1, $2, 'SALES', $3, now() + interval '7 days', $4) RETURNING id",
        tenant_id,
        f"invitee-{label}@example.com",
        _token_hash(),
        user_id,
    )
    await insert(
        "refresh_tokens",
        "INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at)"
        " VALUES ($1, $2, gen_random_uuid(), $3, now() + interval '30 days') RETURNING id",
        tenant_id,
        user_id,
        _token_hash(),
    )
    await insert(
        "agents",
        "INSERT INTO agents (tenant_id, user_id, name, capabilities, token_hash, token_prefix)"
        " VALUES ($1, $2, 'agent', '{SEARCH}', $3, 'lza_test') RETURNING id",
        tenant_id,
        user_id,
        _token_hash(),
    )
    await insert(
        "jobs",
        "INSERT INTO jobs (tenant_id, type, input, created_by_id)"
        ' VALUES ($1, \'SEARCH\', \'{"query": "q", "maxResults": 5}\', $2) RETURNING id',
        tenant_id,
        user_id,
    )
    await insert(
        "evidence",
        "INSERT INTO evidence (tenant_id, job_id, type, title, source, snippet, confidence,"
        " hash, size_bytes, collected_at)"
        " VALUES ($1, $2, 'SEARCH_RESULT', 't', 'test', 's', 'HIGH', $3, 1, now()) RETURNING id",
        tenant_id,
        rows.ids["jobs"],
        uuid.uuid4().hex * 2,
    )
    await insert(
        "audit_logs",
        "INSERT INTO audit_logs (tenant_id, user_id, event_type, action)"
        " VALUES ($1, $2, 'test.event', 'create') RETURNING id",
        tenant_id,
        user_id,
    )
    await insert(
        "leads",
        "INSERT INTO leads (tenant_id, name, source_type) VALUES ($1, 'Lead', 'MANUAL')"
        " RETURNING id",
        tenant_id,
    )
    await insert(
        "lists",
        "INSERT INTO lists (tenant_id, name, kind) VALUES ($1, 'List', 'STATIC') RETURNING id",
        tenant_id,
    )
    lead, listed = rows.ids["leads"], rows.ids["lists"]
    await insert(
        "lead_keys",
        "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
        " VALUES ($1, 'PHONE', '+966500000001', $2) RETURNING lead_id",
        tenant_id,
        lead,
    )
    await insert(
        "lead_activities",
        "INSERT INTO lead_activities (tenant_id, lead_id, type, body)"
        " VALUES ($1, $2, 'NOTE', 'n') RETURNING id",
        tenant_id,
        lead,
    )
    await insert(
        "list_members",
        "INSERT INTO list_members (tenant_id, list_id, lead_id) VALUES ($1, $2, $3)"
        " RETURNING lead_id",
        tenant_id,
        listed,
        lead,
    )
    await insert(
        "lead_merges",
        "INSERT INTO lead_merges (tenant_id, survivor_id, merged_ids, snapshot)"
        " VALUES ($1, $2, '{}', '{}') RETURNING id",
        tenant_id,
        lead,
    )
    await insert(
        "lead_evidence",
        "INSERT INTO lead_evidence (tenant_id, lead_id, evidence_id) VALUES ($1, $2, $3)"
        " RETURNING lead_id",
        tenant_id,
        lead,
        rows.ids["evidence"],
    )
    await insert(
        "import_rows",
        "INSERT INTO import_rows (tenant_id, job_id, row_number, action, lead_id)"
        " VALUES ($1, $2, 2, 'created', $3) RETURNING job_id",
        tenant_id,
        rows.ids["jobs"],
        lead,
    )
    await insert(
        "files",
        "INSERT INTO files (tenant_id, name, size, sha256, purpose, content_type, storage_key,"
        " created_by_id, expires_at) VALUES ($1, 'leads.csv', 3, $2, 'IMPORT', 'text/csv',"
        " $3, $4, now() + interval '1 day') RETURNING id",
        tenant_id,
        hashlib.sha256(b"a,b").hexdigest(),
        f"{tenant_id}/{uuid.uuid4()}",
        user_id,
    )
    await conn.execute(
        "INSERT INTO usage_counters (tenant_id, period, searches) VALUES ($1, $2, 1)",
        tenant_id,
        datetime.now(UTC).date().replace(day=1),
    )
    rows.ids["usage_counters"] = tenant_id
    return rows


async def insert_for_tenant(conn: asyncpg.Connection, table: str, victim: TenantRows) -> None:
    """Insert a row into `table` that carries `victim`'s tenant_id (and points at its rows).

    Unique columns get fresh values, so that only row-level security can refuse the row.
    """
    t, u = victim.tenant_id, victim.user_id
    statements: dict[str, tuple[str, tuple[object, ...]]] = {
        "memberships": (
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'SALES')",
            (t, await _fresh_user(conn)),
        ),
        "invites": (
            "INSERT INTO invites (tenant_id, email, role, token_hash, expires_at, inviter_id)"
            " VALUES ($1, 'smuggled@example.com', 'SALES', $2, now() + interval '1 day', $3)",
            (t, _token_hash(), u),
        ),
        "refresh_tokens": (
            "INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at)"
            " VALUES ($1, $2, gen_random_uuid(), $3, now())",
            (t, u, _token_hash()),
        ),
        "agents": (
            "INSERT INTO agents (tenant_id, user_id, name, token_hash, token_prefix)"
            " VALUES ($1, $2, 'smuggled', $3, 'lza_x')",
            (t, u, _token_hash()),
        ),
        "jobs": (
            "INSERT INTO jobs (tenant_id, type, created_by_id) VALUES ($1, 'SEARCH', $2)",
            (t, u),
        ),
        "evidence": (
            "INSERT INTO evidence (tenant_id, job_id, type, title, source, snippet, confidence,"
            " hash, size_bytes, collected_at)"
            " VALUES ($1, $2, 'SEARCH_RESULT', 't', 's', 's', 'LOW', $3, 1, now())",
            (t, victim.ids["jobs"], uuid.uuid4().hex * 2),
        ),
        "audit_logs": (
            "INSERT INTO audit_logs (tenant_id, user_id, event_type, action)"
            " VALUES ($1, $2, 'smuggled', 'create')",
            (t, u),
        ),
        "leads": (
            "INSERT INTO leads (tenant_id, name, source_type) VALUES ($1, 'x', 'MANUAL')",
            (t,),
        ),
        "lists": ("INSERT INTO lists (tenant_id, name, kind) VALUES ($1, 'x', 'STATIC')", (t,)),
        "lead_keys": (
            "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
            " VALUES ($1, 'EMAIL', 'smuggled@example.com', $2)",
            (t, victim.ids["leads"]),
        ),
        "lead_activities": (
            "INSERT INTO lead_activities (tenant_id, lead_id, type, body)"
            " VALUES ($1, $2, 'NOTE', 'smuggled')",
            (t, victim.ids["leads"]),
        ),
        "list_members": (
            "INSERT INTO list_members (tenant_id, list_id, lead_id) SELECT $1, $2, $3 WHERE true",
            (t, victim.ids["lists"], victim.ids["leads"]),
        ),
        "lead_merges": (
            "INSERT INTO lead_merges (tenant_id, survivor_id, merged_ids, snapshot)"
            " VALUES ($1, $2, '{}', '{}')",
            (t, victim.ids["leads"]),
        ),
        "lead_evidence": (
            "INSERT INTO lead_evidence (tenant_id, lead_id, evidence_id) VALUES ($1, $2, $3)",
            (t, victim.ids["leads"], victim.ids["evidence"]),
        ),
        "files": (
            "INSERT INTO files (tenant_id, name, size, sha256, purpose, content_type,"
            " storage_key, expires_at) VALUES ($1, 'x.csv', 0, $2, 'EXPORT', 'text/csv', $3,"
            " now() + interval '1 day')",
            (t, "0" * 64, f"{t}/{uuid.uuid4()}"),
        ),
        "usage_counters": (
            "INSERT INTO usage_counters (tenant_id, period) VALUES ($1, date '2000-01-01')",
            (t,),
        ),
        "import_rows": (
            "INSERT INTO import_rows (tenant_id, job_id, row_number, action, lead_id)"
            " VALUES ($1, $2, 3, 'created', $3)",
            (t, victim.ids["jobs"], victim.ids["leads"]),
        ),
    }
    sql, args = statements[table]
    await conn.execute(sql, *args)


async def _fresh_user(conn: asyncpg.Connection) -> uuid.UUID:
    """Users are global: a new one needs no tenant, so it is created the normal way."""
    user_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', 'Smuggled')",
        user_id,
        f"smuggled-{user_id.hex[:8]}@example.com",
    )
    return user_id
