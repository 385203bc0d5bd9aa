"""Access tokens signed with the real secret whose claims have shapes the server never issues.

Found by an attack run: `tid: ["x"]` with a valid signature answered 500. Every claim's type is
checked before it is used; a property test over claim shapes (tests/support/claims.py) against
`GET /v1/auth/me` finds 401 `invalid_token` for every broken claim set, never a 500.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from hypothesis import note

from leedz.config import Settings
from tests.factories.accounts import Account, signup
from tests.support.claims import Mutation, claim_shapes, genuine_claims, sign_raw

EXAMPLES = 200


def session_claims(account: Account) -> dict[str, Any]:
    token_id = jwt.decode(account.access, options={"verify_signature": False})["jti"]
    return genuine_claims(user_id=account.user_id, tenant_id=account.tenant_id, token_id=token_id)


@pytest.fixture
async def account(client: httpx.AsyncClient) -> Account:
    return await signup(client)


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/v1/auth/me", headers={"authorization": f"Bearer {token}"})


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token", response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


class TestClaimShapes:
    @pytest.mark.parametrize(
        ("claim", "value"),
        [
            pytest.param("tid", ["x"], id="tid-list"),  # the attack run's token
            pytest.param("tid", {"id": "x"}, id="tid-object"),
            pytest.param("sub", 42, id="sub-number"),
            pytest.param("jti", None, id="jti-null"),
            pytest.param("tid", "not-a-uuid", id="tid-not-a-uuid"),
            pytest.param("exp", True, id="exp-bool"),
            pytest.param("exp", "99999999999", id="exp-string"),
            pytest.param("exp", 10**400, id="exp-huge"),
            pytest.param("nbf", -(10**30), id="nbf-negative"),
            pytest.param("iat", 1.5, id="iat-float"),
            pytest.param("aud", ["leedz-api"], id="aud-list"),
            pytest.param("typ", ["access"], id="typ-list"),
        ],
    )
    async def test_a_claim_of_the_wrong_type(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        account: Account,
        claim: str,
        value: object,
    ) -> None:
        claims = {**session_claims(account), claim: value}
        assert_invalid_token(await me(client, sign_raw(claims, settings.jwt_signing_secret())))

    async def test_the_genuine_claims_pass(
        self, client: httpx.AsyncClient, settings: Settings, account: Account
    ) -> None:
        token = sign_raw(session_claims(account), settings.jwt_signing_secret())
        assert (await me(client, token)).status_code == 200

    @claim_shapes(EXAMPLES)
    async def test_no_claim_shape_is_a_server_error(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        account: Account,
        mutation: Mutation,
    ) -> None:
        note(repr(mutation))
        claims = mutation.apply(session_claims(account))
        response = await me(client, sign_raw(claims, settings.jwt_signing_secret()))
        if mutation.breaks_the_token:
            assert_invalid_token(response)
        else:  # only extra claims: ignored, as RFC 7519 asks
            assert response.status_code == 200, response.text
