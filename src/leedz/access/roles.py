"""Tenant roles: a member's rank in a tenant."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """Tenant roles, highest first."""

    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    SALES = "SALES"
