"""Mailed account links: password reset and email verification.

Both links carry a single-use bearer secret (`lzp_…` reset, `lzv_…` verification) that exists
only in the mail: `account_tokens` keeps its SHA-256, one per user and purpose, so asking again
replaces it and the previous link dies. A reset request answers the same for every address and
does the same work for each: one statement that issues the token if the user exists (and writes
nothing otherwise), the mail sent after commit in the background (docs/auth.md).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import structlog

from leedz.access.context import Actor, RequestMeta
from leedz.auth import sessions
from leedz.auth.events import EmailVerificationRequested, PasswordResetRequested
from leedz.auth.schemas import PasswordResetConfirmIn
from leedz.auth.trail import audit_everywhere
from leedz.errors import Conflict, LeedzError, NotFound
from leedz.kit import opaque
from leedz.kit.db import Database, Tx
from leedz.kit.passwords import hash_password
from leedz.users.models import AccountTokenPurpose
from leedz.users.repository import AccountTokens, IssuedToken, Users

log = structlog.get_logger("leedz.auth")

RESET_PREFIX = "lzp"
VERIFY_PREFIX = "lzv"
RESET_TTL = timedelta(hours=1)
VERIFY_TTL = timedelta(hours=48)


class InvalidResetToken(LeedzError):
    """Unknown, expired, used and replaced reset tokens all answer this."""

    status, code, title = 400, "invalid_reset_token", "Invalid or expired reset link"


class InvalidVerificationToken(LeedzError):
    """Unknown, expired, used and replaced verification tokens all answer this."""

    status, code, title = 400, "invalid_verification_token", "Invalid or expired verification link"


class EmailAlreadyVerified(Conflict):
    code, title = "email_already_verified", "Email address already verified"


def _link(web_url: str, path: str, token: str) -> str:
    return f"{web_url.rstrip('/')}/{path}/{token}"


async def request_password_reset(db: Database, email: str, *, web_url: str) -> None:
    """Mail a reset link to `email` if it is a user's; the same work and answer either way."""
    # The token is made and hashed before knowing whether the address exists.
    token = opaque.new_secret(RESET_PREFIX)
    async with db.transaction() as tx:
        issued = await AccountTokens(tx).issue_for_email(
            email, AccountTokenPurpose.RESET_PASSWORD, opaque.token_digest(token), RESET_TTL
        )
        if issued is not None:
            # Delivered after commit, sent in the background (auth/mail.py): no SMTP wait here.
            tx.publish(
                PasswordResetRequested(
                    email=issued.email,
                    reset_url=_link(web_url, "reset-password", token),
                    expires_at=issued.expires_at,
                )
            )


async def reset_password(db: Database, body: PasswordResetConfirmIn, meta: RequestMeta) -> None:
    """Spend the reset token: the new password replaces the old, every session of the user ends
    in every tenant, the address counts as verified (the link was mailed to it); audited."""
    # Hashed first, holding no connection (as a sign-up does); an invalid token costs the same.
    password_hash = await hash_password(body.new_password)
    if not opaque.has_prefix(RESET_PREFIX, body.token):
        raise InvalidResetToken("The reset link is not valid (or no longer): ask for a new one")
    async with db.transaction() as tx:
        user_id = await AccountTokens(tx).spend(
            opaque.token_digest(body.token), AccountTokenPurpose.RESET_PASSWORD
        )
        if user_id is None:
            raise InvalidResetToken("The reset link is not valid (or no longer): ask for a new one")
        await tx.set_context(tenant_id=None, user_id=user_id)
        users = Users(tx)
        # Locked like a password change: a sign-in verifying the old password meanwhile either
        # committed first (its session is ended below) or finds the hash replaced.
        await users.by_id(user_id, lock=True)
        await users.set_password(user_id, password_hash)
        await users.mark_email_verified(user_id)
        await sessions.end_all_sessions(tx, user_id=user_id, reason="password_reset")
        await audit_everywhere(tx, user_id, "auth.password_reset", meta)
        log.info("password_reset", user_id=str(user_id))


async def _issue_verification(tx: Tx, user_id: UUID, *, web_url: str) -> IssuedToken | None:
    token = opaque.new_secret(VERIFY_PREFIX)
    issued = await AccountTokens(tx).issue_for_user(
        user_id, AccountTokenPurpose.VERIFY_EMAIL, opaque.token_digest(token), VERIFY_TTL
    )
    if issued is not None:
        tx.publish(
            EmailVerificationRequested(
                email=issued.email,
                verify_url=_link(web_url, "verify-email", token),
                expires_at=issued.expires_at,
            )
        )
    return issued


async def send_verification(tx: Tx, user_id: UUID, *, web_url: str) -> None:
    """A verification link for the user's address, mailed after commit (sign-up)."""
    await _issue_verification(tx, user_id, web_url=web_url)


async def resend_verification(tx: Tx, actor: Actor, *, web_url: str) -> None:
    """A new verification link for the signed-in user (the previous one dies)."""
    user = await Users(tx).by_id(actor.user_id)
    if user is None:
        raise NotFound("User not found")
    if user.email_verified:
        raise EmailAlreadyVerified("Your email address is already verified")
    await _issue_verification(tx, actor.user_id, web_url=web_url)


async def verify_email(tx: Tx, raw_token: str, meta: RequestMeta) -> None:
    """Spend the verification token: the user's address counts as verified; audited."""
    if not opaque.has_prefix(VERIFY_PREFIX, raw_token):
        raise InvalidVerificationToken("The verification link is not valid (or no longer)")
    user_id = await AccountTokens(tx).spend(
        opaque.token_digest(raw_token), AccountTokenPurpose.VERIFY_EMAIL
    )
    if user_id is None:
        raise InvalidVerificationToken("The verification link is not valid (or no longer)")
    if await Users(tx).mark_email_verified(user_id):
        await audit_everywhere(tx, user_id, "auth.email_verified", meta)
