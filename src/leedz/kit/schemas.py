"""Base of every API schema: camelCase on the wire (the clients are TypeScript), snake_case here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Responses (and shared shapes): unknown attributes of the source are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class ApiIn(ApiModel):
    """Request bodies: an unknown field is a 422, never silently dropped."""

    model_config = ConfigDict(extra="forbid")
