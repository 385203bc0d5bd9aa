"""The trigram index asked with fewer, rarer trigrams: `leedz_search_lead_ids(..., probes)`.

pg_trgm pads every word of a LIKE pattern where it meets a literal space or punctuation mark,
so `%info@alnoor%` asks the index for `fo `, `  a` and ` al` as well as `inf`, `nfo`, `aln`,
`lno`, `noo` and `oor`. A padded trigram is a word's start or end (`  a`: every word beginning
with a; ` al`: every one beginning with al), and its posting list is among the longest of the
index: GIN reads each entry's list through, and those lists made the lookup of a q like
`info@alnoor` two to three times as long at 1,000,000 leads a tenant (docs/benchmarks-notes.md)
while narrowing its candidates little or not at all.

The function takes an optional third argument, `probes`: LIKE patterns that match at least
every text `patterns` match (the caller's, leads/repository.py `index_probe`: each pattern with
its runs of literal punctuation and spaces replaced by `%`, `%info%alnoor%`). When given, the
index is asked for `probes` only and every candidate is then checked against `patterns` (as a
filter the index cannot take: `search_text || ''`), so the answer is exactly the leads whose
search text is LIKE any of `patterns`, as before; without it, the function is what it was.
Wrong probes could only lose the caller some of its own tenant's matches: the tenant, the SALES
rule and `patterns` are applied as before.

Revision ID: 20261201_1910
Revises: 20261201_1850
Create Date: 2026-12-01 19:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from leedz.kit import rls

revision: str = "20261201_1910"
down_revision: str | None = "20261201_1850"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_PATH = "SET search_path = pg_catalog, public, pg_temp"

# The `sales_visibility` policy's condition, on lead_search's copy of the owner (20261201_1700).
SALES_VISIBLE = (
    f"s.owner_id IS NULL OR s.owner_id = {rls.CURRENT_USER}"
    " OR NOT (SELECT public.leedz_sales_own_leads_only())"
)

OLD_SIGNATURE = "public.leedz_search_lead_ids(text[], integer)"
NEW_SIGNATURE = "public.leedz_search_lead_ids(text[], integer, text[])"

# 20261201_1700's function, unchanged (for the downgrade).
OLD_FUNCTION = f"""
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

# Planned on every call with its arguments as constants, as before (EXECUTE ... USING). With
# probes, `search_text || ''` keeps `patterns` out of the index's condition: in it, their
# trigrams would be asked for after all.
NEW_FUNCTION = f"""
CREATE FUNCTION public.leedz_search_lead_ids(
    patterns text[], max_rows integer, probes text[] DEFAULT NULL
)
RETURNS TABLE (tenant_id uuid, lead_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER {SEARCH_PATH} SET enable_seqscan = off AS $fn$
BEGIN
    IF probes IS NULL THEN
        RETURN QUERY EXECUTE $q$
            SELECT s.tenant_id, s.lead_id FROM public.lead_search s
            WHERE s.tenant_id = {rls.CURRENT_TENANT}
              AND s.search_text LIKE ANY ($1)
              AND ({SALES_VISIBLE})
            LIMIT $2
        $q$ USING patterns, max_rows;
    ELSE
        RETURN QUERY EXECUTE $q$
            SELECT s.tenant_id, s.lead_id FROM public.lead_search s
            WHERE s.tenant_id = {rls.CURRENT_TENANT}
              AND s.search_text LIKE ANY ($3)
              AND (s.search_text || '') LIKE ANY ($1)
              AND ({SALES_VISIBLE})
            LIMIT $2
        $q$ USING patterns, max_rows, probes;
    END IF;
END
$fn$"""


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def _replace(old: str, new: str, definition: str) -> None:
    op.execute(f"DROP FUNCTION {old}")
    op.execute(definition)
    op.execute(f"REVOKE ALL ON FUNCTION {new} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {new} TO {_app_role()}")


def upgrade() -> None:
    _replace(OLD_SIGNATURE, NEW_SIGNATURE, NEW_FUNCTION)


def downgrade() -> None:
    _replace(NEW_SIGNATURE, OLD_SIGNATURE, OLD_FUNCTION)
