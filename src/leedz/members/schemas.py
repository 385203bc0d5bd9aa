from __future__ import annotations

from datetime import datetime

from leedz.access.roles import Role
from leedz.kit.schemas import ApiIn, ApiModel
from leedz.users.schemas import UserOut


class MemberOut(ApiModel):
    user: UserOut
    role: Role
    joined_at: datetime


class RoleChange(ApiIn):
    role: Role
