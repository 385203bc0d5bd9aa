"""Agent leases: the agent's first statement, and a lease reaper that sees only expired leases.

`leedz_begin_agent(request_role, tenant, statement_timeout, token_hash, agent, lock, touch)` is
every agent call's first statement: switch to the request role, set the tenant (and no user),
set the statement timeout — all transaction-local — then, already under RLS, return the agent
that the token hash (REST) or the id (a socket event, authenticated at connect) names, only
while it is not revoked: a revoked agent fails on its very next call, whatever channel it uses.
With `lock`, the agent row is locked (FOR NO KEY UPDATE) so that the claims of one agent are
serialized and its `maxConcurrency` holds; with `touch`, the agent is marked seen now (a
heartbeat, a socket connecting). One round trip, like `leedz_begin_authenticated`; run alone,
its settings end with its implicit transaction (a socket handshake: one round trip in all).

The lease reaper must find expired leases across tenants, which the request role cannot (no
tenant set: no row). It looks for them as `<app role>_reaper`, another NOLOGIN role without
BYPASSRLS, granted SELECT on `jobs` alone, whose only policy shows RUNNING jobs whose lease has
expired: it learns which tenants have such jobs, then releases them in a transaction per tenant
as the request role, under the ordinary tenant policy. It cannot write anything, nor read a
tenant's data beyond expired lease rows.

The claim index gains `id`, the claim order's last key: without it every claim sorted all of a
tenant's pending jobs (~100 ms at 60,000 pending, `make bench` claim_throughput).

Revision ID: 20261125_1200
Revises: 20261124_1300
Create Date: 2026-11-25 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leedz.kit import rls

revision: str = "20261125_1200"
down_revision: str | None = "20261124_1300"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXPIRED_LEASE = "status = 'RUNNING' AND lease_expires_at < now()"


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def _claim_index(columns: list[sa.ColumnElement[str] | str]) -> None:
    op.drop_index("ix_jobs_claimable", table_name="jobs")
    op.create_index(
        "ix_jobs_claimable",
        "jobs",
        columns,
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )


def upgrade() -> None:
    _claim_index(["tenant_id", sa.literal_column("priority DESC"), "created_at", "id"])
    op.execute(
        """
CREATE FUNCTION public.leedz_begin_agent(
    request_role text, tenant text, statement_timeout text,
    agent_token_hash bytea, agent uuid, lock boolean, touch boolean
) RETURNS TABLE (id uuid, user_id uuid, capabilities text[], max_concurrency integer)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    target uuid := agent;
BEGIN
    PERFORM pg_catalog.set_config('role', request_role, true),
            pg_catalog.set_config('app.current_tenant_id', tenant, true),
            pg_catalog.set_config('app.current_user_id', '', true),
            pg_catalog.set_config('statement_timeout', statement_timeout, true);
    -- From here on this transaction runs as the request role: RLS applies to the lookups.
    IF agent_token_hash IS NOT NULL THEN
        SELECT a.id INTO target FROM public.agents a
        WHERE a.tenant_id = tenant::uuid AND a.token_hash = agent_token_hash;
    END IF;
    IF touch THEN
        RETURN QUERY
            UPDATE public.agents a SET last_seen_at = now()
            WHERE a.tenant_id = tenant::uuid AND a.id = target AND a.revoked_at IS NULL
            RETURNING a.id, a.user_id, a.capabilities::text[], a.max_concurrency;
    ELSIF lock THEN
        RETURN QUERY
            SELECT a.id, a.user_id, a.capabilities::text[], a.max_concurrency
            FROM public.agents a
            WHERE a.tenant_id = tenant::uuid AND a.id = target AND a.revoked_at IS NULL
            FOR NO KEY UPDATE;
    ELSE
        RETURN QUERY
            SELECT a.id, a.user_id, a.capabilities::text[], a.max_concurrency
            FROM public.agents a
            WHERE a.tenant_id = tenant::uuid AND a.id = target AND a.revoked_at IS NULL;
    END IF;
END
$$"""
    )
    reaper = f"{_app_role()}_reaper"
    for statement in rls.create_app_role(reaper):
        op.execute(statement)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {reaper}")
    op.execute(f"GRANT SELECT ON jobs TO {reaper}")
    op.execute(
        f"CREATE POLICY lease_reaper_read ON jobs AS PERMISSIVE FOR SELECT TO {reaper}"
        f" USING ({EXPIRED_LEASE})"
    )


def downgrade() -> None:
    _claim_index(["tenant_id", sa.literal_column("priority DESC"), "created_at"])
    reaper = f"{_app_role()}_reaper"
    op.execute("DROP POLICY IF EXISTS lease_reaper_read ON jobs")
    for statement in rls.drop_app_role(reaper):
        op.execute(statement)
    op.execute(
        "DROP FUNCTION IF EXISTS public.leedz_begin_agent(text, text, text, bytea, uuid, boolean, boolean)"
    )
