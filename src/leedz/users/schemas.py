from __future__ import annotations

from datetime import datetime
from uuid import UUID

from leedz.kit.schemas import ApiModel


class UserOut(ApiModel):
    id: UUID
    email: str
    name: str
    avatar_url: str | None
    created_at: datetime
    # The user proved they receive mail at `email` (docs/auth.md, "Email verification").
    email_verified: bool
