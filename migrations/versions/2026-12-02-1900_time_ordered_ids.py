"""Time-ordered ids (UUIDv7) for leads, their timeline entries and evidence.

A random UUIDv4 puts each new row's id on a random page of every B-tree keyed by it: in a
tenant of a million leads those pages are mostly out of the buffer cache, so each insert read
one per index (`leads`' primary key and `(tenant_id, id)`, `lead_search`'s key, the indexes
and foreign-key checks of `lead_keys`, `lead_activities` and `import_rows` by lead). A UUIDv7
(RFC 9562: Unix milliseconds, then random bits) puts it at the index's right edge, where the
pages are hot. The app makes these ids itself (kit/ids.py); `leedz_uuid7()` is the same layout
for the rows PostgreSQL 15 creates by default (PostgreSQL 18's `uuidv7()` does the same):
gen_random_uuid()'s random bits, the first 48 overwritten with the time in milliseconds, the
version nibble turned from 4 into 7 (bits 52 and 53 set). Existing ids are kept.

Revision ID: 20261202_1900
Revises: 20261202_0900
Create Date: 2026-12-02 19:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261202_1900"
down_revision: str | None = "20261202_0900"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("leads", "lead_activities", "evidence")


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION leedz_uuid7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE"
        " AS $$ SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())"
        " PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint)"
        " FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid $$"
    )
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT leedz_uuid7()")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT gen_random_uuid()")
    op.execute("DROP FUNCTION leedz_uuid7()")
