"""Stored files: uploads for imports, exports and import reports (`files`).

One row per file, tenant-owned under forced row-level security; the bytes are in the store
(a directory under the data dir, or an S3-compatible bucket) under `storage_key`
(`<tenant id>/<file id>`). The creator is a member of the file's tenant (composite foreign key
to memberships, `ON DELETE SET NULL (created_by_id)`: the file outlives their membership), and
`(tenant_id, id)` is unique so that other tables may point at a file of their own tenant only.

The file purge (files/purge.py) deletes files past `expires_at` in every tenant. It runs as the
purger role of the trash purge (migration 20261201_1600), which gets SELECT and DELETE on
`files` and two policies of its own, as on `leads`: `file_purge_select` / `file_purge_delete`
(PERMISSIVE) show it the expired files of every tenant, and `file_purge_only` (RESTRICTIVE,
every command, WITH CHECK false) keeps any other policy from opening a live file to it and
refuses any row it would write.

Revision ID: 20261201_1820
Revises: 20261201_1700
Create Date: 2026-12-01 18:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leedz.kit import rls

revision: str = "20261201_1820"
down_revision: str | None = "20261201_1700"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXPIRED = "expires_at < now()"


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("IMPORT", "EXPORT", "IMPORT_REPORT", name="file_purpose"),
            nullable=False,
        ),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=True),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "last_used_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("detected", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_files_size_not_negative")),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_files_sha256_hex")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["memberships.tenant_id", "memberships.user_id"],
            name=op.f("fk_files_tenant_id_created_by_id_memberships"),
            ondelete="SET NULL (created_by_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_files_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_files_storage_key")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_files_tenant_id_id")),
    )
    op.create_index(op.f("ix_files_expires_at"), "files", ["expires_at"], unique=False)

    app_role = _app_role()
    purger = f"{app_role}_purger"
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON files TO {app_role}")
    for statement in rls.enable_tenant_isolation("files"):
        op.execute(statement)
    op.execute(f"GRANT SELECT, DELETE ON files TO {purger}")
    for command in ("SELECT", "DELETE"):
        op.execute(
            f"CREATE POLICY file_purge_{command.lower()} ON files AS PERMISSIVE FOR {command}"
            f" TO {purger} USING ({EXPIRED})"
        )
    op.execute(
        f"CREATE POLICY file_purge_only ON files AS RESTRICTIVE FOR ALL TO {purger}"
        f" USING ({EXPIRED}) WITH CHECK (false)"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_files_expires_at"), table_name="files")
    op.drop_table("files")  # its policies and grants go with it
    op.execute("DROP TYPE IF EXISTS file_purpose")
