from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from leedz.access.roles import Role
from leedz.invites.models import InviteStatus
from leedz.kit.schemas import ApiIn, ApiModel, Email
from leedz.tenants.schemas import TenantOut


class InviteCreate(ApiIn):
    email: Email
    role: Role = Role.SALES


class InviteOut(ApiModel):
    id: UUID
    email: str
    role: Role
    status: InviteStatus
    inviter_id: UUID
    expires_at: datetime
    created_at: datetime


class InviteWithLink(ApiModel):
    invite: InviteOut
    accept_url: str


class InviteToken(ApiIn):
    token: str = Field(min_length=1, max_length=200)


class InviteLookup(ApiModel):
    tenant_name: str
    inviter_name: str
    email: str
    role: Role
    expires_at: datetime


class MembershipOut(ApiModel):
    tenant: TenantOut
    role: Role
