"""`resolution_backfills`: where each tenant's `leedz leads resolve` has got to.

One row per tenant: the last evidence item the backfill resolved, in its order
`(created_at, collected_at, id)`, written in the transaction of that item's batch, so that a run
killed mid-way goes on after the last batch that committed; and counters of what it did. A
tenant table like the others: composite-free (its key is the tenant), row-level security
enabled and forced, the request role granted what the command needs.

Revision ID: 20261201_1840
Revises: 20261201_1830
Create Date: 2026-12-01 18:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leedz.kit import rls

revision: str = "20261201_1840"
down_revision: str | None = "20261201_1830"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "resolution_backfills"


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("after_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("after_collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("after_id", sa.UUID(), nullable=False),
        sa.Column("resolved", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("joined", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("over_quota", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_resolution_backfills_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_resolution_backfills")),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {_app_role()}")
    for statement in rls.enable_tenant_isolation(TABLE):
        op.execute(statement)


def downgrade() -> None:
    for statement in rls.disable_tenant_isolation(TABLE):
        op.execute(statement)
    op.drop_table(TABLE)
