"""The worker of server-run jobs: a checkpoint and a worker on the job, and a discovery role.

- `jobs.checkpoint` (jsonb): what the last committed batch of a server-run job stored
  (jobs/work.py); a worker resuming the job after a crash is handed it. A released lease keeps it.
- `jobs.worker_id` (text): the worker process holding the lease of a server-run job (host, pid
  and a random part; for logs and operators: fencing itself is the lease id). `agent_id` stays
  NULL on those jobs.
- Two checks keep agents and workers apart whatever the code does: a job of a type that is not
  agent-run (IMPORT, EXPORT, REPORT_GENERATE, BULK_*) never has an agent, an agent-run job never
  has a worker; and an agent's capabilities are agent-run types only.
- `<app role>_worker`: a NOLOGIN role without BYPASSRLS that a worker uses to find which tenants
  have server-run jobs waiting, which the request role cannot (no tenant set: no row). It may
  read five columns of `jobs` (tenant, id, type, status, priority, created_at: never an input,
  an output or an error), and a restrictive policy of its own shows it only PENDING jobs of the
  server-run types, even with a tenant set. The claim then runs in the tenant's transaction as
  the request role, under the ordinary tenant policy (FOR UPDATE SKIP LOCKED).

Revision ID: 20261201_1800
Revises: 20261201_1700
Create Date: 2026-12-01 18:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leedz.kit import rls

revision: str = "20261201_1800"
down_revision: str | None = "20261201_1700"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGENT_TYPES = "'SEARCH', 'SURVEY', 'WHATSAPP_SEND', 'WHATSAPP_BULK'"
CHECKS = (
    ("jobs", "agent_runs_agent_types", f"agent_id IS NULL OR type IN ({AGENT_TYPES})"),
    ("jobs", "worker_runs_server_types", f"worker_id IS NULL OR type NOT IN ({AGENT_TYPES})"),
    ("jobs", "worker_id_length", "length(worker_id) <= 200"),
    ("agents", "capabilities_agent_types", f"capabilities <@ ARRAY[{AGENT_TYPES}]::job_type[]"),
)
WAITING_SERVER_JOB = f"status = 'PENDING' AND type NOT IN ({AGENT_TYPES})"
DISCOVERY_COLUMNS = "tenant_id, id, type, status, priority, created_at"


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("checkpoint", postgresql.JSONB(), nullable=True))
    op.add_column("jobs", sa.Column("worker_id", sa.Text(), nullable=True))
    for table, name, condition in CHECKS:
        op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)
    worker = f"{_app_role()}_worker"
    for statement in rls.create_app_role(worker):
        op.execute(statement)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {worker}")
    op.execute(f"GRANT SELECT ({DISCOVERY_COLUMNS}) ON jobs TO {worker}")
    op.execute(
        f"CREATE POLICY worker_discovery ON jobs AS PERMISSIVE FOR SELECT TO {worker}"
        f" USING ({WAITING_SERVER_JOB})"
    )
    op.execute(
        f"CREATE POLICY worker_discovery_only ON jobs AS RESTRICTIVE FOR ALL TO {worker}"
        f" USING ({WAITING_SERVER_JOB}) WITH CHECK (false)"
    )


def downgrade() -> None:
    worker = f"{_app_role()}_worker"
    for name in ("worker_discovery_only", "worker_discovery"):
        op.execute(f"DROP POLICY IF EXISTS {name} ON jobs")
    op.execute(f"REVOKE ALL ON jobs FROM {worker}")
    for statement in rls.drop_app_role(worker):
        op.execute(statement)
    for table, name, _ in CHECKS:
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.drop_column("jobs", "worker_id")
    op.drop_column("jobs", "checkpoint")
