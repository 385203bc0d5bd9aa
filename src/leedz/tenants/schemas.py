from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated, Literal
from uuid import UUID

import phonenumbers
from pydantic import AfterValidator, Field, StrictBool, field_validator

from leedz.access.roles import Role
from leedz.kit.schemas import ApiIn, ApiModel, DisplayName

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,98}[a-z0-9])$")

Language = Literal["ar", "en"]
"""The language of what the server writes for people (exports); `ar` is right to left."""


def _country(value: str) -> str:
    code = value.upper()
    # The regions the phone library has a numbering plan for: what a lead's country is read as.
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


@cache
def _zones() -> frozenset[str]:
    # available_timezones() walks the zone directories on every call.
    return frozenset(zoneinfo.available_timezones())


def _zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"{value!r} is not an IANA time zone name (such as Asia/Riyadh)")
    return value


CountryCode = Annotated[
    str, Field(min_length=2, max_length=2, examples=["SA"]), AfterValidator(_country)
]
"""ISO 3166-1 alpha-2, any case in, upper case out."""

TimeZoneName = Annotated[
    str, Field(min_length=1, max_length=64, examples=["Asia/Riyadh"]), AfterValidator(_zone)
]
"""An IANA time zone name, spelled as the zone database spells it."""


class TenantSettingsOut(ApiModel):
    """How the tenant works: changed with PATCH /v1/tenants/current (OWNER, ADMIN)."""

    default_country: str = Field(
        description="ISO 3166-1 alpha-2, upper case: the country of a phone without a country code"
    )
    timezone: str = Field(description="An IANA time zone name")
    sales_see_all_leads: bool = Field(
        description="False: SALES members see only their own leads and unassigned ones"
    )
    language: Language = Field(
        description="The language of exports and other text the server writes (ar: right to left)"
    )


class TenantOut(ApiModel):
    id: UUID
    name: str
    slug: str
    plan: str | None
    created_at: datetime
    settings: TenantSettingsOut


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


class TenantSettingsUpdate(ApiIn):
    """Any subset of the settings; an absent (or null) one stays as it is."""

    default_country: CountryCode | None = None
    timezone: TimeZoneName | None = None
    # A JSON boolean: "false" or 0 would read as a setting nobody meant to type.
    sales_see_all_leads: StrictBool | None = None
    language: Language | None = None


class TenantUpdate(ApiIn):
    name: DisplayName | None = None
    settings: TenantSettingsUpdate | None = None
