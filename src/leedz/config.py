"""Settings read from the environment (and an optional `.env` file).

Every variable is documented in `.env.example`. Development needs none of them: the database is
embedded and the JWT secret is generated once into the data directory. Production refuses to start
without explicit secrets, a real database and explicit CORS origins.
"""

from __future__ import annotations

import enum
import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(RuntimeError):
    """The settings cannot run the server (raised at startup, never per request)."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEEDZ_", env_file=".env", extra="ignore", populate_by_name=True
    )

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = 8000
    # On SIGTERM (or Ctrl-C) in-flight requests get this long to finish; then they are cancelled
    # and the process exits, whatever its clients do (a body that never comes, an open socket).
    # 8 s: the rest of the shutdown fits in Docker's default 10 s before SIGKILL.
    shutdown_grace_seconds: int = Field(default=8, ge=0, le=3600)
    data_dir: Path = Path(".leedz")
    log_level: str = "INFO"
    log_json: bool = True

    # Owner-level URL: migrations run with it, and the app uses it too unless DATABASE_APP_URL is
    # given; either way request transactions switch to `db_app_role` (see kit/db.py).
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "LEEDZ_DATABASE_URL")
    )
    database_app_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_APP_URL", "LEEDZ_DATABASE_APP_URL")
    )
    db_app_role: str = "leedz_app"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_connect_timeout: float = 5.0
    db_statement_timeout_ms: int = 15_000
    # asyncpg's per-connection cache of named prepared statements. 0 behind a transaction-mode
    # pooler without prepared statement support (PgBouncer < 1.21 or max_prepared_statements=0):
    # every query then uses the unnamed statement, parsed again with each execution.
    db_statement_cache_size: int = Field(default=100, ge=0)

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "LEEDZ_REDIS_URL")
    )

    jwt_secret: SecretStr | None = None
    jwt_previous_secret: SecretStr | None = None

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"]
    )
    cors_extension_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)

    web_url: str = "http://localhost:5173"

    # How long a rotated refresh token may be presented again and get the same new pair.
    refresh_grace_seconds: float = 10.0

    # Rate limits ("N/period", moving windows; see kit/ratelimit.py).
    rate_limit_signup: str = "10/hour"
    rate_limit_login_ip: str = "30/minute"
    rate_limit_login_email: str = "10/minute"
    rate_limit_refresh: str = "60/minute"
    rate_limit_invite_lookup: str = "30/minute"
    # Password-reset requests, per client IP and per email address; resending the verification
    # mail, per user; following a reset or verification link (the token), per client IP.
    rate_limit_reset_ip: str = "20/hour"
    rate_limit_reset_email: str = "5/hour"
    rate_limit_verify_resend: str = "5/hour"
    rate_limit_account_link: str = "30/minute"

    # Unverified users may not invite, register agents or create jobs (403 email_not_verified).
    # Unset: on in production, off in development and test (`verified_email_required`).
    require_verified_email: bool | None = None

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Leedz <no-reply@localhost>"
    smtp_starttls: bool = True

    # Agents (docs/agent-protocol.md): a lease lasts this long unless a heartbeat or progress
    # extends it; the reaper looks for expired leases this often; Socket.IO pings this often
    # (a Chrome MV3 service worker is stopped after 30 s without an event).
    # FREE workspaces one user may own (POST /v1/tenants past it: 402 quota_exceeded), so that
    # fresh FREE quotas are not one request away.
    max_free_workspaces_per_user: int = Field(default=2, ge=1, le=1000)
    lease_seconds: int = Field(default=60, ge=5, le=3600)
    reaper_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    # Leads in the trash are deleted for good once trashed longer ago than this (never within a
    # day: the purge role's policy, migration 20261201_1600); the purge looks this often.
    # Imports (docs/imports.md): rows per batch, each batch one transaction and checkpoint.
    import_batch_rows: int = Field(default=1000, ge=1, le=100_000)
    trash_retention_days: int = Field(default=30, ge=1, le=3650)
    trash_purge_interval_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    # The worker of server-run jobs (docs/worker.md): `leedz serve` runs one in-process unless
    # LEEDZ_WORKER=off (then run `leedz worker`); each runs this many jobs at once, holds their
    # lease this long (extended every third of it), and looks for work this often (woken
    # sooner when a job is created).
    worker: bool = True
    worker_concurrency: int = Field(default=1, ge=1, le=64)
    worker_lease_seconds: int = Field(default=60, ge=3, le=3600)
    worker_poll_seconds: float = Field(default=2.0, gt=0, le=300)
    # On shutdown the worker's jobs get this long to end their current batch, then are cancelled
    # (the batch rolls back) and their leases let go for another worker.
    worker_shutdown_grace_seconds: float = Field(default=5.0, ge=0, le=600)
    # Leads a bulk job (BULK_STATUS_UPDATE, BULK_DELETE) changes per transaction (docs/bulk.md).
    bulk_batch_size: int = Field(default=1000, ge=1, le=10_000)
    # Entity resolution of uploaded evidence (docs/resolution.md). `off` stores evidence and
    # resolves nothing, as before resolution existed: a benchmark's ceiling (bench
    # evidence_ingest) and an operator's switch; `leedz leads resolve` catches up afterwards.
    resolution: Literal["on", "off"] = "on"
    socket_ping_interval: float = Field(default=20.0, gt=0, le=20)
    socket_ping_timeout: float = Field(default=20.0, gt=0, le=60)
    # Socket.IO handshakes (both namespaces), against reconnect storms: per client IP, and per
    # server instance whatever the IPs, so that an instance keeps answering its connected
    # clients while thousands come back at once.
    rate_limit_socket_connect: str = "120/minute"
    rate_limit_socket_connect_instance: str = "300/second"

    max_body_bytes: int = 1_048_576

    # Files (docs/files.md): an upload's own limit (POST /v1/files is exempt from
    # max_body_bytes and counts the file's bytes as they arrive); where the bytes live (a
    # directory under data_dir unless `s3://bucket[/prefix]`), and the S3-compatible endpoint.
    # S3 credentials: these two, else boto3's own chain (AWS_ACCESS_KEY_ID, profiles, roles).
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # How long a signed download URL works; how often the file purge looks for expired files.
    download_url_seconds: int = Field(default=300, ge=1, le=7 * 86_400)
    file_purge_interval_seconds: float = Field(default=900.0, gt=0, le=86_400)
    # A trigram index of its own for every tenant with at least this many leads, checked this
    # often by every instance (leads/tenant_indexes.py; docs/search.md).
    search_tenant_index_min_leads: int = Field(default=100_000, ge=1)
    search_tenant_index_interval_seconds: float = Field(default=3600.0, gt=0, le=86_400)

    # Behind proxies (kit/clientip.py; docs/deploy.md): how many stand in front of the app, or
    # their networks (CIDRs, comma-separated; they win over the count). Neither: the peer
    # address is the client's and X-Forwarded-For is ignored.
    proxy_hops: int = Field(default=0, ge=0, le=10)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # When set, /metrics requires `Authorization: Bearer <token>`.
    metrics_token: str | None = None

    _split_origins = field_validator(
        "cors_origins", "cors_extension_ids", "trusted_proxies", mode="before"
    )(_split_csv)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"LEEDZ_TRUSTED_PROXIES: {cidr!r} is not a network") from exc
        return value

    @field_validator(
        "database_url",
        "database_app_url",
        "redis_url",
        "jwt_secret",
        "jwt_previous_secret",
        "metrics_token",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "require_verified_email",
        "storage_url",
        "s3_endpoint_url",
        "s3_region",
        "s3_access_key_id",
        "s3_secret_access_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `.env.example` copied as is leaves `NAME=`: that means "not set", not "empty secret".
        return None if value == "" else value

    @field_validator("db_app_role")
    @classmethod
    def _role_is_identifier(cls, value: str) -> str:
        # The role name is interpolated into GRANT statements in migrations: keep it a plain name.
        if not value.isidentifier() or value.lower() != value:
            raise ValueError("LEEDZ_DB_APP_ROLE must be a lower-case SQL identifier")
        return value

    @property
    def db_reaper_role(self) -> str:
        """The role the lease reaper runs as (created by migration 20261125_1200)."""
        return f"{self.db_app_role}_reaper"

    @property
    def db_purger_role(self) -> str:
        """The role the trash purge runs as (created by migration 20261201_1600)."""
        return f"{self.db_app_role}_purger"

    @property
    def db_worker_role(self) -> str:
        """The role a worker finds waiting server-run jobs as (migration 20261201_1800)."""
        return f"{self.db_app_role}_worker"

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def verified_email_required(self) -> bool:
        """LEEDZ_REQUIRE_VERIFIED_EMAIL, else on exactly in production."""
        if self.require_verified_email is None:
            return self.is_production
        return self.require_verified_email

    @property
    def allowed_origins(self) -> list[str]:
        """Web origins plus `chrome-extension://<id>` for every listed extension."""
        return [*self.cors_origins, *(f"chrome-extension://{i}" for i in self.cors_extension_ids)]

    def check_production(self) -> None:
        """Refuse a production start that would fall back to a development default."""
        if not self.is_production:
            return
        problems = []
        if self.jwt_secret is None or len(self.jwt_secret.get_secret_value()) < 32:
            problems.append("LEEDZ_JWT_SECRET (at least 32 characters) is required")
        if not self.database_url:
            problems.append("DATABASE_URL is required (no embedded database in production)")
        if "cors_origins" not in self.model_fields_set:
            problems.append("LEEDZ_CORS_ORIGINS must be set explicitly")
        if problems:
            raise ConfigurationError("production settings incomplete: " + "; ".join(problems))

    def jwt_signing_secret(self) -> str:
        """The JWT secret: explicit, or generated once into the data directory in development."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self.is_production:
            raise ConfigurationError("LEEDZ_JWT_SECRET is required in production")
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
