"""Application-wide objects handed to endpoints as dependencies (set up by create_app)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, Request

from leedz.config import Settings
from leedz.kit.ratelimit import RateLimits


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_ip(request: Request) -> str:
    """The caller's address (behind a proxy: from X-Forwarded-For, via uvicorn's settings)."""
    return request.client.host if request.client else "unknown"


def rate_limited(rule_setting: str, scope: str) -> Any:
    """A route dependency: count the call per client IP under the rule named by `rule_setting`."""

    async def check(request: Request) -> None:
        limits: RateLimits = request.app.state.rate_limits
        await limits.hit(getattr(settings_of(request), rule_setting), scope, client_ip(request))

    checker: Callable[[Request], Coroutine[Any, Any, None]] = check
    return Depends(checker)
