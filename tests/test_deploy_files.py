"""The deploy manifests parse and agree with the code they deploy (no Docker engine here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from leedz.cli import app as cli

ROOT = Path(__file__).parents[1]


def load_yaml(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return data


def test_leedz_commands_in_the_manifests_exist() -> None:
    text = "\n".join(
        (ROOT / name).read_text()
        for name in ("Dockerfile", "docker-compose.yml", "render.yaml", "railway.json")
    )
    commands = set(re.findall(r"leedz ((?:db )?[a-z]+)", text))
    assert {"db upgrade", "db seed"} <= commands  # `serve` is the JSON-form CMD, checked below
    runner = CliRunner()
    for command in commands:
        result = runner.invoke(cli, [*command.split(), "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_compose_runs_api_postgres_redis_and_a_release_step() -> None:
    compose = load_yaml("docker-compose.yml")
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert "leedz db upgrade" in " ".join(services["migrate"]["command"])
    assert "REDIS_URL" in services["api"]["environment"]


def test_platform_manifests_gate_on_readiness_after_the_release_step() -> None:
    render = load_yaml("render.yaml")
    web = next(s for s in render["services"] if s["type"] == "web")
    assert web["healthCheckPath"] == "/readyz"
    assert "leedz db upgrade" in web["preDeployCommand"]
    railway = json.loads((ROOT / "railway.json").read_text())
    assert railway["deploy"]["healthcheckPath"] == "/readyz"
    assert "leedz db upgrade" in " ".join(railway["deploy"]["preDeployCommand"])


def test_image_runs_as_non_root_and_never_migrates_at_start() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2
    assert re.search(r"^USER leedz$", dockerfile, re.MULTILINE)
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE)
    assert cmd is not None
    assert json.loads(cmd.group(1)) == ["leedz", "serve"]
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE):
        for path in copied.split():
            assert (ROOT / path).exists(), f"Dockerfile copies a missing path: {path}"


def test_no_secret_values_in_the_manifests() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "LEEDZ_JWT_SECRET: ${LEEDZ_JWT_SECRET:?" in compose
    render = load_yaml("render.yaml")
    web = next(s for s in render["services"] if s["type"] == "web")
    secret = next(v for v in web["envVars"] if v["key"] == "LEEDZ_JWT_SECRET")
    assert secret == {"key": "LEEDZ_JWT_SECRET", "generateValue": True}
