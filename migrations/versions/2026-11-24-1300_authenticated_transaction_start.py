"""A function that starts an authenticated request transaction in one round trip.

`leedz_begin_authenticated(role, tenant, user, statement_timeout)` does what every request
transaction's first statement does (switch to the request role, set tenant and user, set the
statement timeout — all transaction-local) and then, already as the request role and under RLS,
returns the user's role in the tenant (NULL when not a member). Authenticated requests thus save
the round trip of a separate membership query (bench/auth_read.py).

SECURITY INVOKER, no SET clause: it runs as the caller, and the role switch it makes lasts until
the end of the caller's transaction. Owned by the migrating owner; the request role owns nothing.

Revision ID: 20261124_1300
Revises: 20261124_1200
Create Date: 2026-11-24 13:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261124_1300"
down_revision: str | None = "20261124_1200"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
CREATE FUNCTION public.leedz_begin_authenticated(
    request_role text, tenant text, member text, statement_timeout text
) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
BEGIN
    PERFORM pg_catalog.set_config('role', request_role, true),
            pg_catalog.set_config('app.current_tenant_id', tenant, true),
            pg_catalog.set_config('app.current_user_id', member, true),
            pg_catalog.set_config('statement_timeout', statement_timeout, true);
    -- From here on this transaction runs as the request role: RLS applies to the lookup.
    RETURN (
        SELECT m.role::text FROM public.memberships m
        WHERE m.tenant_id = tenant::uuid AND m.user_id = member::uuid
    );
END
$$
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS public.leedz_begin_authenticated(text, text, text, text)")
