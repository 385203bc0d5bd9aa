"""The lead quota's count as a function: every lead of the tenant, whoever asks.

`leedz_quota_leads(serialize boolean) -> TABLE (tenant_id, leads)`, SECURITY DEFINER, executable
by the request role only: the number of leads of the transaction's tenant
(`app.current_tenant_id`, as the row-level security policies read it; none set, no row) that
count against the plan's `maxLeads` — live ones and the trash, not those merged into another.
It runs as its owner, to whom the `sales_visibility` policy does not apply (it is the request
role's since 20261201_1600; `tenant_isolation` still does, FORCE RLS holds for the owner too):
so a SALES member of a tenant whose `salesSeeAllLeads` is off is counted every lead of the
tenant, not only the ones they may see. Until now the code lifted the transaction's user for
the length of the count, which widened what the transaction could read for that instant.

`serialize` first takes the tenant's lead-creation lock (an advisory lock held until the end of
the transaction, the one `Leads.lock_quota` took before): the count is a statement of its own
inside the function (VOLATILE: a fresh snapshot per statement), so it sees every creation
committed before the lock was granted. Lock and count in one round trip.

The function pins `search_path` to `pg_catalog, public, pg_temp` and names its objects with
their schema, as those of 20261201_1700 do.

Revision ID: 20261201_1850
Revises: 20261201_1700
Create Date: 2026-12-01 18:50:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from leedz.kit import rls

revision: str = "20261201_1850"
down_revision: str | None = "20261201_1700"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_PATH = "SET search_path = pg_catalog, public, pg_temp"

# The key of the tenant's lead-creation lock (the same as before: hashtextextended(tenant, 7013)).
QUOTA_FUNCTION = f"""
CREATE FUNCTION public.leedz_quota_leads(serialize boolean)
RETURNS TABLE (tenant_id uuid, leads bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER {SEARCH_PATH} AS $fn$
#variable_conflict use_column
DECLARE
    tenant uuid := {rls.CURRENT_TENANT};
BEGIN
    IF tenant IS NULL THEN
        RETURN;
    END IF;
    IF serialize THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(tenant::text, 7013));
    END IF;
    RETURN QUERY
        SELECT tenant, pg_catalog.count(*) FROM public.leads l
        WHERE l.tenant_id = tenant AND l.merged_into_id IS NULL;
END
$fn$"""

SIGNATURE = "public.leedz_quota_leads(boolean)"


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:
    op.execute(QUOTA_FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {_app_role()}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
