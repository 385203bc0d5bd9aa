"""The `/app` handshake with access tokens whose claims have shapes the server never issues.

The same claim sets as tests/auth/test_claim_shapes.py, signed with the real secret, presented
as `auth: {token}` over a real websocket: each handshake is refused with `connect_error`
`{code: "invalid_token"}` (accepted when only extra claims were added), never left unanswered
by an exception in the connect handler.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import jwt
import pytest
import socketio
from hypothesis import note

from leedz.config import Settings
from tests.factories.accounts import Account, signup
from tests.gateway.conftest import Live
from tests.support.claims import Mutation, claim_shapes, genuine_claims, sign_raw

EXAMPLES = 100
GENEROUS = "100000/minute"


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "reaper_interval_seconds": 300.0,
            "rate_limit_socket_connect": GENEROUS,
            "rate_limit_socket_connect_instance": "100000/second",
        }
    )


@pytest.fixture
async def account(live: Live) -> Account:
    return await signup(live.http)


async def handshake(base: str, token: str) -> tuple[bool, Any]:
    """(connected, the connect_error data): the server must answer one way or the other."""
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[Any] = []
    client.on("connect_error", refusals.append, namespace="/app")
    try:
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await client.connect(
                base,
                namespaces=["/app"],
                auth={"token": token},
                transports=["websocket"],
                wait_timeout=3,
            )
        connected = client.connected and "/app" in client.namespaces
    finally:
        await client.disconnect()
        await asyncio.sleep(0)
    return connected, refusals[0] if refusals else None


def session_claims(account: Account) -> dict[str, Any]:
    token_id = jwt.decode(account.access, options={"verify_signature": False})["jti"]
    return genuine_claims(user_id=account.user_id, tenant_id=account.tenant_id, token_id=token_id)


class TestAppHandshakeClaimShapes:
    async def test_the_attack_runs_token_is_refused(
        self, live: Live, settings: Settings, account: Account
    ) -> None:
        token = sign_raw({**session_claims(account), "tid": ["x"]}, settings.jwt_signing_secret())
        connected, refusal = await handshake(live.base, token)
        assert not connected
        assert isinstance(refusal, dict), "the handshake was never answered"
        assert refusal["data"]["code"] == "invalid_token"

    @claim_shapes(EXAMPLES)
    async def test_no_claim_shape_leaves_the_handshake_unanswered(
        self, live: Live, settings: Settings, account: Account, mutation: Mutation
    ) -> None:
        note(repr(mutation))
        claims = mutation.apply(session_claims(account))
        connected, refusal = await handshake(
            live.base, sign_raw(claims, settings.jwt_signing_secret())
        )
        if mutation.breaks_the_token:
            assert not connected
            assert isinstance(refusal, dict), "the handshake was never answered"
            assert refusal["data"]["code"] == "invalid_token", refusal
        else:
            assert connected, refusal
