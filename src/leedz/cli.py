"""`leedz`: serve the API and manage its database."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from leedz.config import ConfigurationError, Settings, get_settings
from leedz.kit import embedded, migrations

if TYPE_CHECKING:
    from leedz.kit.db import Database

app = typer.Typer(help="Leedz API", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database: migrations and seed data", no_args_is_help=True)
app.add_typer(db_app, name="db")
leads_app = typer.Typer(help="Leads: maintenance", no_args_is_help=True)
app.add_typer(leads_app, name="leads")
files_app = typer.Typer(help="Stored files: maintenance", no_args_is_help=True)
app.add_typer(files_app, name="files")

EMBEDDED_DATABASE = "leedz"


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or (outside production) the embedded server under the data directory."""
    if settings.database_url:
        return settings.database_url
    if settings.is_production:
        raise ConfigurationError("DATABASE_URL is required in production")
    typer.echo(f"DATABASE_URL unset: using the embedded PostgreSQL in {settings.data_dir}/pgdata")
    return embedded.ensure_database(settings.data_dir / "pgdata", EMBEDDED_DATABASE)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    # An exception, where SIGTERM's default action would end the process on the spot: `finally`
    # blocks and atexit hooks run, and one of those stops the embedded database
    # (kit/embedded.py). Exit status 128 + N, as a shell reports a process ended by signal N.
    raise SystemExit(128 + signum)


def _hang_up(signum: int, frame: FrameType | None) -> None:
    # The terminal went away: end as on SIGTERM, through whoever handles SIGTERM now (uvicorn's
    # graceful shutdown while serving, _exit_on_signal before and after).
    handler = signal.getsignal(signal.SIGTERM)
    if callable(handler):
        handler(signal.SIGTERM, frame)
    else:
        _exit_on_signal(signal.SIGTERM, frame)


