"""Access tokens: HS256 JWTs with an algorithm allow-list, `kid` and a previous key for rotation.

Claims: `sub` (user id), `tid` (tenant id), `jti`, `typ` ("access"), `iss`, `aud`, `iat`, `nbf`,
`exp`. The `kid` is derived from the secret (first 16 hex digits of its SHA-256), so rotating the
secret rotates the kid; tokens signed with `LEEDZ_JWT_PREVIOUS_SECRET` stay valid until expiry.

PyJWT checks the header and the signature; every claim is then checked here, its type first, in
the exact shape `issue()` writes (canonical UUID strings, integer times, the constant strings): a
validly signed token with any other shape is `TokenError("malformed claims")`, never an exception
of another kind, and never "expired" (that is only for a well-formed `exp` in the past).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import jwt

if TYPE_CHECKING:
    from jwt.types import Options

ALGORITHM = "HS256"
ISSUER = "leedz"
AUDIENCE = "leedz-api"
ACCESS_TOKEN_TTL = timedelta(minutes=15)
LEEWAY_SECONDS = 5
MAX_HEADER_SEGMENT = 512
# Integer seconds from 0 to 9999-12-31T23:59:59Z: any datetime can hold them.
MAX_NUMERIC_DATE = 253_402_300_799
# Signature only: the claims are checked by _claims_of(), types before values.
_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": [],
}


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
            try:
                _check_times(cached, time.time())
            except TokenError as exc:
                if exc.expired:
                    del self._verified[token]
                raise
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
            payload = jwt.decode(token, secret, algorithms=[ALGORITHM], options=_SIGNATURE_ONLY)
        except jwt.PyJWTError as exc:
            raise TokenError(type(exc).__name__) from exc
        claims = _claims_of(payload)
        _check_times(claims, time.time())
        return claims


def _claims_of(payload: dict[str, Any]) -> AccessClaims:
    """The claims of a validly signed payload, if each has exactly the shape issue() writes."""
    for name, expected in (("typ", "access"), ("iss", ISSUER), ("aud", AUDIENCE)):
        value = payload.get(name)
        if not isinstance(value, str) or value != expected:
            raise TokenError("not an access token" if name == "typ" else f"wrong {name}")
    issued_at = _time_claim(payload, "iat")
    not_before = _time_claim(payload, "nbf")
    expires = _time_claim(payload, "exp")
    if not issued_at <= not_before < expires:
        raise TokenError("malformed claims")
    return AccessClaims(
        user_id=_uuid_claim(payload, "sub"),
        tenant_id=_uuid_claim(payload, "tid"),
        token_id=_uuid_claim(payload, "jti"),
        not_before=not_before,
        expires=expires,
    )


def _uuid_claim(payload: dict[str, Any], name: str) -> UUID:
    value = payload.get(name)
    if not isinstance(value, str) or len(value) != 36:
        raise TokenError("malformed claims")
    try:
        parsed = UUID(value)
    except ValueError as exc:
        raise TokenError("malformed claims") from exc
    if str(parsed) != value:  # issue() writes the canonical form; nothing else was issued here
        raise TokenError("malformed claims")
    return parsed


def _time_claim(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    # type() rather than isinstance(): JSON `true` is a bool, and bool is an int to Python.
    if type(value) is not int or not 0 <= value <= MAX_NUMERIC_DATE:
        raise TokenError("malformed claims")
    return value


def _check_times(claims: AccessClaims, now: float) -> None:
    """PyJWT's rules, with the same leeway: expired at `exp`, valid from `nbf` (>= `iat`)."""
    if claims.expires <= now - LEEWAY_SECONDS:
        raise TokenError("expired", expired=True)
    if claims.not_before > now + LEEWAY_SECONDS:
        raise TokenError("not yet valid")
