from __future__ import annotations

from uuid import UUID

from pydantic import Field

from leedz.kit.schemas import ApiModel


class RevertOut(ApiModel):
    """What a revert took back (docs/imports.md, "Revert")."""

    job_id: UUID
    trashed: int = Field(description="leads the import created, now in the trash")
    kept: int = Field(
        description="leads the import created that it left: merged into another lead since,"
        " already in the trash, or purged"
    )
    untagged: int = Field(description="leads the import had tagged that lost those tags")
    unlisted: int = Field(description="leads the import had put on its list, taken off it")
