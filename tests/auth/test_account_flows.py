"""Password reset and email verification end to end: the real SMTP server (aiosmtpd), the
public endpoints, the mailed links."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from asyncpg.pool import PoolConnectionProxy
from fastapi import FastAPI

from leedz.app import create_app
from leedz.auth.recovery import RESET_TTL, VERIFY_TTL
from leedz.config import Settings
from leedz.kit.db import Database
from tests.factories.accounts import PASSWORD, Account, login, signup, unique_email
from tests.support.dbscan import columns_containing
from tests.support.problems import without_request_id
from tests.support.smtp import Inbox, part_in, smtp_server

WEB = "https://app.leedz.example"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as (mailbox, _):
        yield mailbox


@pytest.fixture
def app(settings: Settings, database_url: str, inbox: Inbox) -> FastAPI:
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = inbox.port
    settings.smtp_starttls = False
    settings.web_url = WEB
    settings.rate_limit_reset_email = "3/minute"
    settings.rate_limit_reset_ip = "8/minute"
    settings.rate_limit_verify_resend = "3/minute"
    settings.rate_limit_account_link = "6/minute"
    return create_app(settings, database_url=database_url)


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


async def me(client: httpx.AsyncClient, account: Account) -> httpx.Response:
    return await client.get("/v1/auth/me", headers=account.headers)


async def verification_link(inbox: Inbox, account: Account, *, count: int = 1) -> str:
    await inbox.wait_for(account.email, count=count)
    return inbox.link_for(account.email, "verify-email")


async def ask_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    response = await client.post("/v1/auth/password-reset", json={"email": email})
    assert response.status_code in (202, 429), response.text
    return response


async def reset_link(inbox: Inbox, email: str, *, count: int) -> str:
    """The newest reset link to `email`, once `count` reset mails arrived."""
    await inbox.wait_for(email, count=count)
    return inbox.link_for(email, "reset-password")


async def confirm(client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD) -> Any:
    return await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "newPassword": password}
    )


class TestEmailVerification:
    async def test_sign_up_mails_a_link_that_verifies_the_address_once(
        self, client: httpx.AsyncClient, inbox: Inbox
    ) -> None:
        account = await signup(client)
        assert account.tokens["user"]["emailVerified"] is False
        assert (await me(client, account)).json()["user"]["emailVerified"] is False
        [message] = await inbox.wait_for(account.email)
        link = inbox.link_for(account.email, "verify-email")
        assert link.startswith(f"{WEB}/verify-email/lzv_")
        assert [p.get("Content-Language") for p in message.walk() if p.get("Content-Language")] == [
            "ar",
            "en",
        ]
        assert "بريدك الإلكتروني" in part_in(message, "ar")
        assert link in part_in(message, "ar")
        assert timedelta(hours=48) == VERIFY_TTL
        assert "valid for 48 hours" in part_in(message, "en")
        # The display name a sign-up chose never reaches the mailbox it names.
        text = part_in(message, "ar") + part_in(message, "en")
        assert account.tokens["user"]["name"] not in text

        verified = await client.post("/v1/auth/verify-email", json={"token": token_of(link)})
        assert verified.status_code == 204, verified.text
        assert (await me(client, account)).json()["user"]["emailVerified"] is True
        members = await client.get("/v1/members", headers=account.headers)
        assert members.json()["items"][0]["user"]["emailVerified"] is True

        again = await client.post("/v1/auth/verify-email", json={"token": token_of(link)})
        assert again.status_code == 400
        assert again.json()["code"] == "invalid_verification_token"

    async def test_resend_replaces_the_link_and_is_refused_once_verified(
        self, client: httpx.AsyncClient, inbox: Inbox
    ) -> None:
        account = await signup(client)
        first = await verification_link(inbox, account)
        resent = await client.post("/v1/auth/verify-email/resend", headers=account.headers)
        assert resent.status_code == 202, resent.text
        assert resent.json() == {"status": "accepted"}
        second = await verification_link(inbox, account, count=2)
        assert second != first
        dead = await client.post("/v1/auth/verify-email", json={"token": token_of(first)})
        assert dead.status_code == 400
        assert dead.json()["code"] == "invalid_verification_token"
        ok = await client.post("/v1/auth/verify-email", json={"token": token_of(second)})
        assert ok.status_code == 204
        done = await client.post("/v1/auth/verify-email/resend", headers=account.headers)
        assert done.status_code == 409
        assert done.json()["code"] == "email_already_verified"
        anonymous = await client.post("/v1/auth/verify-email/resend")
        assert anonymous.status_code == 401

    async def test_resend_is_limited_per_user(
        self, client: httpx.AsyncClient, inbox: Inbox
    ) -> None:
        account = await signup(client)
        statuses = [
            (await client.post("/v1/auth/verify-email/resend", headers=account.headers)).status_code
            for _ in range(4)
        ]
        assert statuses == [202, 202, 202, 429]

    async def test_an_expired_unknown_or_foreign_token_verifies_nothing(
        self, client: httpx.AsyncClient, inbox: Inbox, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        link = await verification_link(inbox, account)
        await owner.execute(
            "UPDATE account_tokens SET expires_at = now() - interval '1 second'"
            " WHERE user_id = $1::uuid",
            account.user_id,
        )
        answers = [
            await client.post("/v1/auth/verify-email", json={"token": token})
            for token in (token_of(link), "lzv_" + "A" * 43, "garbage")
        ]
        assert {a.status_code for a in answers} == {400}
        assert len({str(without_request_id(a.json())) for a in answers}) == 1
        assert (await me(client, account)).json()["user"]["emailVerified"] is False

    async def test_an_invite_proves_the_address(
        self, client: httpx.AsyncClient, app: FastAPI, inbox: Inbox
    ) -> None:
        boss = await signup(client, tenant_name="Proof Co")
        # Accepting an invite while signed in.
        existing = await signup(client, tenant_name="Own Co")
        invited = await client.post(
            "/v1/invites", json={"email": existing.email, "role": "SALES"}, headers=boss.headers
        )
        assert invited.status_code == 201
        accepted = await client.post(
            "/v1/invites/accept",
            json={"token": token_of(invited.json()["acceptUrl"])},
            headers=existing.headers,
        )
        assert accepted.status_code == 200
        assert (await me(client, existing)).json()["user"]["emailVerified"] is True
        # Signing up through an invite: verified at once, and no verification mail.
        newcomer_email = unique_email("newcomer")
        invited = await client.post(
            "/v1/invites", json={"email": newcomer_email, "role": "SALES"}, headers=boss.headers
        )
        newcomer = await signup(
            client,
            email=newcomer_email,
            tenant_name=None,
            invite_token=token_of(invited.json()["acceptUrl"]),
        )
        assert newcomer.tokens["user"]["emailVerified"] is True
        await app.state.outbox.drain()
        assert not [m for m in inbox.to(newcomer_email) if "verify-email" in m.as_string()]


class TestPasswordReset:
    async def test_the_mailed_link_sets_the_password_and_ends_every_session(
        self, client: httpx.AsyncClient, inbox: Inbox, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        laptop = await login(client, account)
        # A session in a second tenant too.
        created = await client.post(
            "/v1/tenants", json={"name": "Second Co"}, headers=account.headers
        )
        switched = await client.post(
            "/v1/auth/switch-tenant",
            json={"tenantId": created.json()["id"]},
            headers=account.headers,
        )
        elsewhere = Account(account.email, account.password, switched.json())
        await verification_link(inbox, account)

        asked = await ask_reset(client, account.email)
        assert asked.status_code == 202
        assert asked.json() == {"status": "accepted"}
        link = await reset_link(inbox, account.email, count=2)
        assert link.startswith(f"{WEB}/reset-password/lzp_")
        message = inbox.to(account.email)[-1]
        assert "كلمة المرور" in part_in(message, "ar")
        assert link in part_in(message, "ar")
        assert timedelta(hours=1) == RESET_TTL
        assert "valid for 1 hour" in part_in(message, "en")
        assert link in part_in(message, "en")

        done = await confirm(client, token_of(link))
        assert done.status_code == 204, done.text
        assert "content-type" not in done.headers or not done.content

        for session in (account, laptop, elsewhere):
            refreshed = await client.post(
                "/v1/auth/refresh", json={"refreshToken": session.refresh}
            )
            assert refreshed.status_code == 401, refreshed.text
            assert (await me(client, session)).status_code == 401
        old = await client.post(
            "/v1/auth/login", json={"email": account.email, "password": PASSWORD}
        )
        assert old.status_code == 401
        new = await login(client, Account(account.email, NEW_PASSWORD, {}))
        # The link was mailed to the address: that proves it.
        assert new.tokens["user"]["emailVerified"] is True
        audited = await owner.fetch(
            "SELECT tenant_id FROM audit_logs WHERE event_type = 'auth.password_reset'"
            " AND user_id = $1::uuid",
            account.user_id,
        )
        assert {str(r["tenant_id"]) for r in audited} == {account.tenant_id, created.json()["id"]}
        revoked = await owner.fetchval(
            "SELECT count(*) FROM refresh_tokens WHERE user_id = $1::uuid"
            " AND revoke_reason = 'password_reset'",
            account.user_id,
        )
        assert revoked == 3

        used = await confirm(client, token_of(link), "yet another passphrase")
        assert used.status_code == 400
        assert used.json()["code"] == "invalid_reset_token"

    async def test_a_second_request_kills_the_first_link(
        self, client: httpx.AsyncClient, inbox: Inbox
    ) -> None:
        account = await signup(client)
        await verification_link(inbox, account)
        await ask_reset(client, account.email)
        first = await reset_link(inbox, account.email, count=2)
        await ask_reset(client, account.email)
        second = await reset_link(inbox, account.email, count=3)
        assert first != second
        dead = await confirm(client, token_of(first))
        assert dead.status_code == 400
        assert dead.json()["code"] == "invalid_reset_token"
        assert (await confirm(client, token_of(second))).status_code == 204

    async def test_an_expired_unknown_or_foreign_token_changes_nothing(
        self, client: httpx.AsyncClient, inbox: Inbox, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        verify = await verification_link(inbox, account)
        await ask_reset(client, account.email)
        link = await reset_link(inbox, account.email, count=2)
        await owner.execute(
            "UPDATE account_tokens SET expires_at = now() - interval '1 second'"
            " WHERE user_id = $1::uuid AND purpose = 'RESET_PASSWORD'",
            account.user_id,
        )
        answers = [
            await confirm(client, token)
            for token in (token_of(link), token_of(verify), "lzp_" + "A" * 43, "garbage")
        ]
        assert [a.status_code for a in answers] == [400] * 4
        assert len({str(without_request_id(a.json())) for a in answers}) == 1
        assert answers[0].json()["code"] == "invalid_reset_token"
        # Nothing changed: the password, the session, the verification.
        await login(client, account)
        refreshed = await client.post("/v1/auth/refresh", json={"refreshToken": account.refresh})
        assert refreshed.status_code == 200
        assert refreshed.json()["user"]["emailVerified"] is False
        # A reset token is no verification token either.
        await ask_reset(client, account.email)
        fresh = await reset_link(inbox, account.email, count=3)
        crossed = await client.post("/v1/auth/verify-email", json={"token": token_of(fresh)})
        assert crossed.status_code == 400

    async def test_an_unknown_email_is_answered_alike_and_mails_nothing(
        self, client: httpx.AsyncClient, app: FastAPI, inbox: Inbox
    ) -> None:
        account = await signup(client)
        await verification_link(inbox, account)
        nobody = unique_email("nobody")
        unknown = await ask_reset(client, nobody)
        known = await ask_reset(client, account.email)
        assert unknown.status_code == known.status_code == 202
        assert unknown.json() == known.json()
        assert unknown.headers.keys() == known.headers.keys()
        await reset_link(inbox, account.email, count=2)
        await app.state.outbox.drain()
        assert inbox.to(nobody) == []

    async def test_both_paths_run_the_same_statements(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        inbox: Inbox,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        account = await signup(client)
        await ask_reset(client, account.email)  # warm: the first request prepares statements
        await ask_reset(client, unique_email("warm"))
        async with statements_of(app.state.db, monkeypatch) as seen:
            await ask_reset(client, unique_email("nobody"))
            unknown = list(seen)
            seen.clear()
            await ask_reset(client, account.email)
            known = list(seen)
        assert len(known) >= 2, known
        assert known == unknown
        await reset_link(inbox, account.email, count=3)

    async def test_the_answer_does_not_wait_for_the_mail(
        self, client: httpx.AsyncClient, inbox: Inbox
    ) -> None:
        account = await signup(client)
        await verification_link(inbox, account)
        inbox.delay = 1.5
        started = time.monotonic()
        answered = await ask_reset(client, account.email)
        elapsed = time.monotonic() - started
        assert answered.status_code == 202
        assert elapsed < 1.0, f"the answer took {elapsed:.2f} s: it waited for the SMTP server"
        await reset_link(inbox, account.email, count=2)

    async def test_requests_are_limited_per_email_then_per_ip(
        self, client: httpx.AsyncClient
    ) -> None:
        email = unique_email("limited")
        statuses = [(await ask_reset(client, email)).status_code for _ in range(4)]
        assert statuses == [202, 202, 202, 429]
        # Other addresses from the same client: until the per-IP limit (8, the 4 above counted).
        others = [(await ask_reset(client, unique_email())).status_code for _ in range(5)]
        assert others == [202, 202, 202, 202, 429]

    async def test_following_links_is_limited_per_ip(self, client: httpx.AsyncClient) -> None:
        statuses = [
            (await client.post("/v1/auth/verify-email", json={"token": f"lzv_{i}"})).status_code
            for i in range(7)
        ]
        assert statuses == [400] * 6 + [429]


class TestNoRawToken:
    async def test_the_mailed_tokens_are_in_no_column(
        self, client: httpx.AsyncClient, inbox: Inbox, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        verify = token_of(await verification_link(inbox, account))
        await ask_reset(client, account.email)
        reset = token_of(await reset_link(inbox, account.email, count=2))
        stored = {
            r["purpose"]: bytes(r["token_hash"])
            for r in await owner.fetch(
                "SELECT purpose, token_hash FROM account_tokens WHERE user_id = $1::uuid",
                account.user_id,
            )
        }
        assert stored == {
            "VERIFY_EMAIL": hashlib.sha256(verify.encode()).digest(),
            "RESET_PASSWORD": hashlib.sha256(reset.encode()).digest(),
        }
        assert (
            await client.post("/v1/auth/verify-email", json={"token": verify})
        ).status_code == 204
        assert (await confirm(client, reset)).status_code == 204
        for token in (verify, reset):
            for needle in (token, token.split("_", 1)[1]):
                assert await columns_containing(owner, needle) == []


class TestRequireVerifiedEmail:
    @pytest.fixture
    def app(self, settings: Settings, database_url: str) -> FastAPI:
        settings.require_verified_email = True
        return create_app(settings, database_url=database_url)

    async def test_an_unverified_user_cannot_invite_register_agents_or_create_jobs(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        account = await signup(client)
        writes = [
            ("/v1/invites", {"email": unique_email(), "role": "SALES"}),
            ("/v1/agents", {"name": "laptop"}),
            ("/v1/jobs", {"type": "SEARCH", "input": {"query": "cafes"}}),
        ]
        for path, body in writes:
            refused = await client.post(path, json=body, headers=account.headers)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["code"] == "email_not_verified"
        # Reading is not gated.
        assert (await client.get("/v1/jobs", headers=account.headers)).status_code == 200

        await app.state.outbox.drain()
        [message] = [m for m in app.state.mailer.outbox if m["To"] == account.email]
        link = next(w for w in part_in(message, "en").split() if "/verify-email/" in w)
        verified = await client.post("/v1/auth/verify-email", json={"token": token_of(link)})
        assert verified.status_code == 204
        for path, body in writes:
            allowed = await client.post(path, json=body, headers=account.headers)
            assert allowed.status_code == 201, (path, allowed.text)

    async def test_a_missing_permission_is_still_forbidden_first(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        boss = await signup(client)
        await app.state.outbox.drain()
        [message] = [m for m in app.state.mailer.outbox if m["To"] == boss.email]
        link = next(w for w in part_in(message, "en").split() if "/verify-email/" in w)
        await client.post("/v1/auth/verify-email", json={"token": token_of(link)})
        invited = await client.post(
            "/v1/invites", json={"email": unique_email(), "role": "SALES"}, headers=boss.headers
        )
        assert invited.status_code == 201
        sales = await signup(
            client,
            email=invited.json()["invite"]["email"],
            tenant_name=None,
            invite_token=token_of(invited.json()["acceptUrl"]),
        )
        # Verified by the invite: may create jobs; may not invite (role), whatever verification.
        job = await client.post(
            "/v1/jobs", json={"type": "SEARCH", "input": {"query": "x"}}, headers=sales.headers
        )
        assert job.status_code == 201, job.text
        refused = await client.post(
            "/v1/invites", json={"email": unique_email(), "role": "SALES"}, headers=sales.headers
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"


class statements_of:  # noqa: N801 - reads like a function: `async with statements_of(db, mp)`
    """Every SQL statement the app's pooled connections run inside the block, in order (an
    asyncpg query logger on each connection the app acquires meanwhile)."""

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.db = db
        self.monkeypatch = monkeypatch
        self.seen: list[str] = []
        self.active = False

    def _log(self, record: Any) -> None:
        if self.active:
            self.seen.append(str(record.query))

    async def __aenter__(self) -> list[str]:
        acquire = self.db._acquire

        async def logged() -> PoolConnectionProxy:
            conn = await acquire()
            conn.add_query_logger(self._log)  # a set: adding it again is a no-op
            return conn

        self.monkeypatch.setattr(self.db, "_acquire", logged)
        self.active = True
        return self.seen

    async def __aexit__(self, *exc: object) -> None:
        self.active = False
