"""Base of every API schema: camelCase on the wire (the clients are TypeScript), snake_case here."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
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


URL_MAX_LENGTH = 2048
_HTTP_URL = TypeAdapter(AnyHttpUrl)


def http_url(value: str) -> str:
    """An absolute http(s) URL, normalized (punycode host, percent-encoded path), without
    credentials: a user name or password in a URL is a secret on its way into a column, a log
    and a CSV export (issue 12, item 9)."""
    try:
        url = _HTTP_URL.validate_python(value.strip())
    except ValidationError as exc:
        raise ValueError("must be an absolute http or https URL") from exc
    if url.username is not None or url.password is not None:
        raise ValueError("must not carry a user name or password")
    text = str(url)
    # Percent-encoding can lengthen it past the column.
    if len(text) > URL_MAX_LENGTH:
        raise ValueError(f"must be at most {URL_MAX_LENGTH} characters once normalized")
    return text


HttpUrlText = Annotated[str, Field(max_length=URL_MAX_LENGTH), AfterValidator(http_url)]
"""An absolute http(s) URL without credentials, normalized, at most 2,048 characters."""
