from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.app import create_app
from leedz.config import Settings
from leedz.kit import migrations
from leedz.kit.db import PublicTx
from tests.support.proxy import OutageProxy


class TestHealth:
    async def test_healthz_answers_without_the_database(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_readyz_reports_the_migration_head(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ready",
            "database": "ok",
            "migration": migrations.head_revision(),
        }

    async def test_readyz_is_503_when_the_schema_is_behind(
        self, client: httpx.AsyncClient, owner: asyncpg.Connection
    ) -> None:
        head = migrations.head_revision()
        await owner.execute("UPDATE alembic_version SET version_num = 'older'")
        try:
            response = await client.get("/readyz")
        finally:
            await owner.execute("UPDATE alembic_version SET version_num = $1", head)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["migration"] == "older"


class TestMetrics:
    async def test_counts_requests_by_route_template(self, client: httpx.AsyncClient) -> None:
        await client.get("/healthz")
        await client.get("/v1/plans")
        await client.get("/v1/does/not/exist/123")
        text = (await client.get("/metrics")).text
        assert 'leedz_http_requests_total{method="GET",route="/healthz",status="200"}' in text
        assert 'leedz_http_requests_total{method="GET",route="/v1/plans",status="200"}' in text
        assert 'route="unmatched",status="404"' in text
        assert "/v1/does/not/exist/123" not in text
        assert "leedz_http_request_duration_seconds_bucket" in text


class TestMetricsToken:
    @pytest.fixture
    def app(self, settings: Settings, database_url: str) -> FastAPI:
        settings.metrics_token = "metrics-" + "t" * 32
        return create_app(settings, database_url=database_url)

    async def test_token_protects_metrics_when_configured(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await client.get(
            "/metrics", headers={"authorization": f"Bearer {settings.metrics_token}"}
        )
        assert ok.status_code == 200


class TestDatabaseOutage:
    """The database disappears behind a proxy and comes back; the API is never restarted."""

    @pytest.fixture
    async def proxy(self, database_url: str) -> AsyncIterator[OutageProxy]:
        proxy = OutageProxy(database_url)
        await proxy.start()
        yield proxy
        await proxy.cut()

    @pytest.fixture
    def app(self, settings: Settings, database_url: str, proxy: OutageProxy) -> FastAPI:
        """The app, connected through the proxy (the `client` fixture serves it)."""
        settings.db_connect_timeout = 1.0
        app = create_app(settings, database_url=proxy.url_for(database_url))

        @app.get("/_probe/db")
        async def probe_db(tx: PublicTx) -> dict[str, int]:
            return {"one": await tx.raw.fetchval("SELECT 1")}

        return app

    async def test_requests_get_a_fast_503_and_recover(
        self, client: httpx.AsyncClient, proxy: OutageProxy
    ) -> None:
        assert (await client.get("/_probe/db")).json() == {"one": 1}
        await proxy.cut()
        for _ in range(3):  # pooled connections are dead, new ones are refused
            started = time.monotonic()
            down = await client.get("/_probe/db")
            assert time.monotonic() - started < 1.5
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == "application/problem+json"
            assert down.json()["code"] == "database_unavailable"
            assert "Traceback" not in down.text
        await proxy.restore()
        assert (await client.get("/_probe/db")).json() == {"one": 1}

    async def test_readyz_turns_503_and_recovers(
        self, client: httpx.AsyncClient, proxy: OutageProxy
    ) -> None:
        assert (await client.get("/readyz")).status_code == 200

        await proxy.cut()
        started = time.monotonic()
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert time.monotonic() - started < 3.0
        assert down.json()["database"] == "unreachable"
        assert (await client.get("/healthz")).status_code == 200

        await proxy.restore()
        for _ in range(20):
            if (await client.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("/readyz did not recover after the database came back")
