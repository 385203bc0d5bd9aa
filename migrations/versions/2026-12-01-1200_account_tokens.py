"""Account tokens (password reset, email verification) and `users.email_verified_at`.

`account_tokens` holds the SHA-256 of a mailed single-use link's token, never the token: one row
per user and purpose (`UNIQUE (user_id, purpose)`), so asking for a new link replaces the token
in place and the previous link dies; `used_at` spends it. It is global like `users` (a password
reset starts from an email address, before any tenant is known), so it has no `tenant_id` and
no row-level security; the request role may select, insert and update it (never delete), as it
may `users`. `tests/kit/test_rls_catalog.py` lists it among the global tables.

Existing users start unverified (`email_verified_at` NULL): nothing in the database proves they
receive mail at their address. (Accepted invites would, but RLS is forced on `invites`, for a
migrating owner that is not a superuser too.) docs/auth.md says how they verify.

Revision ID: 20261201_1200
Revises: 20261201_1100
Create Date: 2026-12-01 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leedz.kit import rls

revision: str = "20261201_1200"
down_revision: str | None = "20261201_1100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSE = sa.Enum("RESET_PASSWORD", "VERIFY_EMAIL", name="account_token_purpose")


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True)))
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("purpose", PURPOSE, nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
        sa.UniqueConstraint("user_id", "purpose", name=op.f("uq_account_tokens_user_id_purpose")),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON account_tokens TO {_app_role()}")


def downgrade() -> None:
    op.drop_table("account_tokens")
    PURPOSE.drop(op.get_bind(), checkfirst=True)
    op.drop_column("users", "email_verified_at")
