"""Opaque bearer secrets (refresh tokens, invite tokens, agent tokens) that name their tenant.

A token is `<prefix>_<base64url(tenant uuid ‖ 32 random bytes)>`: 256 bits of secret, and the
tenant in clear so the server can open a tenant-scoped transaction before looking the token up —
no query ever searches all tenants for a secret. Only the SHA-256 of the whole token is stored.

Secrets of global rows (a user's password-reset and verification links) name no tenant:
`<prefix>_<base64url(32 random bytes)>` (`new_secret`), stored the same way (`token_digest`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

SECRET_BYTES = 32


@dataclass(frozen=True)
class OpaqueToken:
    value: str
    tenant_id: UUID

    @property
    def digest(self) -> bytes:
        return token_digest(self.value)


def token_digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _build(prefix: str, tenant_id: UUID, secret: bytes) -> OpaqueToken:
    body = base64.urlsafe_b64encode(tenant_id.bytes + secret).decode().rstrip("=")
    return OpaqueToken(value=f"{prefix}_{body}", tenant_id=tenant_id)


def new_token(prefix: str, tenant_id: UUID) -> OpaqueToken:
    return _build(prefix, tenant_id, secrets.token_bytes(SECRET_BYTES))


def derived_token(prefix: str, tenant_id: UUID, *, key: bytes, parent: str) -> OpaqueToken:
    """A token computed from `parent` with a server key: the same parent gives the same child.

    Refresh rotation uses it so that concurrent refreshes of one token inside the grace window
    can all be answered with the same new token, which is never stored in clear.
    """
    secret = hmac.new(key, parent.encode(), hashlib.sha256).digest()
    return _build(prefix, tenant_id, secret)


def new_secret(prefix: str) -> str:
    """`<prefix>_` and 256 random bits, base64url: a bearer secret that names no tenant."""
    return f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def has_prefix(prefix: str, value: str) -> bool:
    """Whether `value` is shaped like a `new_secret(prefix)`: nothing else is worth a lookup."""
    head, sep, body = value.partition("_")
    return bool(sep) and head == prefix and 0 < len(body) <= 128


def parse_token(prefix: str, value: str) -> OpaqueToken | None:
    """The token if it has the right shape, else None (the caller answers as for a wrong token)."""
    head, sep, body = value.partition("_")
    if not sep or head != prefix or len(body) > 128:
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 16 + SECRET_BYTES:
        return None
    return OpaqueToken(value=value, tenant_id=UUID(bytes=raw[:16]))
