from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from leedz.app import create_app
from leedz.config import Settings
from leedz.kit.passwords import hash_password, verify_password
from tests.factories.accounts import PASSWORD, Account, login, signup, unique_email
from tests.support.problems import without_request_id


async def weaken_hash(owner: asyncpg.Connection, account: Account) -> None:
    """Store the account's password hashed with other parameters than the current ones: weaker
    than OWASP's (tests marked owasp_hashing), stronger than the test hasher (tests/conftest.py);
    either way a sign-in rehashes it."""
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    await owner.execute(
        "UPDATE users SET password_hash = $2 WHERE id = $1::uuid", account.user_id, weak
    )


class TestSignup:
    @pytest.mark.owasp_hashing
    async def test_creates_user_tenant_and_owner_membership(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client, tenant_name="شركة النور")
        tokens = account.tokens
        assert tokens["tokenType"] == "Bearer"
        assert tokens["expiresIn"] == 900
        assert tokens["tenant"]["name"] == "شركة النور"
        assert tokens["tenant"]["plan"] == "FREE"
        assert tokens["user"]["email"] == account.email
        assert "passwordHash" not in tokens["user"]
        role = await owner.fetchval(
            "SELECT role FROM memberships WHERE user_id = $1::uuid", account.user_id
        )
        assert role == "OWNER"
        stored = await owner.fetchval(
            "SELECT password_hash FROM users WHERE id = $1::uuid", account.user_id
        )
        assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")

    async def test_email_is_case_insensitive(self, client: httpx.AsyncClient) -> None:
        email = unique_email()
        await signup(client, email=email)
        again = await client.post(
            "/v1/auth/signup",
            json={"email": email.upper(), "password": PASSWORD, "name": "Twin"},
        )
        assert again.status_code == 400
        assert again.json()["code"] == "signup_failed"

    async def test_taken_email_looks_like_any_other_refusal(
        self, client: httpx.AsyncClient
    ) -> None:
        email = unique_email()
        await signup(client, email=email)
        taken = await client.post(
            "/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": "x"}
        )
        bad_invite = await client.post(
            "/v1/auth/signup",
            json={
                "email": unique_email(),
                "password": PASSWORD,
                "name": "x",
                "inviteToken": "lzi_nope",
            },
        )
        assert taken.status_code == bad_invite.status_code == 400
        assert without_request_id(taken.json()) == without_request_id(bad_invite.json())

    async def test_weak_or_malformed_input_is_422(self, client: httpx.AsyncClient) -> None:
        for body in (
            {"email": "not-an-email", "password": PASSWORD, "name": "x"},
            {"email": unique_email(), "password": "short", "name": "x"},
            {"email": unique_email(), "password": PASSWORD, "name": "   "},
            {"email": unique_email(), "password": PASSWORD, "name": "x", "role": "OWNER"},
        ):
            response = await client.post("/v1/auth/signup", json=body)
            assert response.status_code == 422, body
            assert response.json()["code"] == "validation_error"


