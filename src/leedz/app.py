"""create_app(): settings, lifespan, middleware, error handlers and routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from leedz import __version__
from leedz.api import include_routers, operation_id
from leedz.auth import accounts
from leedz.auth import mail as account_mail
from leedz.auth.sessions import AuthKeys
from leedz.config import ConfigurationError, Settings, get_settings
from leedz.errors import install_error_handlers, install_problem_documents
from leedz.files.endpoints import UPLOAD_ROUTE
from leedz.files.purge import FilePurger
from leedz.files.storage import storage_for, use_storage
from leedz.gateway import relay
from leedz.gateway.server import Gateway
from leedz.invites import mail as invite_mail
from leedz.kit import migrations
from leedz.kit.clientip import ProxyTrust
from leedz.kit.db import Database
from leedz.kit.events import EventBus
from leedz.kit.http import (
    BodySizeLimitMiddleware,
    CredentialedCORSMiddleware,
    RequestContextMiddleware,
)
from leedz.kit.logging import configure_logging
from leedz.kit.mail import Outbox, mailer_for
from leedz.kit.ratelimit import RateLimits
from leedz.leads.tenant_indexes import TenantSearchIndexer
from leedz.leases.reaper import LeaseReaper
from leedz.trash.purge import TrashPurger
from leedz.worker.handlers import HANDLERS
from leedz.worker.worker import Worker

log = structlog.get_logger("leedz.app")


def _periodic_tasks(
    db: Database, settings: Settings, owner_url: str
) -> tuple[asyncio.Task[None], ...]:
    """Every instance's lease reaper, trash purge, file purge (which sets the process's one
    file store: files/storage.py) and large tenants' search indexes (as the table's owner)."""
    reaper = LeaseReaper(
        db, role=settings.db_reaper_role, interval=settings.reaper_interval_seconds
    )
    purger = TrashPurger(
        db,
        role=settings.db_purger_role,
        retention_days=settings.trash_retention_days,
        interval=settings.trash_purge_interval_seconds,
    )
    file_purger = FilePurger(
        db,
        use_storage(storage_for(settings)),
        role=settings.db_purger_role,
        interval=settings.file_purge_interval_seconds,
    )
    indexer = TenantSearchIndexer(
        owner_url,
        min_leads=settings.search_tenant_index_min_leads,
        interval=settings.search_tenant_index_interval_seconds,
    )
    return (
        asyncio.create_task(reaper.run(), name="lease-reaper"),
        asyncio.create_task(purger.run(), name="trash-purge"),
        asyncio.create_task(file_purger.run(), name="file-purge"),
        asyncio.create_task(indexer.run(), name="tenant-search-indexes"),
    )


def _start_worker(
    db: Database, settings: Settings
) -> tuple[Worker | None, asyncio.Task[None] | None]:
    """The in-process worker of server-run jobs (docs/worker.md), unless LEEDZ_WORKER=off."""
    if not (settings.worker and HANDLERS):
        return None, None
    worker = Worker(db, settings, HANDLERS)
    return worker, asyncio.create_task(worker.run(), name="worker")


async def _stop_worker(worker: Worker | None, working: asyncio.Task[None] | None) -> None:
    """Its current batches end; unfinished jobs go back to PENDING for another worker."""
    if worker is None or working is None:
        return
    worker.request_stop()
    try:
        await working
    except Exception:  # the worker logged what it could; shutdown goes on
        log.exception("worker_stop_failed")


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the ASGI app. `database_url` overrides DATABASE_URL (embedded server, tests)."""
    settings = settings or get_settings()
    settings.check_production()
    url = database_url or settings.database_url
    if not url:
        raise ConfigurationError("no database URL: set DATABASE_URL or start through `leedz serve`")
    configure_logging(settings.log_level, json=settings.log_json)

    bus = EventBus()
    mailer = mailer_for(settings)
    invite_mail.subscribe(bus, mailer, sender=settings.smtp_from)
    accounts.subscribe(bus, lambda: app.state.db)
    outbox = Outbox(mailer)
    account_mail.subscribe(bus, outbox, sender=settings.smtp_from)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = db = Database(settings, url, bus)
        await db.start()
        periodic = _periodic_tasks(db, settings, url)
        app.state.worker, working = _start_worker(db, settings)
        try:
            yield
        finally:
            await _stop_worker(app.state.worker, working)
            for task in periodic:
                task.cancel()
            for task in periodic:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await bus.drain(within_seconds=5.0)
            await outbox.drain()
            await db.dispose()

    app = FastAPI(
        title="Leedz API",
        version=__version__,
        summary="Multi-tenant lead generation: tenants, jobs, agents and their evidence.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.bus = bus
    app.state.proxy_trust = ProxyTrust.of(settings.proxy_hops, settings.trusted_proxies)
    app.state.migration_head = migrations.head_revision()
    keys = AuthKeys.from_secrets(
        settings.jwt_signing_secret(),
        settings.jwt_previous_secret.get_secret_value() if settings.jwt_previous_secret else None,
        grace_seconds=settings.refresh_grace_seconds,
    )
    app.state.auth_keys = keys
    app.state.access_tokens = keys.access
    app.state.rate_limits = RateLimits(settings.redis_url)
    app.state.mailer = mailer
    app.state.outbox = outbox
    app.state.gateway = gateway = Gateway(
        settings,
        database=lambda: app.state.db,
        access_tokens=keys.access,
        rate_limits=app.state.rate_limits,
    )
    relay.subscribe(bus, gateway)

    install_error_handlers(app)
    install_problem_documents(app)
    include_routers(app)
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, exempt=[UPLOAD_ROUTE]
    )
    app.add_middleware(RequestContextMiddleware)
    # Outermost, so that every answer (errors included) carries the CORS headers a browser needs.
    app.add_middleware(
        CredentialedCORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
    return app


def asgi(app: FastAPI) -> Any:
    """What is served: the Socket.IO gateway under /socket.io/, the API for everything else."""
    gateway: Gateway = app.state.gateway
    return gateway.asgi(app)
