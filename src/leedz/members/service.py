"""Members: list, change role, remove, leave — a tenant always keeps at least one OWNER."""

from __future__ import annotations

from uuid import UUID

from leedz.access.context import Actor
from leedz.access.permissions import outranks_or_equals
from leedz.access.roles import Role
from leedz.audit import service as audit
from leedz.errors import Conflict, Forbidden, NotFound
from leedz.kit.db import Tx
from leedz.leads import service as leads
from leedz.members.events import MemberRoleChanged, MembershipEnded
from leedz.members.repository import Memberships
from leedz.members.schemas import MemberOut
from leedz.tenants import service as tenants
from leedz.users.repository import RefreshTokens
from leedz.users.schemas import UserOut


class LastOwner(Conflict):
    code, title = "last_owner", "A tenant keeps at least one owner"


async def list_members(tx: Tx) -> list[MemberOut]:
    """Every member of the tenant with their role and when they joined."""
    rows = await Memberships(tx).listing()
    return [
        MemberOut(user=UserOut.model_validate(r), role=r.role, joined_at=r.joined_at) for r in rows
    ]


async def _target_role(members: Memberships, user_id: UUID) -> Role:
    await tenants.lock_current(members.tx)
    role = await members.role_of(user_id, for_update=True)
    if role is None:
        raise NotFound("No such member")
    return role


async def _ensure_not_last_owner(members: Memberships, current: Role) -> None:
    if current is Role.OWNER and await members.owners_locked() <= 1:
        raise LastOwner("The tenant's last owner cannot be demoted, removed or leave")


async def change_role(tx: Tx, actor: Actor, user_id: UUID, role: Role) -> MemberOut:
    """Give a member another role, within the caller's own rank."""
    members = Memberships(tx)
    current = await _target_role(members, user_id)
    if current is Role.OWNER and actor.role is not Role.OWNER:
        raise Forbidden("Only an owner can change an owner's role", permission="role:owner")
    if not outranks_or_equals(actor.role, role):
        raise Forbidden(f"A {actor.role.value} cannot grant {role.value}", permission="role:grant")
    if role is not Role.OWNER:
        await _ensure_not_last_owner(members, current)
    await members.set_role(user_id, role)
    await audit.record(
        tx,
        "member.role_changed",
        actor=actor,
        entity_type="user",
        entity_id=user_id,
        details={"from": current.value, "to": role.value},
    )
    if role is not current:
        tx.publish(MemberRoleChanged(tenant_id=tx.current_tenant, user_id=user_id, role=role.value))
    return next(m for m in await list_members(tx) if m.user.id == user_id)


async def _leave(tx: Tx, actor: Actor, members: Memberships, user_id: UUID) -> None:
    # Their leads are unassigned first, each with a new version and a timeline entry by
    # `actor`: the foreign key would do it silently.
    await leads.unassign_member(tx, actor, user_id)
    await members.remove(user_id)
    # Their sessions in this tenant end too; access tokens already fail the membership check.
    await RefreshTokens(tx).revoke_user(user_id, "membership_ended", except_family=None)
    tx.publish(MembershipEnded(tenant_id=tx.current_tenant, user_id=user_id))


async def remove(tx: Tx, actor: Actor, user_id: UUID) -> None:
    """Remove a member (an ADMIN cannot remove an OWNER; the last owner stays)."""
    members = Memberships(tx)
    current = await _target_role(members, user_id)
    if current is Role.OWNER and actor.role is not Role.OWNER:
        raise Forbidden("Only an owner can remove an owner", permission="role:owner")
    if not outranks_or_equals(actor.role, current):
        raise Forbidden(f"A {actor.role.value} cannot remove a {current.value}")
    await _ensure_not_last_owner(members, current)
    await _leave(tx, actor, members, user_id)
    await audit.record(
        tx,
        "member.removed",
        actor=actor,
        entity_type="user",
        entity_id=user_id,
        details={"role": current.value},
    )


async def leave(tx: Tx, actor: Actor) -> None:
    """The caller leaves the tenant (not as its last owner)."""
    members = Memberships(tx)
    current = await _target_role(members, actor.user_id)
    await _ensure_not_last_owner(members, current)
    await _leave(tx, actor, members, actor.user_id)
    await audit.record(tx, "member.left", actor=actor, entity_type="user", entity_id=actor.user_id)