class TestSignInTimingTellsNothing:
    """A wrong password and an unknown email do the same work before the answer (issue 12, item
    6: a known email answered 2.5 ms slower, in 40 of 40 interleaved pairs)."""

    @staticmethod
    async def statements_of(app: FastAPI, call: Callable[[], Awaitable[object]]) -> list[str]:
        """The SQL every pooled connection ran during `call`, in order."""
        db = app.state.db
        ran: list[str] = []
        watched: list[Any] = []
        acquire = db._acquire

        def log(record: Any) -> None:
            ran.append(record.query)

        async def watching_acquire() -> Any:
            conn = await acquire()
            inner = conn._con  # the pooled connection itself: the proxy dies with the release
            inner.add_query_logger(log)
            watched.append(inner)
            return conn

        db._acquire = watching_acquire
        try:
            await call()
        finally:
            db._acquire = acquire
            for inner in watched:
                inner.remove_query_logger(log)
        return ran

    async def test_both_paths_run_the_same_statements_and_one_hash_each(
        self, client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        account = await signup(client)
        hashes: list[str | None] = []

        async def counting_verify(password_hash: str | None, password: str) -> tuple[bool, bool]:
            hashes.append(password_hash)
            return await verify_password(password_hash, password)

        monkeypatch.setattr("leedz.auth.accounts.verify_password", counting_verify)

        async def attempt(email: str) -> None:
            response = await client.post(
                "/v1/auth/login", json={"email": email, "password": "wrong password"}
            )
            assert response.status_code == 401

        # What is detached runs after the answer: held here, so that it cannot mix in.
        detached: list[object] = []
        bus = app.state.bus
        monkeypatch.setattr(bus, "publish_detached", detached.append)
        known = await self.statements_of(app, lambda: attempt(account.email))
        unknown = await self.statements_of(app, lambda: attempt(unique_email()))
        assert known == unknown
        assert len(known) == 1  # the lookup; nothing is written before the answer
        assert len(hashes) == 2  # one verification each (the unknown one against a dummy hash)
        assert [type(e).__name__ for e in detached] == ["SignInFailed"]  # the known user's


class TestEmailsCompareNormalized:
    """Addresses compare in one form: NFKC, trimmed, lower-cased (issue 12: a fullwidth `a` made
    a second account)."""

    @pytest.mark.parametrize(
        "variant",
        [
            "\uff41{rest}",  # fullwidth a
            "  A{rest}  ",
            "\uff21{rest}",  # fullwidth A
        ],
    )
    async def test_a_compatibility_spelling_is_the_same_account(
        self, client: httpx.AsyncClient, variant: str
    ) -> None:
        rest = unique_email()  # user-…@example.com
        account = await signup(client, email="a" + rest)
        again = await client.post(
            "/v1/auth/signup",
            json={"email": variant.format(rest=rest), "password": PASSWORD, "name": "Twin"},
        )
        assert again.status_code == 400
        assert again.json()["code"] == "signup_failed"
        signed_in = await client.post(
            "/v1/auth/login",
            json={"email": variant.format(rest=rest), "password": account.password},
        )
        assert signed_in.status_code == 200
        assert signed_in.json()["user"]["email"] == "a" + rest

    async def test_the_address_is_stored_in_its_normal_form(
        self, client: httpx.AsyncClient
    ) -> None:
        rest = unique_email()
        response = await client.post(
            "/v1/auth/signup",
            json={"email": "\uff2a" + rest.upper(), "password": PASSWORD, "name": "Jo"},
        )
        assert response.status_code == 201
        assert response.json()["user"]["email"] == "j" + rest


class TestLogin:
    async def test_right_password_signs_in_to_the_last_tenant(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await signup(client)
        again = await login(client, account)
        assert again.tenant_id == account.tenant_id
        me = await client.get("/v1/auth/me", headers=again.headers)
        assert me.status_code == 200
        assert me.json()["role"] == "OWNER"
        assert "members:invite" in me.json()["permissions"]

    async def test_unknown_email_and_wrong_password_answer_alike(
        self, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        wrong = await client.post(
            "/v1/auth/login", json={"email": account.email, "password": "wrong password"}
        )
        unknown = await client.post(
            "/v1/auth/login", json={"email": unique_email(), "password": "wrong password"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert without_request_id(wrong.json()) == without_request_id(unknown.json())
        assert wrong.json()["code"] == "invalid_credentials"
        # A known user's failure is audited after the answer (the same work before it).
        await app.state.bus.drain(within_seconds=5)
        events = await owner.fetch(
            "SELECT event_type FROM audit_logs WHERE user_id = $1::uuid ORDER BY created_at",
            account.user_id,
        )
        assert "auth.login_failed" in [e["event_type"] for e in events]

    @pytest.mark.owasp_hashing
    async def test_an_old_hash_is_upgraded_on_login(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        await weaken_hash(owner, account)
        await login(client, account)
        upgraded = await owner.fetchval(
            "SELECT password_hash FROM users WHERE id = $1::uuid", account.user_id
        )
        assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")

    async def test_a_sign_in_writes_its_audit_row_and_one_new_session(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        response = await client.post(
            "/v1/auth/login",
            json={"email": account.email, "password": account.password},
            headers={"user-agent": "sign-in test"},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["user"] == account.tokens["user"]
        assert body["tenant"] == account.tokens["tenant"]
        row = await owner.fetchrow(
            "SELECT tenant_id, entity_type, entity_id, user_agent, request_id FROM audit_logs"
            " WHERE user_id = $1::uuid AND event_type = 'auth.login'",
            account.user_id,
        )
        assert row is not None
        assert str(row["tenant_id"]) == account.tenant_id
        assert (row["entity_type"], row["entity_id"]) == ("user", account.user_id)
        assert row["user_agent"] == "sign-in test"
        assert row["request_id"] == response.headers["x-request-id"]
        families = await owner.fetchval(
            "SELECT count(DISTINCT family_id) FROM refresh_tokens WHERE user_id = $1::uuid",
            account.user_id,
        )
        assert families == 2  # the sign-up's and this one
        me = await client.get(
            "/v1/auth/me", headers={"authorization": f"Bearer {body['accessToken']}"}
        )
        assert me.status_code == 200
        refreshed = await client.post(
            "/v1/auth/refresh", json={"refreshToken": body["refreshToken"]}
        )
        assert refreshed.status_code == 200

    async def test_no_longer_a_member_of_the_last_tenant_signs_in_to_another(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        created = await client.post("/v1/tenants", json={"name": "Second"}, headers=account.headers)
        assert created.status_code == 201
        second = created.json()["id"]
        await owner.execute(
            "UPDATE users SET default_tenant_id = $2::uuid WHERE id = $1::uuid",
            account.user_id,
            account.tenant_id,
        )
        await owner.execute(
            "DELETE FROM memberships WHERE user_id = $1::uuid AND tenant_id = $2::uuid",
            account.user_id,
            account.tenant_id,
        )
        again = await login(client, account)
        assert again.tenant_id == second
        # Nothing was written in the tenant the user has left.
        assert (
            await owner.fetchval(
                "SELECT count(*) FROM refresh_tokens WHERE tenant_id = $1::uuid", account.tenant_id
            )
            == 1
        )  # the sign-up's
        assert (
            await owner.fetchval(
                "SELECT count(*) FROM audit_logs WHERE tenant_id = $1::uuid"
                " AND event_type = 'auth.login'",
                account.tenant_id,
            )
            == 0
        )
        assert (
            str(
                await owner.fetchval(
                    "SELECT default_tenant_id FROM users WHERE id = $1::uuid", account.user_id
                )
            )
            == second
        )

    async def test_no_longer_a_member_anywhere_gets_a_fresh_workspace(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        await owner.execute("DELETE FROM memberships WHERE user_id = $1::uuid", account.user_id)
        again = await login(client, account)
        assert again.tenant_id != account.tenant_id
        assert again.tokens["tenant"]["name"].endswith("'s workspace")
        me = await client.get("/v1/auth/me", headers=again.headers)
        assert me.json()["role"] == "OWNER"


class TestSignInLocksTheUser:
    """A sign-in holds the user's row: a password change and a sign-in never cross."""

    @staticmethod
    async def writes(owner: asyncpg.Connection, account: Account) -> tuple[int, int]:
        row = await owner.fetchrow(
            "SELECT (SELECT count(*) FROM audit_logs WHERE user_id = $1::uuid"
            "        AND event_type = 'auth.login') AS audits,"
            " (SELECT count(*) FROM refresh_tokens WHERE user_id = $1::uuid) AS tokens",
            account.user_id,
        )
        assert row is not None
        return row["audits"], row["tokens"]

    async def test_a_sign_in_waits_for_a_locked_user_no_longer_than_the_statement_timeout(
        self, settings: Settings, database_url: str, owner: asyncpg.Connection
    ) -> None:
        settings.db_statement_timeout_ms = 300
        app = create_app(settings, database_url=database_url)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
        ):
            account = await signup(client)
            async with owner.transaction():
                await owner.execute(
                    "SELECT 1 FROM users WHERE id = $1::uuid FOR UPDATE", account.user_id
                )
                waited = await client.post(
                    "/v1/auth/login",
                    json={"email": account.email, "password": account.password},
                )
            assert waited.status_code == 503
            assert waited.json()["code"] == "database_timeout"
            assert await self.writes(owner, account) == (0, 1)
            await login(client, account)  # the lock gone, signing in works again

    async def test_a_rehash_holds_the_user_row_against_a_password_change(
        self,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        account = await signup(client)
        await weaken_hash(owner, account)
        refused: list[str] = []

        async def racing_hash(password: str) -> str:
            # A password change arriving while the sign-in rehashes must wait for it.
            try:
                async with owner.transaction():
                    await owner.execute("SET LOCAL lock_timeout = '200ms'")
                    await owner.execute(
                        "UPDATE users SET password_hash = 'changed' WHERE id = $1::uuid",
                        account.user_id,
                    )
            except asyncpg.LockNotAvailableError as error:
                refused.append(type(error).__name__)
            return await hash_password(password)

        monkeypatch.setattr("leedz.auth.accounts.hash_password", racing_hash)
        await login(client, account)
        assert refused == ["LockNotAvailableError"]


class TestRefresh:
    async def test_rotates_and_the_new_tokens_work(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        response = await client.post("/v1/auth/refresh", json={"refreshToken": account.refresh})
        assert response.status_code == 200
        new = response.json()
        assert new["refreshToken"] != account.refresh
        me = await client.get(
            "/v1/auth/me", headers={"authorization": f"Bearer {new['accessToken']}"}
        )
        assert me.status_code == 200

    async def test_replay_after_three_rotations_kills_the_family(
        self, client: httpx.AsyncClient, app: object, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        first = account.refresh
        current = first
        issued = []
        for _ in range(3):
            response = await client.post("/v1/auth/refresh", json={"refreshToken": current})
            assert response.status_code == 200
            current = response.json()["refreshToken"]
            issued.append(current)
        await owner.execute(
            "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 hour'"
            " WHERE rotated_at IS NOT NULL"
        )
        replay = await client.post("/v1/auth/refresh", json={"refreshToken": first})
        assert replay.status_code == 401
        assert replay.json()["code"] == "invalid_refresh_token"
        for token in issued:
            dead = await client.post("/v1/auth/refresh", json={"refreshToken": token})
            assert dead.status_code == 401
        live = await owner.fetchval(
            "SELECT count(*) FROM refresh_tokens WHERE user_id = $1::uuid AND revoked_at IS NULL",
            account.user_id,
        )
        assert live == 0
        events = await owner.fetch(
            "SELECT event_type FROM audit_logs WHERE user_id = $1::uuid", account.user_id
        )
        assert "auth.refresh_reuse_detected" in [e["event_type"] for e in events]

    async def test_concurrent_refreshes_in_the_grace_window_get_the_same_pair(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        responses = await asyncio.gather(
            *(
                client.post("/v1/auth/refresh", json={"refreshToken": account.refresh})
                for _ in range(4)
            )
        )
        assert [r.status_code for r in responses] == [200] * 4
        pairs = {(r.json()["refreshToken"], r.json()["accessToken"]) for r in responses}
        assert len(pairs) == 1
        ((new_refresh, _),) = pairs
        follow = await client.post("/v1/auth/refresh", json={"refreshToken": new_refresh})
        assert follow.status_code == 200
        revoked = await owner.fetchval(
            "SELECT count(*) FROM refresh_tokens WHERE user_id = $1::uuid"
            " AND revoked_at IS NOT NULL",
            account.user_id,
        )
        assert revoked == 0

    async def test_garbage_and_unknown_tokens_are_401(self, client: httpx.AsyncClient) -> None:
        for token in ("nope", "lzr_", "lzr_" + "A" * 64, "lzi_" + "A" * 64):
            response = await client.post("/v1/auth/refresh", json={"refreshToken": token})
            assert response.status_code == 401
            assert response.json()["code"] == "invalid_refresh_token"

    async def test_logout_ends_the_family(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        assert (
            await client.post("/v1/auth/logout", json={"refreshToken": account.refresh})
        ).status_code == 204
        after = await client.post("/v1/auth/refresh", json={"refreshToken": account.refresh})
        assert after.status_code == 401
        # Logging out again, or with garbage, says nothing either way.
        assert (
            await client.post("/v1/auth/logout", json={"refreshToken": "garbage"})
        ).status_code == 204


class TestPasswordChange:
    async def test_other_sessions_end_this_one_continues(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        other = await login(client, account)
        response = await client.post(
            "/v1/auth/password",
            json={"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"},
            headers=account.headers,
        )
        assert response.status_code == 204
        assert (
            await client.post("/v1/auth/refresh", json={"refreshToken": other.refresh})
        ).status_code == 401
        assert (
            await client.post("/v1/auth/refresh", json={"refreshToken": account.refresh})
        ).status_code == 200
        old = await client.post(
            "/v1/auth/login", json={"email": account.email, "password": PASSWORD}
        )
        assert old.status_code == 401
        new = await client.post(
            "/v1/auth/login",
            json={"email": account.email, "password": "a brand new passphrase"},
        )
        assert new.status_code == 200

    async def test_wrong_current_password_is_refused(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        response = await client.post(
            "/v1/auth/password",
            json={"currentPassword": "not it at all", "newPassword": "a brand new passphrase"},
            headers=account.headers,
        )
        assert response.status_code == 401


class TestFreeWorkspacesPerUser:
    """One person owns at most `max_free_workspaces_per_user` FREE workspaces (issue 12, item 7:
    one user had created 12, each with fresh FREE quotas)."""

    async def test_past_the_cap_is_402_and_nothing_is_created(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)  # the sign-up's workspace is the first
        second = await client.post("/v1/tenants", json={"name": "Two"}, headers=account.headers)
        assert second.status_code == 201
        third = await client.post("/v1/tenants", json={"name": "Three"}, headers=account.headers)
        assert third.status_code == 402
        body = third.json()
        assert (body["code"], body["quota"], body["limit"], body["used"]) == (
            "quota_exceeded",
            "freeWorkspaces",
            2,
            2,
        )
        assert await owner.fetchval("SELECT count(*) FROM tenants WHERE name = 'Three'") == 0
        # The request's own tenant is untouched: the caller still works in it.
        me = await client.get("/v1/auth/me", headers=account.headers)
        assert me.json()["tenant"]["id"] == account.tenant_id

    async def test_concurrent_requests_cannot_pass_the_count_together(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        answers = await asyncio.gather(
            *(
                client.post("/v1/tenants", json={"name": f"Rush {i}"}, headers=account.headers)
                for i in range(6)
            )
        )
        assert sorted(a.status_code for a in answers) == [201] + [402] * 5
        owned = await owner.fetchval(
            "SELECT count(*) FROM memberships WHERE user_id = $1::uuid AND role = 'OWNER'",
            account.user_id,
        )
        assert owned == 2

    async def test_only_owned_free_workspaces_count(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        account = await signup(client)
        # Their sign-up workspace moves to a paid plan: it no longer counts.
        await owner.execute(
            "UPDATE tenants SET plan_id = (SELECT id FROM plans WHERE name <> 'FREE' LIMIT 1)"
            " WHERE id = $1::uuid",
            account.tenant_id,
        )
        for name in ("A", "B"):
            created = await client.post("/v1/tenants", json={"name": name}, headers=account.headers)
            assert created.status_code == 201


class TestTenants:
    async def test_create_list_switch(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        created = await client.post(
            "/v1/tenants", json={"name": "Second Co"}, headers=account.headers
        )
        assert created.status_code == 201
        second = created.json()
        mine = await client.get("/v1/tenants", headers=account.headers)
        assert {t["id"] for t in mine.json()["items"]} == {account.tenant_id, second["id"]}
        assert all(t["role"] == "OWNER" for t in mine.json()["items"])
        switched = await client.post(
            "/v1/auth/switch-tenant", json={"tenantId": second["id"]}, headers=account.headers
        )
        assert switched.status_code == 200
        assert switched.json()["tenant"]["id"] == second["id"]
        current = await client.get(
            "/v1/tenants/current",
            headers={"authorization": f"Bearer {switched.json()['accessToken']}"},
        )
        assert current.json()["name"] == "Second Co"

    async def test_switch_to_a_foreign_tenant_is_404(self, client: httpx.AsyncClient) -> None:
        a = await signup(client)
        b = await signup(client)
        response = await client.post(
            "/v1/auth/switch-tenant", json={"tenantId": b.tenant_id}, headers=a.headers
        )
        assert response.status_code == 404

    async def test_rename_and_usage(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        renamed = await client.patch(
            "/v1/tenants/current", json={"name": "Renamed"}, headers=account.headers
        )
        assert renamed.json()["name"] == "Renamed"
        usage = await client.get("/v1/tenants/current/usage", headers=account.headers)
        assert usage.status_code == 200
        body = usage.json()
        assert body["plan"] == "FREE"
        assert body["used"]["users"] == 1
        assert body["limits"]["users"] == 3

    async def test_plans_and_permissions_are_public(self, client: httpx.AsyncClient) -> None:
        plans = (await client.get("/v1/plans")).json()
        assert [p["name"] for p in plans] == ["FREE", "STARTER", "PRO", "ENTERPRISE"]
        assert plans[-1]["maxUsers"] is None
        roles = (await client.get("/v1/permissions")).json()["roles"]
        assert set(roles) == {"OWNER", "ADMIN", "MANAGER", "SALES"}
        assert "audit:read" in roles["ADMIN"]
        assert "audit:read" not in roles["MANAGER"]


class TestLoginHoldsNoConnectionWhileHashing:
    async def test_no_pooled_connection_is_in_use_during_verification(
        self, client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        account = await signup(client)
        in_use: list[int] = []

        async def watching_verify(password_hash: str | None, password: str) -> tuple[bool, bool]:
            pool = app.state.db.pool
            in_use.append(pool.get_size() - pool.get_idle_size())
            return await verify_password(password_hash, password)

        monkeypatch.setattr("leedz.auth.accounts.verify_password", watching_verify)
        await login(client, account)
        assert in_use == [0]

    async def test_a_password_changed_during_verification_wins(
        self,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        account = await signup(client)

        async def racing_verify(password_hash: str | None, password: str) -> tuple[bool, bool]:
            result = await verify_password(password_hash, password)
            await owner.execute(
                "UPDATE users SET password_hash = 'changed-meanwhile' WHERE id = $1::uuid",
                account.user_id,
            )
            return result

        monkeypatch.setattr("leedz.auth.accounts.verify_password", racing_verify)
        response = await client.post(
            "/v1/auth/login", json={"email": account.email, "password": account.password}
        )
        assert response.status_code == 401


class TestSessionsEndAccessTokens:
    async def test_logout_ends_the_access_token_at_once(self, client: httpx.AsyncClient) -> None:
        account = await signup(client)
        assert (await client.get("/v1/auth/me", headers=account.headers)).status_code == 200
        await client.post("/v1/auth/logout", json={"refreshToken": account.refresh})
        assert (await client.get("/v1/auth/me", headers=account.headers)).status_code == 401

    async def test_a_password_change_ends_other_access_tokens(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await signup(client)
        other = await login(client, account)
        await client.post(
            "/v1/auth/password",
            json={"currentPassword": PASSWORD, "newPassword": "another long passphrase"},
            headers=account.headers,
        )
        assert (await client.get("/v1/auth/me", headers=other.headers)).status_code == 401
        assert (await client.get("/v1/auth/me", headers=account.headers)).status_code == 200

    async def test_a_rotated_session_keeps_its_access_token_until_expiry(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await signup(client)
        rotated = await client.post("/v1/auth/refresh", json={"refreshToken": account.refresh})
        assert rotated.status_code == 200
        assert (await client.get("/v1/auth/me", headers=account.headers)).status_code == 200
