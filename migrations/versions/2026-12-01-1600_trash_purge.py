"""The trash purge: a role that sees, and may delete, only leads long in the trash.

Leads in the trash (`deleted_at` set) are deleted for good once older than the retention
(LEEDZ_TRASH_RETENTION_DAYS, 30 by default); their keys, timeline, list memberships, evidence
links and merge records go with them (foreign keys ON DELETE CASCADE). The purge is a system
task, across tenants, which the request role cannot do (no tenant set: no row).

It runs as `<app role>_purger`, a NOLOGIN role without BYPASSRLS, granted SELECT and DELETE on
`leads` alone (the cascades run as the tables' owner and need no grant). Two policies of its
own:

- `trash_purge_select`, `trash_purge_delete` (PERMISSIVE): show every tenant's leads trashed
  more than a day ago. The retention itself is the task's: it adds `deleted_at < now() - <retention>`, a
  parameter. Whatever that parameter (or any other SQL run as this role) says, the policy
  never shows a live lead nor one trashed within the last day.
- `trash_purge_only` (RESTRICTIVE, every command): the same condition, ANDed with every other
  policy for this role, so that setting `app.current_tenant_id` (which opens a tenant's rows
  through `tenant_isolation`, a policy for every role) opens no live lead to it either; its
  WITH CHECK refuses any row written, should the role ever be granted more.

`sales_visibility` now applies to the request role only, whose transactions it was written for:
its function reads memberships and tenants, which the purger may not read (and need not: it
acts for no member).

Revision ID: 20261201_1600
Revises: 20261201_1500
Create Date: 2026-12-01 16:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from leedz.kit import rls

revision: str = "20261201_1600"
down_revision: str | None = "20261201_1500"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The floor no retention goes below (Settings.trash_retention_days is at least 1 too).
LONG_IN_TRASH = "deleted_at IS NOT NULL AND deleted_at < now() - interval '1 day'"


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:
    app_role = _app_role()
    purger = f"{app_role}_purger"
    for statement in rls.create_app_role(purger):
        op.execute(statement)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {purger}")
    op.execute(f"GRANT SELECT, DELETE ON leads TO {purger}")
    for command in ("SELECT", "DELETE"):
        op.execute(
            f"CREATE POLICY trash_purge_{command.lower()} ON leads AS PERMISSIVE FOR {command}"
            f" TO {purger} USING ({LONG_IN_TRASH})"
        )
    op.execute(
        f"CREATE POLICY trash_purge_only ON leads AS RESTRICTIVE FOR ALL TO {purger}"
        f" USING ({LONG_IN_TRASH}) WITH CHECK (false)"
    )
    op.execute(f"ALTER POLICY sales_visibility ON leads TO {app_role}")


def downgrade() -> None:
    purger = f"{_app_role()}_purger"
    op.execute("ALTER POLICY sales_visibility ON leads TO PUBLIC")
    for name in ("trash_purge_only", "trash_purge_delete", "trash_purge_select"):
        op.execute(f"DROP POLICY IF EXISTS {name} ON leads")
    for statement in rls.drop_app_role(purger):
        op.execute(statement)
