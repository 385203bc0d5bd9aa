"""`lead_keys (tenant_id, value)`: key lookups the request role's plans can use.

The primary key `(tenant_id, kind, value)` answers a lookup only through `kind`, an enum, and
PostgreSQL's `enum_eq` is not LEAKPROOF: under forced row-level security the planner will not
use it as an index condition ahead of the policy, so every key check read all of a tenant's keys
(about 0.7 s per created lead at 4.5 million keys, bench lead_write). `texteq` is leakproof: with
this index a lookup by value is an index scan, and `kind` is checked on the few rows found.

Revision ID: 20261201_1650
Revises: 20261201_1600
Create Date: 2026-12-01 16:50:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_1650"
down_revision: str | None = "20261201_1600"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_lead_keys_tenant_id_value"), "lead_keys", ["tenant_id", "value"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_lead_keys_tenant_id_value"), table_name="lead_keys")
