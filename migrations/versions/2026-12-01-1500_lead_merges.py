"""Indexes for duplicate suggestions: trigram similarity on `leads.name_sort`, and the domain.

`GET /v1/leads/{id}/duplicates` looks for leads of the tenant whose normalized name is close to
the lead's (pg_trgm `%` and `similarity()`, docs/merges.md) and for leads with the same
registrable domain. Without these indexes both would read every lead of the tenant. The GIN
index holds `name_sort` (normalize_text of the name, written by the service); `%` uses it, and
the service then keeps only the similarities at or above its own threshold.

No table, type or function changes; no data is rewritten.

Revision ID: 20261201_1500
Revises: 20261201_1400
Create Date: 2026-12-01 15:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_1500"
down_revision: str | None = "20261201_1400"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_leads_name_sort_trgm",
        "leads",
        ["name_sort"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name_sort": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_leads_tenant_id_domain"), "leads", ["tenant_id", "domain"])


def downgrade() -> None:
    op.drop_index(op.f("ix_leads_tenant_id_domain"), table_name="leads")
    op.drop_index("ix_leads_name_sort_trgm", table_name="leads", postgresql_using="gin")
