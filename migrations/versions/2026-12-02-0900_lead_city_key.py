"""`leads.city_key`: the compared form of a lead's city, indexed with its name key.

Rules 4 and 5 of resolution and the look-alikes of a new lead compare cities trimmed and in
lower case (`lower(btrim(city))`). `lower` and `btrim` are not LEAKPROOF, so under the forced
row-level security of `leads` the planner keeps such a comparison out of every index condition
(as `enum_eq` in 20261201_1650 and LIKE in 20261201_1700): a lookup by name key read every live
lead of that name in the tenant, of every city, and sorted them (at 1,000,000 leads a tenant the
benchmark's names meet ~330 leads each: ~325 heap rows read and filtered per new lead, for ~20
kept). A stored generated column holds the compared form once; `city_key = …` is `texteq`,
which is leakproof, so `(tenant_id, name_key, city_key)` answers name-and-city lookups with
index conditions. The index replaces `(tenant_id, name_key)`, whose lookups its prefix serves.

Adding a stored generated column rewrites `leads` and its indexes (PostgreSQL computes the
column for every row): on a large table, run it in a maintenance window.

Revision ID: 20261202_0900
Revises: 20261201_1910
Create Date: 2026-12-02 09:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261202_0900"
down_revision: str | None = "20261201_1910"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE leads ADD COLUMN city_key text"
        " GENERATED ALWAYS AS (lower(btrim(city::text))) STORED"
    )
    op.drop_index("ix_leads_tenant_id_name_key", table_name="leads")
    op.create_index(
        op.f("ix_leads_tenant_id_name_key_city_key"),
        "leads",
        ["tenant_id", "name_key", "city_key"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_leads_tenant_id_name_key_city_key"), table_name="leads")
    op.create_index(
        op.f("ix_leads_tenant_id_name_key"), "leads", ["tenant_id", "name_key"], unique=False
    )
    op.drop_column("leads", "city_key")
