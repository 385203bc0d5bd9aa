"""A sign-in's writes in one statement: `leedz_sign_in`.

A sign-in reads the user (`leedz_login_lookup`), verifies the password holding no connection, and
then starts the session. Done as a transaction of its own, that last step took seven round trips
(BEGIN, the scope, the user, the memberships, the audit row, the refresh token, COMMIT); each is
a wake-up of the event loop and of a PostgreSQL backend, on cores that argon2id keeps busy during
a flood of sign-ins (docs/benchmarks.md, login_flood).

`leedz_sign_in(request_role, member, tenant, verified_hash, session, session_digest,
session_expires, client_ip, client_agent, request_ref)` does the usual case in one statement, in
its own implicit transaction: switch to the request role and set tenant and user
(transaction-local, as `leedz_begin_authenticated` does), then, under RLS, only if the user still
has the hash that was verified, `tenant` is still their last tenant and they are still a member
there (the user row locked FOR SHARE: a password change waits for this statement, or wins before
it and the hash no longer matches): write the
`auth.login` audit row and the session's refresh token (a new family), and return the user, the
tenant and the token's creation time. Otherwise it writes nothing and returns no row, and the
caller takes the general path (another tenant, a fresh workspace, a failed attempt).

SECURITY INVOKER with no SET clause, owned by the migrating owner, like the other request
functions.

Revision ID: 20261125_1800
Revises: 20261125_1200
Create Date: 2026-11-25 18:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261125_1800"
down_revision: str | None = "20261125_1200"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = (
    "public.leedz_sign_in(text, uuid, uuid, text, uuid, bytea, timestamptz, text, text, text)"
)


def upgrade() -> None:
    op.execute(
        """
CREATE FUNCTION public.leedz_sign_in(
    request_role text, member uuid, tenant uuid, verified_hash text, session uuid,
    session_digest bytea, session_expires timestamptz, client_ip text, client_agent text,
    request_ref text
) RETURNS TABLE (
    user_email text, user_name text, user_avatar_url text, user_created_at timestamptz,
    tenant_name text, tenant_slug text, tenant_plan text, tenant_created_at timestamptz,
    issued_at timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    started timestamptz;
BEGIN
    PERFORM pg_catalog.set_config('role', request_role, true),
            pg_catalog.set_config('app.current_tenant_id', tenant::text, true),
            pg_catalog.set_config('app.current_user_id', member::text, true);
    -- From here on this transaction runs as the request role: RLS applies to every statement.
    PERFORM 1 FROM public.users u
        JOIN public.memberships m ON m.user_id = u.id AND m.tenant_id = tenant
        WHERE u.id = member AND u.password_hash = verified_hash
          AND u.default_tenant_id = tenant
        FOR SHARE OF u;
    IF NOT FOUND THEN
        RETURN;  -- nothing written: the caller takes the general path
    END IF;
    INSERT INTO public.audit_logs (tenant_id, user_id, event_type, action, entity_type,
                                   entity_id, details, ip_address, user_agent, request_id,
                                   created_at)
    VALUES (tenant, member, 'auth.login', 'login', 'user', member::text, NULL, client_ip,
            client_agent, request_ref, pg_catalog.clock_timestamp());
    INSERT INTO public.refresh_tokens (tenant_id, id, user_id, family_id, parent_id, token_hash,
                                       expires_at, ip_address, user_agent)
    VALUES (tenant, session, member, session, NULL, session_digest, session_expires, client_ip,
            client_agent)
    RETURNING created_at INTO started;
    RETURN QUERY
        SELECT u.email::text, u.name::text, u.avatar_url::text, u.created_at,
               t.name::text, t.slug::text, p.name::text, t.created_at, started
        FROM public.users u
        CROSS JOIN public.tenants t
        LEFT JOIN public.plans p ON p.id = t.plan_id
        WHERE u.id = member AND t.id = tenant;
END
$$
"""
    )


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
