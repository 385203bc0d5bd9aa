"""Access tokens: HS256 JWTs with an algorithm allow-list, `kid` and a previous key for rotation.

Claims: `sub` (user id), `tid` (tenant id), `jti`, `typ` ("access"), `iss`, `aud`, `iat`, `nbf`,
`exp`. The `kid` is derived from the secret (first 16 hex digits of its SHA-256), so rotating the
secret rotates the kid; tokens signed with `LEEDZ_JWT_PREVIOUS_SECRET` stay valid until expiry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

ALGORITHM = "HS256"
ISSUER = "leedz"
AUDIENCE = "leedz-api"
ACCESS_TOKEN_TTL = timedelta(minutes=15)
LEEWAY_SECONDS = 5
MAX_HEADER_SEGMENT = 512
REQUIRED_CLAIMS = ["sub", "tid", "jti", "typ", "iss", "aud", "iat", "nbf", "exp"]


class TokenError(Exception):
    """The token is not acceptable; `reason` says why (for logs and the error code)."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    tenant_id: UUID
    token_id: UUID
    not_before: int = 0
    expires: int = 0


def _header_of(token: str) -> dict[str, Any]:
    """The JOSE header, only to pick the key; PyJWT validates all of it again in decode()."""
    segment = token.split(".", 1)[0]
    # Our headers are ~70 bytes; a bound keeps hostile input (deeply nested JSON) away from the
    # parser.
    if len(segment) > MAX_HEADER_SEGMENT or not segment.startswith("ey"):
        raise TokenError("malformed")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise TokenError("malformed") from exc
    if not isinstance(header, dict):
        raise TokenError("malformed")
    return header


def key_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class AccessTokens:
    """Signs with the current secret; verifies with the current or the previous one.

    A client presents the same access token on every call for up to 15 minutes, so verified
    tokens are remembered (exact token string → claims, LRU-bounded): a repeat skips PyJWT's
    parsing and the HMAC, while the time claims are still checked on every use. The cache
    belongs to this object, so new secrets start with an empty one.
    """

    CACHE_SIZE = 4096

    def __init__(self, secret: str, previous_secret: str | None = None) -> None:
        self._signing = (key_id(secret), secret)
        self._verifying = {key_id(secret): secret}
        if previous_secret:
            self._verifying[key_id(previous_secret)] = previous_secret
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()

    def issue(self, *, user_id: UUID, tenant_id: UUID, token_id: UUID, issued_at: datetime) -> str:
        """A signed token. The same arguments give the same token (used by the refresh grace)."""
        kid, secret = self._signing
        iat = int(issued_at.timestamp())
        payload: dict[str, Any] = {
            "sub": str(user_id),
            "tid": str(tenant_id),
            "jti": str(token_id),
            "typ": "access",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": iat,
            "nbf": iat,
            "exp": iat + int(ACCESS_TOKEN_TTL.total_seconds()),
        }
        return jwt.encode(payload, secret, algorithm=ALGORITHM, headers={"kid": kid})

    def verify(self, token: str) -> AccessClaims:
        cached = self._verified.get(token)
        if cached is not None:
            now = time.time()
            if now > cached.expires + LEEWAY_SECONDS:
                del self._verified[token]
                raise TokenError("expired", expired=True)
            if now < cached.not_before - LEEWAY_SECONDS:
                raise TokenError("not yet valid")
            self._verified.move_to_end(token)
            return cached
        claims = self._verify_fully(token)
        self._verified[token] = claims
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _verify_fully(self, token: str) -> AccessClaims:
        header = _header_of(token)
        if header.get("alg") != ALGORITHM:
            raise TokenError("algorithm not allowed")
        secret = self._verifying.get(str(header.get("kid")))
        if secret is None:
            raise TokenError("unknown key id")
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": REQUIRED_CLAIMS},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("expired", expired=True) from exc
        except jwt.PyJWTError as exc:
            raise TokenError(type(exc).__name__) from exc
        if claims["typ"] != "access":
            raise TokenError("not an access token")
        try:
            return AccessClaims(
                user_id=UUID(claims["sub"]),
                tenant_id=UUID(claims["tid"]),
                token_id=UUID(claims["jti"]),
                not_before=int(claims["nbf"]),
                expires=int(claims["exp"]),
            )
        except (ValueError, TypeError) as exc:
            raise TokenError("malformed claims") from exc
