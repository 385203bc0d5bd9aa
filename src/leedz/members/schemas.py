from __future__ import annotations

from datetime import datetime

from leedz.auth.schemas import UserOut
from leedz.kit.schemas import ApiIn, ApiModel
from leedz.members.models import Role


class MemberOut(ApiModel):
    user: UserOut
    role: Role
    joined_at: datetime


class RoleChange(ApiIn):
    role: Role
