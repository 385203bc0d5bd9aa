"""The plans Leedz sells. `leedz db seed` writes them (idempotently) into `plans`.

Quotas are per tenant: users are members (plus pending invites), leads are stored leads, searches
and messages are counted per calendar month. None means unlimited.
"""

from __future__ import annotations

from typing import Any, TypedDict


class PlanSpec(TypedDict):
    name: str
    display_name: str
    price: int
    max_users: int | None
    max_leads: int | None
    max_searches: int | None
    max_messages: int | None
    features: dict[str, Any]


PLANS: tuple[PlanSpec, ...] = (
    {
        "name": "FREE",
        "display_name": "Free",
        "price": 0,
        "max_users": 3,
        "max_leads": 100,
        "max_searches": 20,
        "max_messages": 0,
        "features": {
            "whatsapp": False,
            "ai_reports": False,
            "bulk_export": False,
            "api_access": False,
            "priority_support": False,
        },
    },
    {
        "name": "STARTER",
        "display_name": "Starter",
        "price": 2900,
        "max_users": 5,
        "max_leads": 2_000,
        "max_searches": 200,
        "max_messages": 500,
        "features": {
            "whatsapp": True,
            "ai_reports": False,
            "bulk_export": True,
            "api_access": False,
            "priority_support": False,
        },
    },
    {
        "name": "PRO",
        "display_name": "Pro",
        "price": 9900,
        "max_users": 20,
        "max_leads": 20_000,
        "max_searches": 2_000,
        "max_messages": 5_000,
        "features": {
            "whatsapp": True,
            "ai_reports": True,
            "bulk_export": True,
            "api_access": True,
            "priority_support": False,
        },
    },
    {
        "name": "ENTERPRISE",
        "display_name": "Enterprise",
        "price": 49900,
        "max_users": None,
        "max_leads": None,
        "max_searches": None,
        "max_messages": None,
        "features": {
            "whatsapp": True,
            "ai_reports": True,
            "bulk_export": True,
            "api_access": True,
            "priority_support": True,
        },
    },
)
