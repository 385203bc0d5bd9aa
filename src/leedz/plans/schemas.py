from __future__ import annotations

from datetime import date
from typing import Any

from leedz.kit.schemas import ApiModel


class PlanOut(ApiModel):
    name: str
    display_name: str
    price: int
    max_users: int | None
    max_leads: int | None
    max_searches: int | None
    max_messages: int | None
    features: dict[str, Any]


class UsageCounts(ApiModel):
    users: int | None
    leads: int | None
    searches: int | None
    messages: int | None


class Usage(ApiModel):
    plan: str
    period: date
    used: UsageCounts
    limits: UsageCounts
