"""`import_rows`: an import's report lines, and what its revert takes back.

One row per spreadsheet row an IMPORT job handled (imports/models.py), written by the batch
that handled it, so a resumed import neither loses nor doubles a line. Tenant-owned under
forced row-level security; composite foreign keys keep the job and the lead in the row's own
tenant (a purged lead leaves the line with `lead_id` NULL).

Revision ID: 20261201_1830
Revises: 20261201_1820
Create Date: 2026-12-01 18:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leedz.kit import rls

revision: str = "20261201_1830"
down_revision: str | None = "20261201_1820"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:
    op.create_table(
        "import_rows",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column(
            "added_tags",
            postgresql.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("listed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            "action IN ('created', 'updated', 'joined', 'skipped', 'failed')",
            name=op.f("ck_import_rows_action_known"),
        ),
        sa.CheckConstraint("row_number >= 2", name=op.f("ck_import_rows_row_after_header")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["jobs.tenant_id", "jobs.id"],
            name=op.f("fk_import_rows_tenant_id_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            name=op.f("fk_import_rows_tenant_id_lead_id_leads"),
            ondelete="SET NULL (lead_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_import_rows_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "row_number", name=op.f("pk_import_rows")),
    )
    op.create_index(
        op.f("ix_import_rows_tenant_id_lead_id"), "import_rows", ["tenant_id", "lead_id"]
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON import_rows TO {_app_role()}")
    for statement in rls.enable_tenant_isolation("import_rows"):
        op.execute(statement)


def downgrade() -> None:
    for statement in rls.disable_tenant_isolation("import_rows"):
        op.execute(statement)
    op.drop_index(op.f("ix_import_rows_tenant_id_lead_id"), table_name="import_rows")
    op.drop_table("import_rows")
