"""Base of every API schema: camelCase on the wire (the clients are TypeScript), snake_case here."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
)
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Responses (and shared shapes): unknown attributes of the source are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class ApiIn(ApiModel):
    """Request bodies: an unknown field is a 422, never silently dropped; text with control
    characters (NUL, which PostgreSQL cannot store, among them) is a 422 too."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: object) -> object:
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError("control characters are not allowed")
        return value


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _non_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


DisplayName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_non_blank)]
"""A person's or a tenant's name: 1-200 characters, trimmed, never blank."""


def normalize_email(value: str) -> str:
    """The form an address is compared and stored in: NFKC (fullwidth U+FF41 is an `a`), trimmed,
    lower-cased. Sign-up, sign-in and invites all compare addresses in this form."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def _nfkc(value: object) -> object:
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


Email = Annotated[
    EmailStr, BeforeValidator(_nfkc), Field(max_length=320), AfterValidator(normalize_email)
]
"""An e-mail address, validated (email-validator), in `normalize_email`'s form."""
