"""The lead quota counted as the owner; similar names through `lead_search`.

**The quota's count.** `leedz_quota_leads(serialize boolean) -> TABLE (tenant_id, leads)`, SECURITY DEFINER, executable
by the request role only: the number of leads of the transaction's tenant
(`app.current_tenant_id`, as the row-level security policies read it; none set, no row) that
count against the plan's `maxLeads` — live ones and the trash, not those merged into another.
It runs as its owner and counts `lead_search`, the owner-only copy of the leads
(20261201_1700), which now also copies each lead's `merged_into_id`: RLS is not forced there,
so no policy narrows the count, and a SALES member of a tenant whose `salesSeeAllLeads` is off
is counted every lead of the tenant, not only the ones they may see. (Not `leads` itself: FORCE
binds its owner to the policies of every role the owner is a member of, and the migrating owner
is granted the request role and the purger's, so `sales_visibility` and `trash_purge_only`
would narrow the owner's count too — on a managed database, where the owner is no superuser.)
Until now the code lifted the transaction's user for the length of the count, which widened
what the transaction could read for that instant.

`serialize` first takes the tenant's lead-creation lock (an advisory lock held until the end of
the transaction, the one `Leads.lock_quota` took before): the count is a statement of its own
inside the function (VOLATILE: a fresh snapshot per statement), so it sees every creation
committed before the lock was granted. Lock and count in one round trip.

**Similar names** (`GET /v1/leads/{id}/duplicates`, the `similar_name` rule: pg_trgm `%` and
`similarity()` on the normalized name). `%` is not leakproof, so under the forced row-level
security of `leads` the trigram index `ix_leads_name_sort_trgm` could never serve the request
role (the same wall as LIKE's, 20261201_1700): every call read every live lead of the tenant in
the same city. The name now has the search text's way round it:

- `lead_search.name_sort`: a copy of the lead's normalized name, kept by the same triggers
  (the update trigger now also fires when `name_sort` changes), behind a GIN index on
  `(tenant_id, name_sort gin_trgm_ops)`. (`lead_search.merged_into_id`, the quota's, likewise.)
- `leedz_similar_name_lead_ids(name text, threshold real, max_rows int) -> TABLE (tenant_id,
  lead_id)`, SECURITY DEFINER, executable by the request role only: up to `max_rows` ids of
  the transaction's tenant's leads that it may see under the SALES rule whose name is `%`
  `name` with a similarity of at least `threshold`. The duplicates query then reads those
  leads from `leads` under row-level security as before (live, same city, visible).
- `ix_leads_name_sort_trgm` is dropped: nothing the request role runs could use it, and
  every write of a lead paid for it. (Downgrade puts it back.)

The backfill reads every lead: FORCE is lifted on `leads` for it, inside the migration's
transaction, as 20261201_1700 does.

The functions pin `search_path` to `pg_catalog, public, pg_temp` and name their objects with
their schema, as those of 20261201_1700 do.

Revision ID: 20261201_1850
Revises: 20261201_1840
Create Date: 2026-12-01 18:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leedz.kit import rls

revision: str = "20261201_1850"
down_revision: str | None = "20261201_1840"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_PATH = "SET search_path = pg_catalog, public, pg_temp"

# The key of the tenant's lead-creation lock (the same as before: hashtextextended(tenant, 7013)).
QUOTA_FUNCTION = f"""
CREATE FUNCTION public.leedz_quota_leads(serialize boolean)
RETURNS TABLE (tenant_id uuid, leads bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER {SEARCH_PATH} AS $fn$
DECLARE
    tenant uuid := {rls.CURRENT_TENANT};
BEGIN
    IF tenant IS NULL THEN
        RETURN;
    END IF;
    IF serialize THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(tenant::text, 7013));
    END IF;
    -- Planned with the tenant as a constant on every call (EXECUTE ... USING): a cached
    -- generic plan knows no tenant's size and may read every tenant's leads.
    RETURN QUERY EXECUTE $q$
        SELECT $1, pg_catalog.count(*) FROM public.lead_search s
        WHERE s.tenant_id = $1 AND s.merged_into_id IS NULL
    $q$ USING tenant;
