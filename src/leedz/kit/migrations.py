"""Alembic, driven from code: `leedz db upgrade|downgrade|current|revision` and the test suite."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

FILE_TEMPLATE = "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"


def migrations_dir() -> Path:
    """`migrations/` of the source tree, or of the working directory (the Docker image)."""
    candidates = [Path(__file__).resolve().parents[3] / "migrations", Path.cwd() / "migrations"]
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("migrations/ not found next to the source tree or in the working dir")


def alembic_config(url: str | None = None, *, app_role: str = "leedz_app") -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    config.attributes["url"] = url
    config.attributes["app_role"] = app_role
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migration found")
    return head


def upgrade(url: str, *, app_role: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url, app_role=app_role), revision)


def downgrade(url: str, *, app_role: str, revision: str) -> None:
    command.downgrade(alembic_config(url, app_role=app_role), revision)


def current(url: str, *, app_role: str) -> None:
    command.current(alembic_config(url, app_role=app_role), verbose=True)


def revision(message: str, *, url: str | None, autogenerate: bool, app_role: str) -> None:
    command.revision(
        alembic_config(url, app_role=app_role), message=message, autogenerate=autogenerate
    )
