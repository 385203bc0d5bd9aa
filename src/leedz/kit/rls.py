"""Row-level security DDL, used by migrations (and only by them).

The policy expressions are the contract of tenant isolation: a row is visible and writable
only when its tenant is the one the transaction set with
`set_config('app.current_tenant_id', ..., true)`.
No tenant set means NULL, and `tenant_id = NULL` is never true: zero rows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

CURRENT_TENANT = "NULLIF(current_setting('app.current_tenant_id', true), '')::uuid"
CURRENT_USER = "NULLIF(current_setting('app.current_user_id', true), '')::uuid"


def enable_tenant_isolation(table: str, column: str = "tenant_id") -> list[str]:
    """ENABLE and FORCE RLS on `table` with one policy for every command."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} AS PERMISSIVE FOR ALL"
        f" USING ({column} = {CURRENT_TENANT}) WITH CHECK ({column} = {CURRENT_TENANT})",
    ]


def disable_tenant_isolation(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def configured_app_role(attributes: Mapping[str, Any] | None) -> str:
    """The request role a migration grants to: `leedz db …` passes it in the Alembic config's
    attributes; plain `alembic` falls back to LEEDZ_DB_APP_ROLE, then `leedz_app`."""
    role = (attributes or {}).get("app_role") or os.environ.get("LEEDZ_DB_APP_ROLE", "leedz_app")
    if not str(role).isidentifier():
        raise ValueError(f"invalid role name {role!r}")
    return str(role)


def create_app_role(role: str) -> list[str]:
    """Create the restricted request role once per cluster, and let the migrating owner use it.

    NOLOGIN, NOSUPERUSER, NOBYPASSRLS: the owner switches to it per transaction (SET LOCAL ROLE).
    Roles are cluster-wide, so several databases (test runs) may share it: creation tolerates it.
    """
    return [
        f"""
DO $$
BEGIN
    CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$""",
        f"GRANT {role} TO CURRENT_USER",
    ]


def drop_app_role(role: str) -> list[str]:
    """Revoke what this database granted, then drop the role if no other database uses it."""
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON SCHEMA public FROM {role}",
        f"""
DO $$
BEGIN
    DROP ROLE {role};
EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege OR undefined_object THEN
    NULL;
END
$$""",
    ]
