"""A function that looks up a sign-in's user in one round trip, as the request role.

`leedz_login_lookup(request_role, email)` switches the current transaction to the request role
(transaction-local) and returns the user's id, password hash and last tenant. Called as a single
statement, its implicit transaction ends with it: sign-in reads the hash, releases the
connection, and verifies the password without holding a pooled connection or a transaction
open during the ~20 ms of argon2id.

SECURITY INVOKER, no SET clause, owned by the migrating owner.

Revision ID: 20261124_1310
Revises: 20261124_1300
Create Date: 2026-11-24 13:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261124_1310"
down_revision: str | None = "20261124_1300"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
CREATE FUNCTION public.leedz_login_lookup(request_role text, login_email text)
RETURNS TABLE (id uuid, password_hash text, default_tenant_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
BEGIN
    PERFORM pg_catalog.set_config('role', request_role, true);
    RETURN QUERY
        SELECT u.id, u.password_hash::text, u.default_tenant_id
        FROM public.users u WHERE u.email = login_email;
END
$$
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS public.leedz_login_lookup(text, text)")
