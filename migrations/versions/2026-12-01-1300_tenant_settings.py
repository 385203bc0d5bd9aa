"""Tenant settings: `default_country`, `timezone`, `sales_see_all_leads`, `language`.

The leads work needs them per tenant: a phone written without a country code is read in the
tenant's country (docs/normalization.md), dates are shown and counted in its time zone, an
OWNER or ADMIN decides whether SALES members see every lead or only their own and the unassigned
ones, and exports are written in its language (Arabic right to left). They are columns of
`tenants`, not a JSON document: each has one type, a default and a constraint the database
keeps, and a read of the tenant row already brings them.

Every column is NOT NULL with a server default, so existing tenants get the product's defaults
(Saudi Arabia, Asia/Riyadh, SALES see all leads, Arabic) without a rewrite of the table
(PostgreSQL 11+ stores a constant default in the catalog). The database checks the shape of a
country code (two upper-case letters) and the two languages; whether a code is a country the
phone library knows, and a zone name one the zone database knows, is the API's check
(tenants/schemas.py): both lists change with library releases, a CHECK would pin one of them.

The request role's grants on `tenants` are table-wide: nothing to grant.

Revision ID: 20261201_1300
Revises: 20261201_1200
Create Date: 2026-12-01 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_1300"
down_revision: str | None = "20261201_1200"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS = (
    ("default_country_code", "default_country ~ '^[A-Z]{2}$'"),
    ("language_known", "language IN ('ar', 'en')"),
)


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column(
            "default_country", sa.String(length=2), server_default=sa.text("'SA'"), nullable=False
        ),
    )
    op.add_column(
        "tenants",
        sa.Column(
            "timezone",
            sa.String(length=64),
            server_default=sa.text("'Asia/Riyadh'"),
            nullable=False,
        ),
    )
    op.add_column(
        "tenants",
        sa.Column(
            "sales_see_all_leads", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
    )
    op.add_column(
        "tenants",
        sa.Column("language", sa.String(length=2), server_default=sa.text("'ar'"), nullable=False),
    )
    for name, condition in CHECKS:
        op.create_check_constraint(op.f(f"ck_tenants_{name}"), "tenants", condition)


def downgrade() -> None:
    for name, _ in CHECKS:
        op.drop_constraint(op.f(f"ck_tenants_{name}"), "tenants", type_="check")
    for column in ("language", "sales_see_all_leads", "timezone", "default_country"):
        op.drop_column("tenants", column)
