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
    LEADS_READ = "leads:read"
    LEADS_WRITE = "leads:write"
    LEADS_ASSIGN = "leads:assign"
    LEADS_DELETE = "leads:delete"
    LEADS_MERGE = "leads:merge"
    LEADS_IMPORT = "leads:import"
    LEADS_EXPORT = "leads:export"
    # Lists the member created; `lists:manage` is every list of the tenant.
    LISTS_MANAGE_OWN = "lists:manage_own"
    LISTS_MANAGE = "lists:manage"


# Highest first: a role outranks every role after it.
ROLE_ORDER: tuple[Role, ...] = (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SALES)

_SALES = {
    Permission.TENANT_READ,
    Permission.MEMBERS_READ,
    Permission.JOBS_READ,
    Permission.JOBS_CREATE,
    Permission.AGENTS_READ,
    Permission.AGENTS_REGISTER,
    Permission.LEADS_READ,
    Permission.LEADS_WRITE,
    Permission.LISTS_MANAGE_OWN,
}
_MANAGER = _SALES | {
    Permission.USAGE_READ,
    Permission.MEMBERS_INVITE,
    Permission.INVITES_READ,
    Permission.INVITES_MANAGE,
    Permission.JOBS_CANCEL,
    Permission.AGENTS_REVOKE,
    Permission.LEADS_ASSIGN,
    Permission.LEADS_DELETE,
    Permission.LEADS_MERGE,
    Permission.LEADS_IMPORT,
    Permission.LEADS_EXPORT,
    Permission.LISTS_MANAGE,
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
