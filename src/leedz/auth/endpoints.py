from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from leedz.access.context import CurrentActor, Meta, TenantTx
from leedz.auth import accounts, recovery, sessions
from leedz.auth.schemas import (
    Accepted,
    EmailVerificationIn,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    SignupIn,
    SwitchTenantIn,
    Tokens,
)
from leedz.auth.sessions import AuthKeys
from leedz.kit.db import PublicTx, database
from leedz.kit.deps import rate_limited, settings_of
from leedz.kit.ratelimit import RateLimits

router = APIRouter(prefix="/auth", tags=["auth"])


async def _keys(request: Request) -> AuthKeys:
    keys: AuthKeys = request.app.state.auth_keys
    return keys


Keys = Annotated[AuthKeys, Depends(_keys)]


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    dependencies=[rate_limited("rate_limit_signup", "signup")],
)
async def signup(body: SignupIn, request: Request, keys: Keys, meta: Meta) -> Tokens:
    """Create an account (and a tenant, unless an invite token joins one); returns tokens."""
    # No request transaction here: the service hashes first, then opens its own (accounts.signup).
    return await accounts.signup(
        database(request), keys, body, meta, web_url=settings_of(request).web_url
    )


@router.post("/login", dependencies=[rate_limited("rate_limit_login_ip", "login-ip")])
async def login(body: LoginIn, request: Request, keys: Keys, meta: Meta) -> Tokens:
    """Sign in with email and password."""
    # Counted here, not in a dependency: a dependency declaring the body validates it again.
    limits: RateLimits = request.app.state.rate_limits
    await limits.hit(settings_of(request).rate_limit_login_email, "login-email", body.email)
    # No request transaction here: the password is verified holding no connection (accounts.login).
    return await accounts.login(database(request), keys, body, meta)


@router.post("/refresh", dependencies=[rate_limited("rate_limit_refresh", "refresh")])
async def refresh(body: RefreshIn, tx: PublicTx, keys: Keys, meta: Meta) -> Tokens:
    """Exchange a refresh token for a new pair (the old refresh token is spent)."""
    return await sessions.refresh(tx, keys, body.refresh_token, meta)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[rate_limited("rate_limit_refresh", "refresh")],
)
async def logout(body: RefreshIn, tx: PublicTx, meta: Meta) -> None:
    """End the session the refresh token belongs to."""
    await sessions.logout(tx, body.refresh_token, meta)


@router.get("/me")
async def get_me(tx: TenantTx, actor: CurrentActor) -> MeOut:
    """The signed-in user, the current tenant, role, permissions and all memberships."""
    return await accounts.me(tx, actor)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChangeIn, tx: TenantTx, actor: CurrentActor, request: Request
) -> None:
    """Change the password; every other session of the user ends."""
    # Guessing the current password with a stolen access token is limited like sign-in.
    limits: RateLimits = request.app.state.rate_limits
    await limits.hit(settings_of(request).rate_limit_login_email, "password", str(actor.user_id))
    await accounts.change_password(tx, actor, body)


@router.post("/switch-tenant")
async def switch_tenant(
    body: SwitchTenantIn, tx: TenantTx, actor: CurrentActor, keys: Keys
) -> Tokens:
    """Tokens scoped to another tenant the user belongs to."""
    return await accounts.switch_tenant(tx, keys, actor, body.tenant_id)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[rate_limited("rate_limit_reset_ip", "password-reset-ip")],
)
async def request_password_reset(body: PasswordResetIn, request: Request) -> Accepted:
    """Mail a reset link if the address is a user's; the same answer (and work) if it is not."""
    # Counted here, not in a dependency: a dependency declaring the body validates it again.
    settings = settings_of(request)
    limits: RateLimits = request.app.state.rate_limits
    await limits.hit(settings.rate_limit_reset_email, "password-reset-email", body.email)
    # The service opens its own transaction: a limited request never takes a connection.
    await recovery.request_password_reset(database(request), body.email, web_url=settings.web_url)
    return Accepted()


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[rate_limited("rate_limit_account_link", "account-link")],
)
async def confirm_password_reset(
    body: PasswordResetConfirmIn, request: Request, meta: Meta
) -> None:
    """Set a new password with a reset link's token; every session of the user ends."""
    # No request transaction here: the new password is hashed first (recovery.reset_password).
    await recovery.reset_password(database(request), body, meta)


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[rate_limited("rate_limit_account_link", "account-link")],
)
async def verify_email(body: EmailVerificationIn, tx: PublicTx, meta: Meta) -> None:
    """Mark the address verified with a verification link's token (no sign-in needed)."""
    await recovery.verify_email(tx, body.token, meta)


@router.post("/verify-email/resend", status_code=status.HTTP_202_ACCEPTED)
async def resend_verification_email(
    tx: TenantTx, actor: CurrentActor, request: Request
) -> Accepted:
    """Mail a new verification link to the signed-in user (the previous link dies)."""
    settings = settings_of(request)
    limits: RateLimits = request.app.state.rate_limits
    await limits.hit(settings.rate_limit_verify_resend, "verify-resend", str(actor.user_id))
    await recovery.resend_verification(tx, actor, web_url=settings.web_url)
    return Accepted()
