"""Two SQL functions that save round trips on the hottest paths.

`leedz_begin_authenticated(request_role, tenant, member, statement_timeout, session)` is an
authenticated request transaction's first statement: what every request transaction starts with
(switch to the request role, set tenant and user, set the statement timeout — all
transaction-local), then, already as the request role and under RLS, the member's role in the
tenant — only while the session named by the access token's `jti` (its refresh token) is not
revoked. NULL otherwise. So membership, role and session are checked on every request without a
round trip of their own, and sign-out, password changes and detected refresh-token reuse end
access tokens at once.

`leedz_login_lookup(request_role, email)` switches to the request role and returns a user's id,
password hash and last tenant. Called as a single statement, its implicit transaction ends with
it: sign-in reads the hash, releases the connection, and verifies the password without holding
a pooled connection or an open transaction during the ~20 ms of argon2id.

Both are SECURITY INVOKER with no SET clause (the role switch lasts until the end of the
caller's transaction) and owned by the migrating owner; the request role owns nothing.

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
    request_role text, tenant text, member text, statement_timeout text, session text
) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
BEGIN
    PERFORM pg_catalog.set_config('role', request_role, true),
            pg_catalog.set_config('app.current_tenant_id', tenant, true),
            pg_catalog.set_config('app.current_user_id', member, true),
            pg_catalog.set_config('statement_timeout', statement_timeout, true);
    -- From here on this transaction runs as the request role: RLS applies to both lookups.
    RETURN (
        SELECT m.role::text FROM public.memberships m
        WHERE m.tenant_id = tenant::uuid AND m.user_id = member::uuid
          AND EXISTS (
              SELECT 1 FROM public.refresh_tokens r
              WHERE r.tenant_id = tenant::uuid AND r.id = session::uuid
                AND r.user_id = member::uuid AND r.revoked_at IS NULL
          )
    );
END
$$
"""
    )
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
    op.execute(
        "DROP FUNCTION IF EXISTS public.leedz_begin_authenticated(text, text, text, text, text)"
    )
