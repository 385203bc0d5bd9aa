from __future__ import annotations

import stat
from pathlib import Path

import pytest

from leedz.config import ConfigurationError, Settings
from leedz.kit.urls import async_url

PRODUCTION_ENV = {
    "LEEDZ_ENV": "production",
    "LEEDZ_JWT_SECRET": "s" * 48,
    "DATABASE_URL": "postgresql://leedz:pw@db.internal:5432/leedz",
    "LEEDZ_CORS_ORIGINS": "https://app.leedz.example",
}


def settings_from(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for name in (*PRODUCTION_ENV, "LEEDZ_CORS_EXTENSION_IDS", "LEEDZ_REQUIRE_VERIFIED_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


class TestProduction:
    def test_complete_settings_start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(monkeypatch, PRODUCTION_ENV)
        settings.check_production()
        assert settings.allowed_origins == ["https://app.leedz.example"]

    @pytest.mark.parametrize(
        ("missing", "message"),
        [
            ("LEEDZ_JWT_SECRET", "LEEDZ_JWT_SECRET"),
            ("DATABASE_URL", "DATABASE_URL"),
            ("LEEDZ_CORS_ORIGINS", "LEEDZ_CORS_ORIGINS"),
        ],
    )
    def test_refuses_to_start_without(
        self, monkeypatch: pytest.MonkeyPatch, missing: str, message: str
    ) -> None:
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        settings = settings_from(monkeypatch, env)
        with pytest.raises(ConfigurationError, match=message):
            settings.check_production()

    def test_requires_verified_emails_unless_told_otherwise(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert settings_from(monkeypatch, PRODUCTION_ENV).verified_email_required is True
        relaxed = {**PRODUCTION_ENV, "LEEDZ_REQUIRE_VERIFIED_EMAIL": "false"}
        assert settings_from(monkeypatch, relaxed).verified_email_required is False

    def test_refuses_a_short_secret(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(monkeypatch, {**PRODUCTION_ENV, "LEEDZ_JWT_SECRET": "short"})
        with pytest.raises(ConfigurationError, match="32 characters"):
            settings.check_production()

    def test_never_generates_a_secret(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != "LEEDZ_JWT_SECRET"}
        settings = settings_from(monkeypatch, {**env, "LEEDZ_DATA_DIR": str(tmp_path)})
        with pytest.raises(ConfigurationError):
            settings.jwt_signing_secret()
        assert not (tmp_path / "jwt-secret").exists()


class TestDevelopment:
    def test_jwt_secret_is_generated_once_and_kept_private(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        settings = settings_from(monkeypatch, {"LEEDZ_DATA_DIR": str(tmp_path / "data")})
        first = settings.jwt_signing_secret()
        second = settings_from(
            monkeypatch, {"LEEDZ_DATA_DIR": str(tmp_path / "data")}
        ).jwt_signing_secret()
        assert first == second
        assert len(first) >= 48
        mode = stat.S_IMODE((tmp_path / "data" / "jwt-secret").stat().st_mode)
        assert mode == 0o600

    def test_cors_lists_are_comma_separated(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(
            monkeypatch,
            {
                "LEEDZ_CORS_ORIGINS": "https://a.example, https://b.example",
                "LEEDZ_CORS_EXTENSION_IDS": "abc,def",
            },
        )
        assert settings.allowed_origins == [
            "https://a.example",
            "https://b.example",
            "chrome-extension://abc",
            "chrome-extension://def",
        ]

    @pytest.mark.parametrize("env", ["development", "test"])
    def test_verified_emails_are_not_required_by_default(
        self, monkeypatch: pytest.MonkeyPatch, env: str
    ) -> None:
        assert settings_from(monkeypatch, {"LEEDZ_ENV": env}).verified_email_required is False
        strict = {"LEEDZ_ENV": env, "LEEDZ_REQUIRE_VERIFIED_EMAIL": "true"}
        assert settings_from(monkeypatch, strict).verified_email_required is True

    def test_app_role_must_be_a_plain_identifier(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(ValueError, match="identifier"):
            settings_from(monkeypatch, {"LEEDZ_DB_APP_ROLE": "x; DROP TABLE users"})


class TestDatabaseUrls:
    def test_plain_urls_use_asyncpg(self) -> None:
        assert async_url("postgresql://u:p@h:5432/d").drivername == "postgresql+asyncpg"
        assert async_url("postgres://u:p@h/d").drivername == "postgresql+asyncpg"

    def test_neon_ssl_parameters_are_translated(self) -> None:
        url = async_url(
            "postgresql://u:p@ep-x.neon.tech/db?sslmode=require&channel_binding=require"
        )
        assert dict(url.query) == {"ssl": "require"}


class TestEnvExample:
    def test_documents_every_setting(self) -> None:
        documented = {
            line.split("=", 1)[0]
            for line in (Path(__file__).parents[1] / ".env.example").read_text().splitlines()
            if line and not line.startswith("#")
        }
        expected = set()
        for name, field in Settings.model_fields.items():
            aliases = getattr(field.validation_alias, "choices", None)
            expected.add(str(aliases[0]) if aliases else f"LEEDZ_{name.upper()}")
        assert documented == expected

    def test_copied_as_is_it_means_development_defaults(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        for line in (Path(__file__).parents[1] / ".env.example").read_text().splitlines():
            if line and not line.startswith("#"):
                name, value = line.split("=", 1)
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("LEEDZ_DATA_DIR", str(tmp_path))
        settings = Settings(_env_file=None)
        assert settings.database_url is None
        assert settings.jwt_secret is None
        assert settings.metrics_token is None
        assert len(settings.jwt_signing_secret()) >= 48
