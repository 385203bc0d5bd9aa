from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from leedz.access.roles import Role
from leedz.kit.schemas import ApiIn, ApiModel, DisplayName, Email
from leedz.tenants.schemas import TenantOut
from leedz.users.schemas import UserOut

# NIST SP 800-63B: at least 8 characters, allow long passphrases; 128 caps the hashing cost.
Password = Field(min_length=8, max_length=128)


class SignupIn(ApiIn):
    email: Email
    password: str = Password
    name: DisplayName
    tenant_name: DisplayName | None = None
    invite_token: str | None = Field(default=None, max_length=200)


class LoginIn(ApiIn):
    email: Email
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(ApiIn):
    refresh_token: str = Field(min_length=1, max_length=200)


class PasswordChangeIn(ApiIn):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Password


class SwitchTenantIn(ApiIn):
    tenant_id: UUID


class PasswordResetIn(ApiIn):
    email: Email


class PasswordResetConfirmIn(ApiIn):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Password


class EmailVerificationIn(ApiIn):
    token: str = Field(min_length=1, max_length=200)


class Accepted(ApiModel):
    """A request taken on; what follows happens by mail."""

    status: Literal["accepted"] = "accepted"


class Tokens(ApiModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, no secret
    expires_in: int
    user: UserOut
    tenant: TenantOut


class MembershipOut(ApiModel):
    tenant: TenantOut
    role: Role


class MeOut(ApiModel):
    user: UserOut
    tenant: TenantOut
    role: Role
    permissions: list[str]
    memberships: list[MembershipOut]
