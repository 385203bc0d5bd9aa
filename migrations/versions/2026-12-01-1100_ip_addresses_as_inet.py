"""Client addresses as `inet`: `audit_logs.ip_address` and `refresh_tokens.ip_address`.

They were `varchar(64)` holding whatever uvicorn took from `X-Forwarded-For`: a 65-character
entry made the audited write fail, markup was stored verbatim. Addresses are now parsed before
they are stored (kit/clientip.py) and the column accepts nothing else.

Existing values that are not addresses (`unknown`, junk) become NULL.

Revision ID: 20261201_1100
Revises: 20261201_1000
Create Date: 2026-12-01 11:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_1100"
down_revision: str | None = "20261201_1000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("audit_logs", "ip_address"), ("refresh_tokens", "ip_address"))


def upgrade() -> None:
    # PostgreSQL 15 has no pg_input_is_valid: a cast that swallows its own failure, for this
    # migration only.
    op.execute(
        """
CREATE FUNCTION pg_temp.leedz_as_inet(value text) RETURNS inet
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN value::inet;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$
"""
    )
    for table, column in COLUMNS:
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN {column} TYPE inet"
            f" USING pg_temp.leedz_as_inet({column})"
        )


def downgrade() -> None:
    for table, column in COLUMNS:
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar(64) USING host({column})"
        )
