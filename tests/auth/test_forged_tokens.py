"""Every forged, stale or misused token is a 401 — never a 200, never a 500."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from leedz.kit.jwt import AUDIENCE, ISSUER, AccessTokens, TokenError, key_id
from tests.factories.accounts import Account, member, signup

SECRET = "test-secret-" + "x" * 40  # the suite's secret (tests/conftest.py)


def session_of(account: Account) -> str:
    """The jti of the account's real access token: the id of its live session."""
    return str(jwt.decode(account.access, options={"verify_signature": False})["jti"])


def claims_of(account: Account, **overrides: Any) -> dict[str, Any]:
    """Claims that would pass, for `account`'s live session, unless overridden."""
    now = int(time.time())
    claims = {
        "sub": account.user_id,
        "tid": account.tenant_id,
        "jti": session_of(account),
        "typ": "access",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def sign(claims: dict[str, Any], *, key: str = SECRET, kid: str | None = None) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid or key_id(key)})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture
async def account(client: httpx.AsyncClient) -> Account:
    return await signup(client)


async def me_status(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/v1/auth/me", headers={"authorization": f"Bearer {token}"})


class TestForgedTokens:
    async def test_a_genuine_token_passes(
        self, client: httpx.AsyncClient, account: Account
    ) -> None:
        assert (await me_status(client, sign(claims_of(account)))).status_code == 200

    async def test_alg_none(self, client: httpx.AsyncClient, account: Account) -> None:
        header = b64({"alg": "none", "typ": "JWT", "kid": key_id(SECRET)})
        token = f"{header}.{b64(claims_of(account))}."
        response = await me_status(client, token)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"

    async def test_signed_with_the_wrong_key(
        self, client: httpx.AsyncClient, account: Account
    ) -> None:
        token = sign(claims_of(account), key="another-secret-" + "y" * 40, kid=key_id(SECRET))
        assert (await me_status(client, token)).status_code == 401

    async def test_unknown_kid(self, client: httpx.AsyncClient, account: Account) -> None:
        assert (await me_status(client, sign(claims_of(account), kid="0000"))).status_code == 401

    async def test_expired(self, client: httpx.AsyncClient, account: Account) -> None:
        past = int(time.time()) - 3600
        token = sign(claims_of(account, iat=past, nbf=past, exp=past + 900))
        response = await me_status(client, token)
        assert response.status_code == 401
        assert response.json()["code"] == "token_expired"

    async def test_not_yet_valid(self, client: httpx.AsyncClient, account: Account) -> None:
        future = int(time.time()) + 3600
        token = sign(claims_of(account, iat=future, nbf=future, exp=future + 900))
        assert (await me_status(client, token)).status_code == 401

    @pytest.mark.parametrize(("claim", "value"), [("aud", "someone-else"), ("iss", "evil")])
    async def test_wrong_audience_or_issuer(
        self, client: httpx.AsyncClient, account: Account, claim: str, value: str
    ) -> None:
        assert (
            await me_status(client, sign(claims_of(account, **{claim: value})))
        ).status_code == 401

    @pytest.mark.parametrize("missing", ["sub", "tid", "jti", "typ", "exp", "aud"])
    async def test_missing_claims(
        self, client: httpx.AsyncClient, account: Account, missing: str
    ) -> None:
        claims = claims_of(account)
        del claims[missing]
        assert (await me_status(client, sign(claims))).status_code == 401

    async def test_tampered_payload(self, client: httpx.AsyncClient, account: Account) -> None:
        other = await signup(client)
        header, _, signature = account.access.split(".")
        forged = claims_of(account, tid=other.tenant_id)
        token = f"{header}.{b64(forged)}.{signature}"
        assert (await me_status(client, token)).status_code == 401

    async def test_refresh_token_as_access_token(
        self, client: httpx.AsyncClient, account: Account
    ) -> None:
        assert (await me_status(client, account.refresh)).status_code == 401

    async def test_typ_other_than_access(self, client: httpx.AsyncClient, account: Account) -> None:
        assert (await me_status(client, sign(claims_of(account, typ="refresh")))).status_code == 401

    async def test_removed_member(self, client: httpx.AsyncClient, account: Account) -> None:
        sales = await member(client, account, "SALES")
        assert (await me_status(client, sales.access)).status_code == 200
        removed = await client.delete(f"/v1/members/{sales.user_id}", headers=account.headers)
        assert removed.status_code == 204
        response = await me_status(client, sales.access)
        assert response.status_code == 401
        assert (
            await client.post("/v1/auth/refresh", json={"refreshToken": sales.refresh})
        ).status_code == 401

    async def test_a_valid_signature_on_an_unknown_session(
        self, client: httpx.AsyncClient, account: Account
    ) -> None:
        token = sign(claims_of(account, jti=str(uuid.uuid4())))
        assert (await me_status(client, token)).status_code == 401

    async def test_garbage(self, client: httpx.AsyncClient) -> None:
        for header in ("Bearer", "Bearer ", "Basic abc", "Bearer a.b.c", "Bearer " + "x" * 5000):
            response = await client.get("/v1/auth/me", headers={"authorization": header})
            assert response.status_code == 401, header
            assert response.headers["www-authenticate"].startswith("Bearer")


class TestKeyRotation:
    async def test_tokens_of_the_previous_key_stay_valid(
        self, client: httpx.AsyncClient, app: FastAPI, account: Account
    ) -> None:
        old = AccessTokens("previous-secret-" + "p" * 40)
        token = old.issue(
            user_id=uuid.UUID(account.user_id),
            tenant_id=uuid.UUID(account.tenant_id),
            token_id=uuid.UUID(session_of(account)),
            issued_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        assert (await me_status(client, token)).status_code == 401
        app.state.access_tokens = AccessTokens(SECRET, "previous-secret-" + "p" * 40)
        assert (await me_status(client, token)).status_code == 200


class TestVerificationCache:
    """Remembered tokens are still bound by their time claims and by their exact bytes."""

    def test_a_cached_token_still_expires(self, monkeypatch: pytest.MonkeyPatch) -> None:
        tokens = AccessTokens(SECRET)
        issued = datetime.now(UTC)
        token = tokens.issue(
            user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), token_id=uuid.uuid4(), issued_at=issued
        )
        assert tokens.verify(token).token_id  # now cached
        later = issued.timestamp() + 16 * 60
        monkeypatch.setattr("leedz.kit.jwt.time.time", lambda: later)
        with pytest.raises(TokenError) as caught:
            tokens.verify(token)
        assert caught.value.expired

    def test_a_one_character_change_is_verified_from_scratch(self) -> None:
        tokens = AccessTokens(SECRET)
        token = tokens.issue(
            user_id=uuid.uuid4(),
            tenant_id=uuid.uuid4(),
            token_id=uuid.uuid4(),
            issued_at=datetime.now(UTC),
        )
        tokens.verify(token)
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        with pytest.raises(TokenError):
            tokens.verify(tampered)

    def test_the_cache_is_bounded(self) -> None:
        tokens = AccessTokens(SECRET)
        for _ in range(AccessTokens.CACHE_SIZE + 10):
            tokens.verify(
                tokens.issue(
                    user_id=uuid.uuid4(),
                    tenant_id=uuid.uuid4(),
                    token_id=uuid.uuid4(),
                    issued_at=datetime.now(UTC),
                )
            )
        assert len(tokens._verified) == AccessTokens.CACHE_SIZE
