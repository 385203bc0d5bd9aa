"""Application-wide objects handed to endpoints as dependencies (set up by create_app)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, Request

from leedz.config import Settings
from leedz.kit.clientip import ProxyTrust
from leedz.kit.ratelimit import RateLimits


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_ip(request: Request) -> str | None:
    """The caller's address: the peer's, or behind trusted proxies the right-most untrusted
    `X-Forwarded-For` entry (kit/clientip.py); None when the server cannot tell."""
    scope = request.scope
    if _CLIENT_IP not in scope:
        trust: ProxyTrust = request.app.state.proxy_trust
        peer = scope.get("client")
        if not trust.enabled:
            # No proxy trusted: the server's own peer address, already an address (uvicorn).
            scope[_CLIENT_IP] = str(peer[0]) if peer else None
        else:
            scope[_CLIENT_IP] = trust.client(
                str(peer[0]) if peer else None, request.headers.getlist("x-forwarded-for")
            )
    found: str | None = scope[_CLIENT_IP]
    return found


_CLIENT_IP = "leedz.client_ip"


def rate_limited(rule_setting: str, scope: str) -> Any:
    """A route dependency: count the call per client IP under the rule named by `rule_setting`."""

    async def check(request: Request) -> None:
        limits: RateLimits = request.app.state.rate_limits
        key = client_ip(request) or "unknown"
        await limits.hit(getattr(settings_of(request), rule_setting), scope, key)

    checker: Callable[[Request], Coroutine[Any, Any, None]] = check
    return Depends(checker)
