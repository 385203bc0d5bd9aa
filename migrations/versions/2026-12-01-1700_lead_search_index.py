"""Lead search through a trigram index the request role can use: `lead_search` and its function.

Under the forced row-level security of `leads`, PostgreSQL evaluates the policies' conditions
before any condition that is not leakproof and will not drive an index scan with one. LIKE is
not leakproof, so for the request role the trigram index on `leads.search_text` was never used
and a rare `q` read every lead of the tenant (docs/search.md). Marking LIKE leakproof needs a
superuser, which a managed database's owner is not.

- `lead_search (tenant_id, lead_id, owner_id, search_text)`: a copy of each lead's search text
  (and its owner, for the SALES rule), behind a GIN index on `(tenant_id, search_text
  gin_trgm_ops)` (btree_gin supplies the uuid part, so a tenant's search never reads another
  tenant's matches). Nothing else of the lead is there.
- Nobody but its owner (the migrating role) may read or write it: every privilege is revoked
  from PUBLIC and from the request, reaper and purger roles. Row-level security is enabled
  (with the usual `tenant_isolation` policy) but deliberately NOT forced: the owner bypasses it,
  which is what lets its index be used; any role that is one day granted access by mistake is
  still held to its tenant.
- Kept in step by triggers on `leads`, whose function runs as the owner (SECURITY DEFINER):
  a row per inserted lead, updated when `search_text` or `owner_id` changes; a lead deleted
  (the trash purge, a tenant deleted) takes its row along through the foreign key
  `(tenant_id, lead_id) -> leads ON DELETE CASCADE ON UPDATE CASCADE`.
- `leedz_search_lead_ids(patterns text[], max_rows int) -> TABLE (tenant_id, lead_id)`,
  SECURITY DEFINER, executable by the request role only: up to `max_rows` ids of leads of the
  transaction's tenant (`app.current_tenant_id`, as the RLS policies read it; none set, none
  returned) that the transaction may see under the SALES rule (the `sales_visibility` policy's
  own condition) and whose search text is LIKE any of `patterns`. The search then reads those
  leads from `leads` under row-level security as before, so trash, merges, filters, sorts and
  pagination are unchanged; the ids only narrow what it reads.
- The old `ix_leads_search_text_trgm` is dropped: nothing the request role runs can use it and
  every write of a lead paid for it. (Downgrade puts it back.)

Both functions pin `search_path` to `pg_catalog, public, pg_temp` (temporary objects last, so a
temporary table cannot stand in for `lead_search`) and name their objects with their schema.

The backfill reads every lead: a migrating owner that is not a superuser is subject to the
forced RLS of `leads` too (and would read none), so the migration lifts FORCE for the backfill
inside its own transaction, holding the table's lock, and puts it back before committing.

Revision ID: 20261201_1700
Revises: 20261201_1650
Create Date: 2026-12-01 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leedz.kit import rls

revision: str = "20261201_1700"
down_revision: str | None = "20261201_1650"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_PATH = "SET search_path = pg_catalog, public, pg_temp"

# The `sales_visibility` policy's condition (migration 20261201_1400), on lead_search's copy of
# the owner.
SALES_VISIBLE = (
    f"s.owner_id IS NULL OR s.owner_id = {rls.CURRENT_USER}"
    " OR NOT (SELECT public.leedz_sales_own_leads_only())"
)

SYNC_FUNCTION = f"""
CREATE FUNCTION public.leedz_lead_search_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.lead_search (tenant_id, lead_id, owner_id, search_text)
        VALUES (NEW.tenant_id, NEW.id, NEW.owner_id, NEW.search_text);
    ELSE
        UPDATE public.lead_search
        SET owner_id = NEW.owner_id, search_text = NEW.search_text
        WHERE tenant_id = NEW.tenant_id AND lead_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$"""

# The statement is planned on every call with the patterns as constants (EXECUTE ... USING),
# so that the planner reads their trigrams and the table's statistics: a generic plan, which
# knows neither, may walk the tenant's primary key and filter instead (PostgreSQL 18 does, for a
# SQL function). enable_seqscan off: a pattern without a trigram leaves the index only the
# tenant to go by, which still beats reading every tenant's rows.
SEARCH_FUNCTION = f"""
CREATE FUNCTION public.leedz_search_lead_ids(patterns text[], max_rows integer)
RETURNS TABLE (tenant_id uuid, lead_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER {SEARCH_PATH} SET enable_seqscan = off AS $fn$
BEGIN
    RETURN QUERY EXECUTE $q$
        SELECT s.tenant_id, s.lead_id FROM public.lead_search s
        WHERE s.tenant_id = {rls.CURRENT_TENANT}
          AND s.search_text LIKE ANY ($1)
          AND ({SALES_VISIBLE})
        LIMIT $2
    $q$ USING patterns, max_rows;
END
$fn$"""


def _roles() -> list[str]:
    config = op.get_context().config
    app_role = rls.configured_app_role(config.attributes if config else None)
    return [app_role, f"{app_role}_reaper", f"{app_role}_purger"]


def upgrade() -> None:
    app_role, *others = _roles()
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.create_table(
        "lead_search",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            name=op.f("fk_lead_search_tenant_id_lead_id_leads"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "lead_id", name=op.f("pk_lead_search")),
    )
    op.execute(f"REVOKE ALL ON lead_search FROM PUBLIC, {', '.join([app_role, *others])}")
    op.execute("ALTER TABLE lead_search ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON lead_search AS PERMISSIVE FOR ALL"
        f" USING (tenant_id = {rls.CURRENT_TENANT}) WITH CHECK (tenant_id = {rls.CURRENT_TENANT})"
    )

    # Backfill, with the table locked until commit (nothing writes a lead meanwhile).
    op.execute("ALTER TABLE leads NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "INSERT INTO lead_search (tenant_id, lead_id, owner_id, search_text)"
        " SELECT tenant_id, id, owner_id, search_text FROM leads"
    )
    op.execute("ALTER TABLE leads FORCE ROW LEVEL SECURITY")
    op.create_index(
        "ix_lead_search_tenant_id_search_text_trgm",
        "lead_search",
        ["tenant_id", "search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.execute("ANALYZE lead_search")

    op.execute(SYNC_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION public.leedz_lead_search_sync() FROM PUBLIC")
    op.execute(
        "CREATE TRIGGER lead_search_insert AFTER INSERT ON leads"
        " FOR EACH ROW EXECUTE FUNCTION public.leedz_lead_search_sync()"
    )
    op.execute(
        "CREATE TRIGGER lead_search_update AFTER UPDATE OF search_text, owner_id ON leads"
        " FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text"
        " OR OLD.owner_id IS DISTINCT FROM NEW.owner_id)"
        " EXECUTE FUNCTION public.leedz_lead_search_sync()"
    )

    op.execute(SEARCH_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION public.leedz_search_lead_ids(text[], integer) FROM PUBLIC")
    op.execute(
        f"GRANT EXECUTE ON FUNCTION public.leedz_search_lead_ids(text[], integer) TO {app_role}"
    )

    op.drop_index("ix_leads_search_text_trgm", table_name="leads", postgresql_using="gin")


def downgrade() -> None:
    op.create_index(
        "ix_leads_search_text_trgm",
        "leads",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.execute("DROP FUNCTION IF EXISTS public.leedz_search_lead_ids(text[], integer)")
    op.execute("DROP TRIGGER IF EXISTS lead_search_update ON leads")
    op.execute("DROP TRIGGER IF EXISTS lead_search_insert ON leads")
    op.execute("DROP FUNCTION IF EXISTS public.leedz_lead_search_sync()")
    op.drop_table("lead_search")
    # btree_gin stays, as pg_trgm does (20261201_1400): another object may have come to use it.
