from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

from pydantic import Field, field_validator

from leedz.access.roles import Role
from leedz.kit.schemas import ApiIn, ApiModel, DisplayName

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,98}[a-z0-9])$")


class TenantOut(ApiModel):
    id: UUID
    name: str
    slug: str
    plan: str | None
    created_at: datetime


class TenantWithRole(TenantOut):
    role: Role


def workspace_name(person: str) -> str:
    """The default tenant name for `person`, within the tenant name limit."""
    suffix = "'s workspace"
    return person[: 200 - len(suffix)].rstrip() + suffix


class TenantCreate(ApiIn):
    name: DisplayName
    slug: str | None = Field(default=None, min_length=3, max_length=100)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.match(value):
            raise ValueError("lower-case letters, digits and dashes, 3-100 characters")
        return value


class TenantUpdate(ApiIn):
    name: DisplayName | None = None