END
$fn$"""

SIGNATURE = "public.leedz_quota_leads(boolean)"

# The `sales_visibility` policy's condition, on lead_search's copy of the owner (20261201_1700).
SALES_VISIBLE = (
    f"s.owner_id IS NULL OR s.owner_id = {rls.CURRENT_USER}"
    " OR NOT (SELECT public.leedz_sales_own_leads_only())"
)


def _sync_function(copied: tuple[str, ...]) -> str:
    """leedz_lead_search_sync (20261201_1700), copying the columns `copied` of the lead."""
    return f"""
CREATE OR REPLACE FUNCTION public.leedz_lead_search_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.lead_search (tenant_id, lead_id, {", ".join(copied)})
        VALUES (NEW.tenant_id, NEW.id, {", ".join(f"NEW.{c}" for c in copied)});
    ELSE
        UPDATE public.lead_search
        SET {", ".join(f"{c} = NEW.{c}" for c in copied)}
        WHERE tenant_id = NEW.tenant_id AND lead_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$"""


def _update_trigger(copied: tuple[str, ...]) -> str:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in copied)
    return (
        f"CREATE TRIGGER lead_search_update AFTER UPDATE OF {', '.join(copied)} ON leads"
        f" FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION public.leedz_lead_search_sync()"
    )


BEFORE = ("owner_id", "search_text")
AFTER = ("owner_id", "search_text", "name_sort", "merged_into_id")

# Planned on every call with the name as a constant, as leedz_search_lead_ids is, so that the
# planner reads its trigrams; `%` keeps pg_trgm's own threshold (0.3) for the index, the
# similarity then keeps the close ones.
SIMILAR_FUNCTION = f"""
CREATE FUNCTION public.leedz_similar_name_lead_ids(name text, threshold real, max_rows integer)
RETURNS TABLE (tenant_id uuid, lead_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER {SEARCH_PATH} SET enable_seqscan = off AS $fn$
BEGIN
    RETURN QUERY EXECUTE $q$
        SELECT s.tenant_id, s.lead_id FROM public.lead_search s
        WHERE s.tenant_id = {rls.CURRENT_TENANT}
          AND s.name_sort OPERATOR(public.%) $1
          AND public.similarity(s.name_sort, $1) >= $2
          AND ({SALES_VISIBLE})
        LIMIT $3
    $q$ USING name, threshold, max_rows;
END
$fn$"""

SIMILAR_SIGNATURE = "public.leedz_similar_name_lead_ids(text, real, integer)"


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:
    app_role = _app_role()
    op.add_column("lead_search", sa.Column("name_sort", sa.Text(), nullable=True))
    op.add_column("lead_search", sa.Column("merged_into_id", sa.UUID(), nullable=True))
    # Backfill, with leads locked until commit by the ALTER (nothing writes a lead meanwhile).
    op.execute("ALTER TABLE leads NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "UPDATE lead_search s SET name_sort = l.name_sort, merged_into_id = l.merged_into_id"
        " FROM leads l"
        " WHERE l.tenant_id = s.tenant_id AND l.id = s.lead_id"
    )
    op.execute("ALTER TABLE leads FORCE ROW LEVEL SECURITY")
    op.alter_column("lead_search", "name_sort", nullable=False)
    op.execute(_sync_function(AFTER))
    op.execute("DROP TRIGGER lead_search_update ON leads")
    op.execute(_update_trigger(AFTER))
    op.create_index(
        "ix_lead_search_tenant_id_name_sort_trgm",
        "lead_search",
        ["tenant_id", "name_sort"],
        postgresql_using="gin",
        postgresql_ops={"name_sort": "gin_trgm_ops"},
    )
    op.execute("ANALYZE lead_search")
    op.execute(QUOTA_FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {app_role}")
    op.execute(SIMILAR_FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIMILAR_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIMILAR_SIGNATURE} TO {app_role}")
    op.drop_index("ix_leads_name_sort_trgm", table_name="leads", postgresql_using="gin")


def downgrade() -> None:
    op.create_index(
        "ix_leads_name_sort_trgm",
        "leads",
        ["name_sort"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name_sort": "gin_trgm_ops"},
    )
    op.execute(f"DROP FUNCTION IF EXISTS {SIMILAR_SIGNATURE}")
    op.execute("DROP TRIGGER IF EXISTS lead_search_update ON leads")
    op.execute(_update_trigger(BEFORE))
    op.execute(_sync_function(BEFORE))
    op.drop_index(
        "ix_lead_search_tenant_id_name_sort_trgm", table_name="lead_search", postgresql_using="gin"
    )
    op.drop_column("lead_search", "merged_into_id")
    op.drop_column("lead_search", "name_sort")
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
