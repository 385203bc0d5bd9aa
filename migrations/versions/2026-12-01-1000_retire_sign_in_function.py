"""Retire `leedz_sign_in`: a sign-in takes one path again.

`leedz_sign_in` (revision 20261125_1800) did the usual sign-in's writes in one statement, beside
the Python path that handles every other case. It re-implemented the audit insert, the
refresh-token insert and the membership check in PL/pgSQL for a login_flood ratio that did not
move, and two paths that must write the same rows can drift apart. Sign-in now always runs
`auth/accounts.py`'s one transaction.

The downgrade creates the function again, from the revision that introduced it.

Revision ID: 20261201_1000
Revises: 20261125_1800
Create Date: 2026-12-01 10:00:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "20261201_1000"
down_revision: str | None = "20261125_1800"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _introduced() -> ModuleType:
    path = Path(__file__).with_name("2026-11-25-1800_sign_in_function.py")
    spec = importlib.util.spec_from_file_location("leedz_migration_20261125_1800", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"revision 20261125_1800 is missing: {path.name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {_introduced().SIGNATURE}")


def downgrade() -> None:
    _introduced().upgrade()
