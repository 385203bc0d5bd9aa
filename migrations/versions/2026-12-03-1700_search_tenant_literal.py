"""`leedz_search_lead_ids` names the tenant as a literal, so a tenant's own index can serve it.

A large tenant gets a trigram index of its own on `lead_search` (leads/tenant_indexes.py:
`search_text gin_trgm_ops WHERE tenant_id = '<id>'`), which answers its lookups in about half
the time of the shared `(tenant_id, search_text)` index at 1,000,000 leads (docs/search.md). The
planner uses a partial index only when it can prove the predicate from the query, which needs
the tenant as a constant; until now the statement compared with the setting's expression
(`NULLIF(current_setting('app.current_tenant_id', true), '')::uuid`, stable, not a constant).
The statement is built on each call anyway (EXECUTE, planned with the patterns as constants), so
the tenant is now written in with `format('%L')`: the same setting, read once. No setting (or
an empty one) gives `NULL::uuid`, which matches no row, as before; a malformed one fails the
cast, as the RLS policies' own reading does. Nothing else changes: same signature, same answer.

Revision ID: 20261203_1700
Revises: 20261202_1930
Create Date: 2026-12-03 17:00:00+00:00
"""

from collections.abc import Sequence
from typing import Any

from alembic import context, op

revision: str = "20261203_1700"
down_revision: str | None = "20261202_1930"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# %L of NULL is the bare word NULL: `NULL::uuid`. `%%` would be a literal percent sign; the
# statement has none (the patterns travel as parameters). The pinned search_path and the SALES
# rule's condition are 20261201_1910's (its module, read when the migration runs).
FUNCTION = """
CREATE OR REPLACE FUNCTION public.leedz_search_lead_ids(
    patterns text[], max_rows integer, probes text[] DEFAULT NULL
)
RETURNS TABLE (tenant_id uuid, lead_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER {search_path} SET enable_seqscan = off AS $fn$
DECLARE
    tenant text := NULLIF(current_setting('app.current_tenant_id', true), '');
BEGIN
    IF probes IS NULL THEN
        RETURN QUERY EXECUTE format($q$
            SELECT s.tenant_id, s.lead_id FROM public.lead_search s
            WHERE s.tenant_id = %L::uuid
              AND s.search_text LIKE ANY ($1)
              AND ({sales_visible})
            LIMIT $2
        $q$, tenant) USING patterns, max_rows;
    ELSE
        RETURN QUERY EXECUTE format($q$
            SELECT s.tenant_id, s.lead_id FROM public.lead_search s
            WHERE s.tenant_id = %L::uuid
              AND s.search_text LIKE ANY ($3)
              AND (s.search_text || '') LIKE ANY ($1)
              AND ({sales_visible})
            LIMIT $2
        $q$, tenant) USING patterns, max_rows, probes;
    END IF;
END
$fn$"""


DROP_TENANT_INDEXES = r"""
DO $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'public.lead_search'::regclass
          AND c.relname ~ '^ix_lead_search_for_[0-9a-f]{32}$'
    LOOP
        EXECUTE format('DROP INDEX public.%I', found.relname);
    END LOOP;
END
$$"""


def _probes_migration() -> Any:
    return context.script.get_revision("20261201_1910").module


def upgrade() -> None:
    probes = _probes_migration()
    op.execute(FUNCTION.format(search_path=probes.SEARCH_PATH, sales_visible=probes.SALES_VISIBLE))


def downgrade() -> None:
    # 20261201_1910's definition (its function is what it was).
    previous = _probes_migration().NEW_FUNCTION
    op.execute(previous.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    # The tenants' own indexes (leads/tenant_indexes.py) could serve nothing any more.
    op.execute(DROP_TENANT_INDEXES)