def _end_by_exception_on_signals() -> None:
    """SIGTERM and SIGHUP end the process as Ctrl-C does: by an exception, cleanups included.

    uvicorn handles SIGINT and SIGTERM itself while it serves, then restores these handlers and
    raises the signal again once its shutdown is done; that second SIGTERM lands here.

    SIGINT gets Python's KeyboardInterrupt whatever the parent left: a process started with
    SIGINT ignored (a background job of a script, `cmd &`, and so some CI runners) keeps it
    ignored, as Python installs its handler only over the default action. uvicorn then honours
    Ctrl-C once it serves, but one during the start (initdb, deferred by kit/embedded.py to
    its end) was dropped, and the process went on to serve.

    SIGHUP ignored by the parent stays ignored: that is how `nohup leedz serve` asks to outlive
    its terminal (a handler here would end the server when the session closes).
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, _hang_up)


def _seed(url: str) -> None:
    from leedz.plans.service import seed_plans

    asyncio.run(seed_plans(url))


@app.command()
def serve(
    upgrade: Annotated[bool, typer.Option(help="Apply migrations before serving")] = False,
    seed: Annotated[bool, typer.Option(help="Seed the plan catalog before serving")] = False,
    host: Annotated[str | None, typer.Option(help="Default: LEEDZ_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: LEEDZ_PORT")] = None,
) -> None:
    """Serve the API (HTTP and Socket.IO) until interrupted."""
    import gc

    import uvicorn

    from leedz.app import asgi, create_app

    settings = get_settings()
    settings.check_production()
    _end_by_exception_on_signals()
    url = database_url(settings)
    if upgrade:
        migrations.upgrade(url, app_role=settings.db_app_role)
    if seed:
        _seed(url)
    application = create_app(settings, database_url=url)
    # Everything built so far (modules, the app, its schemas) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it and no longer blocks
    # the event loop during a flood (docs/benchmarks-notes.md, login_flood).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        asgi(application),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        # The client's address is taken behind trusted proxies by kit/clientip.py: uvicorn's
        # own handling believes the leftmost X-Forwarded-For entry, which clients control.
        proxy_headers=False,
        server_header=False,
        # Engine.IO pings every socket itself (LEEDZ_SOCKET_PING_INTERVAL): uvicorn's own
        # websocket pings only doubled the idle work. Socket.IO packets are small, and
        # per-message deflate keeps a zlib compressor and decompressor per connection for
        # packets too small to gain from it (bench agents_connected).
        ws_ping_interval=None,
        ws_per_message_deflate=False,
        # In-flight requests get this long after SIGTERM or Ctrl-C, then are cancelled: a client
        # that never sends its body cannot keep the process alive.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Jobs at once (default: LEEDZ_WORKER_CONCURRENCY)")
    ] = None,
) -> None:
    """Run a worker of server-run jobs (import, export, bulk actions) until SIGTERM or Ctrl-C.

    Any number may run over one database; `leedz serve` runs one too unless LEEDZ_WORKER=off.
    """
    from leedz.kit.logging import configure_logging
    from leedz.worker.handlers import HANDLERS
    from leedz.worker.process import run_worker_process

    settings = get_settings()
    settings.check_production()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    url = database_url(settings)
    configure_logging(settings.log_level, json=settings.log_json)
    asyncio.run(run_worker_process(settings, url, HANDLERS))


@app.command()
def agent(
    url: Annotated[str, typer.Option(help="The Leedz server")] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None, typer.Option(envvar="LEEDZ_AGENT_TOKEN", help="An agent token (lza_…)")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Sign in to register a new agent")] = None,
    password: Annotated[str | None, typer.Option(help="With --email")] = None,
    name: Annotated[str, typer.Option(help="The new agent's name")] = "reference-agent",
    capability: Annotated[
        list[str] | None, typer.Option(help="The new agent's job types (repeat); default all")
    ] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(help="The new agent's parallel jobs (server default: 1)")
    ] = None,
    max_jobs: Annotated[int | None, typer.Option(help="Exit after completing N jobs")] = None,
    work_seconds: Annotated[float, typer.Option(help="Simulated work per job")] = 1.0,
    transport: Annotated[str, typer.Option(help="websocket or polling")] = "websocket",
) -> None:
    """Run the reference agent: claim jobs over Socket.IO and do simulated work (JSON lines)."""
    from leedz.reference_agent.registration import RegistrationFailed, register
    from leedz.reference_agent.runner import AgentOptions, run_agent

    if transport not in ("websocket", "polling"):
        raise typer.BadParameter("websocket or polling", param_hint="--transport")
    if token is None:
        if not (email and password):
            raise typer.BadParameter(
                "give --token (or LEEDZ_AGENT_TOKEN), or --email and --password"
            )
        try:
            registered = register(
                url,
                email=email,
                password=password,
                name=name,
                capabilities=capability,
                max_concurrency=max_concurrency,
            )
        except RegistrationFailed as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        token = str(registered["token"])
        typer.echo(
            f"registered agent {registered['agent']['id']}; its token, shown once"
            f" (use it with --token or LEEDZ_AGENT_TOKEN):\n{token}",
            err=True,
        )
    options = AgentOptions(
        url=url,
        token=token,
        max_jobs=max_jobs,
        work_seconds=work_seconds,
        transport="polling" if transport == "polling" else "websocket",
    )
    try:
        code = asyncio.run(run_agent(options))
    except KeyboardInterrupt:
        code = 130
    if code == 2:
        typer.echo("the server refused the agent token (invalid or revoked)", err=True)
    elif code == 3:
        typer.echo("this agent was revoked by its tenant; register a new one", err=True)
    raise typer.Exit(code)


OPENAPI_PATH = "clients/typescript/openapi.json"  # from the repository root


def openapi_document() -> str:
    """The OpenAPI document as stable JSON (sorted keys, 2-space indent, final newline)."""
    from pydantic import SecretStr

    from leedz.app import create_app
    from leedz.config import Environment

    # Built from defaults alone (model_construct reads no environment and no .env): the document
    # is the same on every machine, needs no database (create_app connects only in its lifespan)
    # and, with an explicit secret, writes nothing under the data directory.
    settings = Settings.model_construct(
        env=Environment.TEST, jwt_secret=SecretStr("openapi-" + "x" * 40)
    )
    spec = create_app(settings, database_url="postgresql://unused@localhost/unused").openapi()
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


@app.command()
def openapi(
    path: Annotated[str, typer.Argument(help="A file, or - for standard output")] = OPENAPI_PATH,
) -> None:
    """Write the OpenAPI document (what clients/typescript is generated from); no database."""
    document = openapi_document()
    if path == "-":
        sys.stdout.write(document)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(document, encoding="utf-8")
    typer.echo(f"wrote {target}", err=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = get_settings()
    migrations.upgrade(database_url(settings), app_role=settings.db_app_role, revision=revision)


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    settings = get_settings()
    migrations.downgrade(database_url(settings), app_role=settings.db_app_role, revision=revision)


@db_app.command("seed")
def db_seed() -> None:
    """Write the plan catalog (FREE, STARTER, PRO, ENTERPRISE); safe to run again."""
    _seed(database_url(get_settings()))
    typer.echo("plans seeded")


@db_app.command("current")
def db_current() -> None:
    """Show the migration the database is at."""
    settings = get_settings()
    migrations.current(database_url(settings), app_role=settings.db_app_role)


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message")],
    autogenerate: Annotated[bool, typer.Option(help="Diff the models against the database")] = True,
) -> None:
    """Create a new date-stamped migration file."""
    settings = get_settings()
    url = database_url(settings) if autogenerate else None
    migrations.revision(message, url=url, autogenerate=autogenerate, app_role=settings.db_app_role)


@asynccontextmanager
async def _database(settings: Settings, url: str) -> AsyncIterator[Database]:
    """A started pool for one command, disposed of however the command ends."""
    from leedz.kit.db import Database

    db = Database(settings, url)
    await db.start()
    try:
        yield db
    finally:
        await db.dispose()


@leads_app.command("purge-trash")
def leads_purge_trash(
    retention_days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Purge leads trashed more than this many days ago (default: the setting)"
        ),
    ] = None,
) -> None:
    """Delete for good the leads in the trash past the retention (what the server does hourly)."""
    from leedz.trash.purge import TrashPurger

    settings = get_settings()
    url = database_url(settings)

    async def purge() -> None:
        async with _database(settings, url) as db:
            purger = TrashPurger(
                db,
                role=settings.db_purger_role,
                retention_days=retention_days or settings.trash_retention_days,
                interval=settings.trash_purge_interval_seconds,
            )
            result = await purger.purge_once()
        if result.skipped:
            typer.echo("another purge was running: what it had not reached is left to it")
        typer.echo(
            f"purged {result.leads} leads in {result.tenants} workspaces"
            f" ({result.merges} merge records dropped)"
        )

    asyncio.run(purge())


@leads_app.command("index-search")
def leads_index_search(
    min_leads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Index on its own every workspace with this many leads (default: the setting)",
        ),
    ] = None,
) -> None:
    """Give every large workspace a search index of its own, and drop those no longer needed
    (what the server does hourly)."""
    from leedz.leads.tenant_indexes import TenantSearchIndexer

    settings = get_settings()
    indexer = TenantSearchIndexer(
        database_url(settings),
        min_leads=min_leads or settings.search_tenant_index_min_leads,
        interval=settings.search_tenant_index_interval_seconds,
    )
    done = asyncio.run(indexer.index_once())
    if done.skipped:
        typer.echo("another instance was indexing: nothing done")
    typer.echo(f"built {len(done.built)} workspace indexes, dropped {len(done.dropped)}")


@files_app.command("purge")
def files_purge() -> None:
    """Delete the expired files, rows and objects, and objects no file names (what the server
    does every 15 minutes, and daily)."""
    from leedz.files.purge import FilePurger
    from leedz.files.storage import storage_for

    settings = get_settings()
    url = database_url(settings)

    async def purge() -> None:
        async with _database(settings, url) as db:
            purger = FilePurger(
                db,
                storage_for(settings),
                role=settings.db_purger_role,
                interval=settings.file_purge_interval_seconds,
            )
            result = await purger.purge_once()
            orphans = await purger.sweep_orphans()
        if result.skipped:
            typer.echo("another purge was running: what it had not reached is left to it")
        typer.echo(
            f"purged {result.files} files in {result.tenants} workspaces"
            f" ({orphans} objects without a file removed)"
        )

    asyncio.run(purge())


TenantOption = Annotated[
    list[str] | None,
    typer.Option(help="A workspace (tenant) id; repeat for several. Default: every one"),
]


def _tenant_ids(named: list[str] | None) -> list[UUID]:
    try:
        return [UUID(t) for t in named or []]
    except ValueError as exc:
        raise typer.BadParameter(f"not a workspace id: {exc}", param_hint="--tenant") from exc


async def _tenants_or_every_one(url: str, named: list[UUID]) -> list[UUID]:
    """The workspaces named, or every one the database role sees (none: said on stderr)."""
    if named:
        return named
    import asyncpg

    from leedz.kit.urls import driver_dsn
    from leedz.resolution.repository import visible_tenant_ids

    conn = await asyncpg.connect(driver_dsn(url))
    try:
        tenants = await visible_tenant_ids(conn)
    finally:
        await conn.close()
    if not tenants:
        typer.echo(
            "no workspace is visible to this database role (row-level security):"
            " name them with --tenant",
            err=True,
        )
    return tenants


@leads_app.command("renormalize")
def leads_renormalize(
    tenant: TenantOption = None,
    dry_run: Annotated[bool, typer.Option(help="Report what would change; write nothing")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Leads per transaction")] = 200,
) -> None:
    """Bring stored leads to the current normalization rules (e-mails, phones, domains, text,
    search text and keys), as after an upgrade that changed them; prints one JSON report per
    workspace. Leads whose new keys another lead holds are left as they are and listed."""
    import asyncpg

    from leedz.leads.renormalize import Renormalization, renormalize_tenant

    settings = get_settings()
    url = database_url(settings)
    named = _tenant_ids(tenant)

    def progress(state: Renormalization) -> None:
        typer.echo(
            f"  {state.tenant_id}: {state.read} leads read, {state.changed} changed", err=True
        )

    async def renormalize() -> int:
        tenants = await _tenants_or_every_one(url, named)
        if not tenants:
            return 1
        failed = 0
        async with _database(settings, url) as db:
            for tenant_id in tenants:
                try:
                    done = await renormalize_tenant(
                        db, tenant_id, batch=batch_size, dry_run=dry_run, on_batch=progress
                    )
                except asyncpg.PostgresError as exc:  # this workspace stops; the next goes on
                    failed += 1
                    report = {"tenantId": str(tenant_id), "error": f"{type(exc).__name__}: {exc}"}
                else:
                    report = done.as_report()
                typer.echo(json.dumps(report, ensure_ascii=False))
        return 1 if failed else 0

    raise typer.Exit(asyncio.run(renormalize()))


@leads_app.command("resolve")
def leads_resolve(
    tenant: TenantOption = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=1000, help="Evidence items per transaction")
    ] = 200,
    restart: Annotated[
        bool,
        typer.Option(help="Forget the checkpoint: resolve again what made no lead"),
    ] = False,
) -> None:
    """Resolve stored evidence into leads (evidence that arrived before resolution, or while
    LEEDZ_RESOLUTION=off): resumable from each workspace's checkpoint, and idempotent."""
    from leedz.resolution.backfill import TenantBackfill, backfill_tenant

    settings = get_settings()
    url = database_url(settings)
    named = _tenant_ids(tenant)

    def progress(state: TenantBackfill) -> None:
        t = state.tally
        typer.echo(
            f"  {state.tenant_id}: {state.done}/{state.pending} items, created {t.created},"
            f" joined {t.joined}, over quota {t.over_quota}"
        )

    async def resolve() -> int:
        tenants = await _tenants_or_every_one(url, named)
        if not tenants:
            return 1
        busy = 0
        totals = [0, 0, 0, 0]
        async with _database(settings, url) as db:
            for tenant_id in tenants:
                typer.echo(f"workspace {tenant_id}")
                state = await backfill_tenant(
                    db, tenant_id, batch=batch_size, restart=restart, on_batch=progress
                )
                if state.busy:
                    busy += 1
                    typer.echo("  another run is resolving this workspace: skipped")
                    continue
                t = state.tally
                for n, value in enumerate((state.done, t.created, t.joined, t.over_quota)):
                    totals[n] += value
                typer.echo(
                    f"  done: {state.done} items in {state.batches} batches; since the"
                    f" checkpoint's start {state.total.resolved} items, {state.total.created}"
                    f" leads created, {state.total.joined} joined"
                )
        typer.echo(
            f"resolved {totals[0]} evidence items in {len(tenants) - busy} workspaces:"
            f" {totals[1]} leads created, {totals[2]} joins, {totals[3]} over quota"
            + (f"; {busy} workspaces skipped (another run)" if busy else "")
        )
        return 0

    raise typer.Exit(asyncio.run(resolve()))


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
