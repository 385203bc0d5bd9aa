"""Permissions are data: one enum and one role → permissions map, the single source of truth.

`GET /v1/permissions` exposes the map to the front end; `require(Permission.X)` guards endpoints.
"""

from __future__ import annotations

import enum

from leedz.access.roles import Role


class Permission(enum.StrEnum):
    TENANT_READ = "tenant:read"
    TENANT_UPDATE = "tenant:update"
    USAGE_READ = "usage:read"
    MEMBERS_READ = "members:read"
    MEMBERS_INVITE = "members:invite"
    MEMBERS_UPDATE_ROLE = "members:update_role"
    MEMBERS_REMOVE = "members:remove"
    INVITES_READ = "invites:read"
    INVITES_MANAGE = "invites:manage"
    AUDIT_READ = "audit:read"
    JOBS_READ = "jobs:read"
    JOBS_CREATE = "jobs:create"
    JOBS_CANCEL = "jobs:cancel"
    AGENTS_READ = "agents:read"
    AGENTS_REGISTER = "agents:register"
    AGENTS_REVOKE = "agents:revoke"


# Highest first: a role outranks every role after it.
ROLE_ORDER: tuple[Role, ...] = (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SALES)

_SALES = {
    Permission.TENANT_READ,
    Permission.MEMBERS_READ,
    Permission.JOBS_READ,
    Permission.JOBS_CREATE,
    Permission.AGENTS_READ,
    Permission.AGENTS_REGISTER,
}
_MANAGER = _SALES | {
    Permission.USAGE_READ,
    Permission.MEMBERS_INVITE,
    Permission.INVITES_READ,
    Permission.INVITES_MANAGE,
    Permission.JOBS_CANCEL,
    Permission.AGENTS_REVOKE,
}
_ADMIN = _MANAGER | {
    Permission.TENANT_UPDATE,
    Permission.MEMBERS_UPDATE_ROLE,
    Permission.MEMBERS_REMOVE,
    Permission.AUDIT_READ,
}
_OWNER = set(_ADMIN)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(_OWNER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.MANAGER: frozenset(_MANAGER),
    Role.SALES: frozenset(_SALES),
}


def rank(role: Role) -> int:
    """0 for OWNER, growing downwards: a smaller rank is a higher role."""
    return ROLE_ORDER.index(role)


def outranks_or_equals(actor: Role, other: Role) -> bool:
    return rank(actor) <= rank(other)


def permissions_of(role: Role) -> list[str]:
    return sorted(p.value for p in ROLE_PERMISSIONS[role])
