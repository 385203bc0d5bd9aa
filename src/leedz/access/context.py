"""Who is calling, already verified, and the transaction that runs on their behalf."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request

from leedz.access.permissions import ROLE_PERMISSIONS, Permission
from leedz.access.repository import begin_member_session, email_verified
from leedz.access.roles import Role
from leedz.errors import Forbidden, Unauthorized
from leedz.kit.db import Connection, Scope, Tx, database
from leedz.kit.deps import client_ip, settings_of
from leedz.kit.jwt import AccessTokens, TokenError


class InvalidToken(Unauthorized):
    code, title = "invalid_token", "Invalid token"


class TokenExpired(Unauthorized):
    code, title = "token_expired", "Token expired"


class EmailNotVerified(Forbidden):
    code, title = "email_not_verified", "Email address not verified"


class MemberSession:
    """A signed-in user's transaction's first statement: the scope, then the user's role in the
    tenant, read as the request role under RLS (`role` stays None unless a member whose session
    `session_id` is alive)."""

    __slots__ = ("role", "session_id")

    def __init__(self, session_id: UUID) -> None:
        self.session_id = session_id
        self.role: Role | None = None

    async def __call__(self, conn: Connection, scope: Scope) -> None:
        role = await begin_member_session(conn, scope, self.session_id)
        self.role = Role(role) if role is not None else None


@dataclass(frozen=True)
class RequestMeta:
    """Where a call comes from, for audit rows and rate-limit keys."""

    ip: str | None
    user_agent: str | None
    request_id: str | None


@dataclass(frozen=True)
class Actor:
    """A signed-in member of a tenant; role read from the database on this very request."""

    user_id: UUID
    tenant_id: UUID
    role: Role
    token_id: UUID
    meta: RequestMeta

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    tx: Tx


def request_meta(request: Request) -> RequestMeta:
    """Where the call comes from (a plain function: services call it too)."""
    user_agent = request.headers.get("user-agent")
    return RequestMeta(
        ip=client_ip(request),
        user_agent=user_agent[:512] if user_agent else None,
        request_id=request.scope.get("state", {}).get("request_id"),
    )


async def _meta(request: Request) -> RequestMeta:
    # Dependencies are coroutines on purpose: FastAPI runs plain `def` ones in a worker thread.
    return request_meta(request)


Meta = Annotated[RequestMeta, Depends(_meta)]


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        error = Unauthorized("A bearer access token is required")
        error.headers["WWW-Authenticate"] = "Bearer"
        raise error
    return token.strip()


def _token_failure(exc: TokenError) -> Unauthorized:
    error: Unauthorized = (
        TokenExpired("The access token has expired")
        if exc.expired
        else InvalidToken("The access token is not valid")
    )
    error.headers["WWW-Authenticate"] = (
        f'Bearer error="invalid_token", error_description="{error.code}"'
    )
    return error


@asynccontextmanager
async def authenticated(request: Request) -> AsyncIterator[Authenticated]:
    """The caller's transaction, as a dependency gives it, for an endpoint that must not hold
    one for its whole run (an upload opens one to check the caller before reading the body,
    and another to store it)."""
    tokens: AccessTokens = request.app.state.access_tokens
    try:
        claims = tokens.verify(bearer_token(request))
    except TokenError as exc:
        raise _token_failure(exc) from exc
    session = MemberSession(claims.token_id)
    async with database(request).transaction(
        tenant_id=claims.tenant_id, user_id=claims.user_id, first=session
    ) as tx:
        # Membership, role and session are read on every request (by the transaction's first
        # statement): a removed member, a changed role or an ended session take effect at once,
        # whatever the token says.
        if session.role is None:
            raise _token_failure(TokenError("no longer a member"))
        actor = Actor(
            user_id=claims.user_id,
            tenant_id=claims.tenant_id,
            role=session.role,
            token_id=claims.token_id,
            meta=request_meta(request),
        )
        yield Authenticated(actor=actor, tx=tx)


async def _authenticate(request: Request) -> AsyncIterator[Authenticated]:
    async with authenticated(request) as auth:
        yield auth


# One transaction per request, closed before the response is sent (see kit/db.py).
_Authenticated = Annotated[Authenticated, Depends(_authenticate, scope="function")]


async def _actor(auth: _Authenticated) -> Actor:
    return auth.actor


async def _tx(auth: _Authenticated) -> Tx:
    return auth.tx


CurrentActor = Annotated[Actor, Depends(_actor)]
TenantTx = Annotated[Tx, Depends(_tx)]
"""The request's transaction, scoped by RLS to the actor's tenant (and user)."""


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, None]]:
    """A dependency that answers 403 `forbidden`, naming `permission`, when the actor lacks it."""

    # Depends on the authentication itself, not on CurrentActor: one dependency layer less on
    # every guarded request (bench/auth_read.py).
    async def check(auth: _Authenticated) -> None:
        check_permission(auth.actor, permission)

    return check


def check_permission(actor: Actor, permission: Permission) -> None:
    """403 `forbidden`, naming `permission`, when the actor lacks it."""
    if not actor.can(permission):
        raise Forbidden(
            f"Your role ({actor.role.value}) lacks the permission {permission.value}",
            permission=permission.value,
        )


def Require(permission: Permission) -> Any:  # noqa: N802 - reads like a marker in route decorators
    return Depends(require(permission))


async def _verified_email(auth: _Authenticated, request: Request) -> None:
    # Read here, on the few routes that need it, rather than by every request's first statement
    # (`leedz_begin_authenticated`): one indexed read on a few write routes, while the function
    # every authenticated request starts with stays as it is (docs/auth.md).
    if not settings_of(request).verified_email_required:
        return
    if not await email_verified(auth.tx, auth.actor.user_id):
        raise EmailNotVerified(
            "Verify your email address first: follow the link mailed to you"
            " (POST /v1/auth/verify-email/resend sends a new one)"
        )


def RequireVerifiedEmail() -> Any:  # noqa: N802 - a marker in route decorators, like Require
    """A dependency that answers 403 `email_not_verified` while LEEDZ_REQUIRE_VERIFIED_EMAIL is
    on and the signed-in user has not verified their address."""
    return Depends(_verified_email)
