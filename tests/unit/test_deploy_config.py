"""docker-compose.yml stays consistent with the services' (and the console's) settings and
the local scripts."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("ledger", "overdue", "notifier", "restructure")
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.mark.parametrize("service", SERVICES)
def test_every_compose_variable_is_a_setting_of_that_service(service: str) -> None:
    settings_cls = importlib.import_module(f"{service}.settings").Settings
    prefix = settings_cls.model_config["env_prefix"]
    fields = set(settings_cls.model_fields)
    for name in (service, f"{service}-migrate"):
        env = COMPOSE["services"][name]["environment"]
        for var in env:
            assert var.startswith(prefix), f"{name}: {var} lacks the {prefix} prefix"
            assert var.removeprefix(prefix).lower() in fields, f"{name}: {var} is not a setting"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_port_and_database_match_the_local_defaults(service: str) -> None:
    settings = importlib.import_module(f"{service}.settings").Settings()
    spec = COMPOSE["services"][service]
    env = spec["environment"]
    prefix = type(settings).model_config["env_prefix"]
    assert env[f"{prefix}HTTP_PORT"] == str(settings.http_port)
    assert spec["ports"] == [f"127.0.0.1:{settings.http_port}:{settings.http_port}"]
    assert env[f"{prefix}DATABASE_URL"].rsplit("/", 1)[1] == settings.database_url.rsplit("/", 1)[1]
    build = spec["build"]
    assert (build["dockerfile"], build["args"]["SERVICE"]) == ("deploy/service.Dockerfile", service)
    assert (REPO / build["dockerfile"]).exists()


def test_compose_runs_the_console_like_the_services_on_its_local_port() -> None:
    settings_cls = importlib.import_module("console.settings").Settings
    settings = settings_cls()
    fields = set(settings_cls.model_fields)
    spec = COMPOSE["services"]["console"]
    env = spec["environment"]
    for var in env:
        assert var.startswith("CONSOLE_"), f"console: {var} lacks the CONSOLE_ prefix"
        assert var.removeprefix("CONSOLE_").lower() in fields, f"console: {var} is not a setting"
    assert env["CONSOLE_HTTP_PORT"] == str(settings.http_port)
    assert spec["ports"] == [f"127.0.0.1:{settings.http_port}:{settings.http_port}"]
    build = spec["build"]
    assert (build["dockerfile"], build["args"]["SERVICE"]) == (
        "deploy/service.Dockerfile",
        "console",
    )
    assert "command" not in spec, "the image's own command: python -m console"
    assert "console-migrate" not in COMPOSE["services"], "the console has no database"
    assert not any("DATABASE" in var for var in env)


@pytest.mark.parametrize("service", SERVICES)
def test_the_compose_console_reads_each_service_at_its_compose_address(service: str) -> None:
    env = COMPOSE["services"]["console"]["environment"]
    service_env = COMPOSE["services"][service]["environment"]
    port = service_env[f"{service.upper()}_HTTP_PORT"]
    assert env[f"CONSOLE_{service.upper()}_URL"] == f"http://{service}:{port}"
    secret = env[f"CONSOLE_{service.upper()}_JWT_SECRET"]
    assert secret == service_env[f"{service.upper()}_JWT_SECRET"], "it mints with their secret"
    assert env["CONSOLE_JWT_SECRET"] == secret
    assert service in COMPOSE["services"]["console"]["depends_on"]
    kafka = service_env[f"{service.upper()}_KAFKA_BOOTSTRAP_SERVERS"]
    assert env["CONSOLE_KAFKA_BOOTSTRAP_SERVERS"] == kafka, "it tails the same cluster"


def test_each_service_has_its_own_database() -> None:
    sql = (REPO / "deploy/postgres/init-databases.sql").read_text()
    assert sorted(re.findall(r"CREATE DATABASE (\w+);", sql)) == sorted(SERVICES)


def test_compose_postgres_runs_with_the_local_clusters_settings() -> None:
    conf = (REPO / "deploy/postgres/platform.conf").read_text()
    settings = [
        re.sub(r"\s*=\s*", "=", line.strip())
        for line in conf.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    command = COMPOSE["services"]["postgres"]["command"]
    assert command[0] == "postgres"
    assert command[1::2] == ["-c"] * len(settings)
    assert command[2::2] == settings
    assert "max_wal_size=4GB" in settings


def test_compose_kafka_is_the_same_4x_release_as_the_local_scripts() -> None:
    pom = (REPO / "deploy/kafka/pom.xml").read_text()
    local = re.search(r"<kafka.version>([\d.]+)</kafka.version>", pom)
    assert local is not None
    image = COMPOSE["services"]["kafka"]["image"]
    assert image == f"apache/kafka:{local.group(1)}"
    assert local.group(1).startswith("4.")
    env = COMPOSE["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", "KRaft combined mode"


def test_docker_compose_config_is_valid_when_docker_compose_is_available() -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("docker compose is not installed on this machine")
    result = subprocess.run(
        [docker, "compose", "-f", str(REPO / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"JWT_SECRET": "check-only", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stderr
