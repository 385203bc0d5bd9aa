"""Invites end to end through a real SMTP server (aiosmtpd) and the public endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.app import create_app
from leedz.config import Settings
from tests.factories.accounts import Account, signup, unique_email
from tests.support.problems import without_request_id
from tests.support.smtp import Inbox, smtp_server


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def app(settings: Settings, database_url: str, inbox: tuple[Inbox, int]) -> FastAPI:
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = inbox[1]
    settings.smtp_starttls = False
    settings.web_url = "https://app.leedz.example"
    return create_app(settings, database_url=database_url)


@pytest.fixture
async def boss(client: httpx.AsyncClient) -> Account:
    return await signup(client, tenant_name="Invite Co")


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


async def invite(client: httpx.AsyncClient, boss: Account, email_address: str) -> dict[str, Any]:
    response = await client.post(
        "/v1/invites", json={"email": email_address, "role": "MANAGER"}, headers=boss.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestInviteByMail:
    async def test_the_mail_arrives_in_arabic_and_english_and_its_link_works_once(
        self, client: httpx.AsyncClient, boss: Account, inbox: tuple[Inbox, int]
    ) -> None:
        mailbox, _ = inbox
        address = unique_email("invitee")
        created = await invite(client, boss, address)
        link = mailbox.link_for(address)
        assert link == created["acceptUrl"]
        assert link.startswith("https://app.leedz.example/invite/lzi_")
        message = mailbox.messages[-1]
        languages = [p.get("Content-Language") for p in message.walk() if p.get("Content-Language")]
        assert languages == ["ar", "en"]
        assert (
            "دعاك"
            in next(p for p in message.walk() if p.get("Content-Language") == "ar").get_content()
        )

        lookup = await client.post("/v1/invites/lookup", json={"token": token_of(link)})
        assert lookup.status_code == 200
        assert lookup.json()["tenantName"] == "Invite Co"
        assert lookup.json()["role"] == "MANAGER"
        assert lookup.json()["email"] != address
        assert lookup.json()["email"].endswith("@example.com")

        invitee = await signup(client, email=address, tenant_name="Own Co")
        accepted = await client.post(
            "/v1/invites/accept", json={"token": token_of(link)}, headers=invitee.headers
        )
        assert accepted.status_code == 200
        assert accepted.json()["role"] == "MANAGER"
        assert accepted.json()["tenant"]["id"] == boss.tenant_id
        again = await client.post(
            "/v1/invites/accept", json={"token": token_of(link)}, headers=invitee.headers
        )
        assert again.status_code == 404
        assert (
            await client.post("/v1/invites/lookup", json={"token": token_of(link)})
        ).status_code == 404

    async def test_signup_with_the_invite_joins_the_tenant(
        self, client: httpx.AsyncClient, boss: Account, inbox: tuple[Inbox, int]
    ) -> None:
        address = unique_email("newcomer")
        await invite(client, boss, address)
        newcomer = await signup(
            client,
            email=address,
            tenant_name=None,
            invite_token=token_of(inbox[0].link_for(address)),
        )
        assert newcomer.tenant_id == boss.tenant_id
        members = await client.get("/v1/members", headers=boss.headers)
        assert {m["user"]["email"]: m["role"] for m in members.json()["items"]}[
            address
        ] == "MANAGER"

    async def test_expired_revoked_resent_and_other_email_tokens_fail(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        inbox: tuple[Inbox, int],
        owner: asyncpg.Connection,
    ) -> None:
        mailbox, _ = inbox
        expired_to, revoked_to, resent_to, other_to = (unique_email(x) for x in "erso")
        expired = await invite(client, boss, expired_to)
        await owner.execute(
            "UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1::uuid",
            expired["invite"]["id"],
        )
        revoked = await invite(client, boss, revoked_to)
        assert (
            await client.delete(f"/v1/invites/{revoked['invite']['id']}", headers=boss.headers)
        ).status_code == 204
        resent = await invite(client, boss, resent_to)
        old_link = mailbox.link_for(resent_to)
        again = await client.post(
            f"/v1/invites/{resent['invite']['id']}/resend",
            headers=boss.headers,
        )
        assert again.status_code == 200
        new_link = mailbox.link_for(resent_to)
        assert new_link != old_link == resent["acceptUrl"]
        await invite(client, boss, other_to)

        dead = [mailbox.link_for(expired_to), mailbox.link_for(revoked_to), old_link]
        for link in dead:
            lookup = await client.post("/v1/invites/lookup", json={"token": token_of(link)})
            assert lookup.status_code == 404
            assert lookup.json()["code"] == "invite_not_found"
        unknown = await client.post("/v1/invites/lookup", json={"token": "lzi_" + "A" * 64})
        garbage = await client.post("/v1/invites/lookup", json={"token": "garbage"})
        assert (
            without_request_id(unknown.json())
            == without_request_id(garbage.json())
            == without_request_id(lookup.json())
        )

        stranger = await signup(client, tenant_name="Stranger Co")
        wrong_person = await client.post(
            "/v1/invites/accept",
            json={"token": token_of(mailbox.link_for(other_to))},
            headers=stranger.headers,
        )
        assert wrong_person.status_code == 404
        for link in dead:
            signed_up = await client.post(
                "/v1/auth/signup",
                json={
                    "email": expired_to,
                    "password": "a long enough password",
                    "name": "x",
                    "inviteToken": token_of(link),
                },
            )
            assert signed_up.status_code == 400
        assert (
            await client.post("/v1/invites/lookup", json={"token": token_of(new_link)})
        ).status_code == 200

    async def test_the_raw_token_is_nowhere_in_the_database(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        inbox: tuple[Inbox, int],
        owner: asyncpg.Connection,
    ) -> None:
        address = unique_email("secret")
        await invite(client, boss, address)
        token = token_of(inbox[0].link_for(address))
        secret_part = token.split("_", 1)[1]
        tables = [
            r["tablename"]
            for r in await owner.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        for table in tables:
            hits = await owner.fetchval(
                f"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || $1 || '%'"
                f" OR encode(convert_to(t::text, 'UTF8'), 'escape') LIKE '%' || $1 || '%'",
                secret_part,
            )
            assert hits == 0, f"the raw invite token appears in {table}"

    async def test_reject(
        self, client: httpx.AsyncClient, boss: Account, inbox: tuple[Inbox, int]
    ) -> None:
        address = unique_email("nope")
        await invite(client, boss, address)
        token = token_of(inbox[0].link_for(address))
        assert (await client.post("/v1/invites/reject", json={"token": token})).status_code == 204
        assert (await client.post("/v1/invites/lookup", json={"token": token})).status_code == 404


class TestConsoleBackend:
    async def test_without_smtp_the_link_is_logged(
        self, settings: Settings, database_url: str, owner: asyncpg.Connection
    ) -> None:
        app = create_app(settings, database_url=database_url)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
        ):
            boss = await signup(http)
            address = unique_email("console")
            created = await invite(http, boss, address)
        # The owner's sign-up mailed a verification link too: the invite is the one to `address`.
        [message] = [m for m in app.state.mailer.outbox if m["To"] == address]
        assert message["To"] == address
        english = next(p for p in message.walk() if p.get("Content-Language") == "en")
        assert str(created["acceptUrl"]) in english.get_content()
