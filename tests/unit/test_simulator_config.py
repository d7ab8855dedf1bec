from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from simulator.config import load_config

pytestmark = pytest.mark.unit


def test_defaults_are_the_main_command_size() -> None:
    config = load_config()
    assert (config.loans, config.days) == (10_000, 90)


def test_a_yaml_file_overrides_the_defaults_and_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("loans: 20\narchetypes:\n  defaulter:\n    weight: 50\n")
    config = load_config(path, days=5)
    assert (config.loans, config.days) == (20, 5)
    assert config.archetypes.defaulter.weight == 50
    assert config.archetypes.on_time.weight == 55  # untouched keys keep their defaults


def test_a_toml_file_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "model.toml"
    path.write_text("seed = 99\n[reversals]\nshare = 0.5\n")
    config = load_config(path)
    assert (config.seed, config.reversals.share) == (99, 0.5)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("archetypes:\n  on_time:\n    wieght: 3\n")
    with pytest.raises(ValidationError):
        load_config(path)


def test_the_running_platform_is_read_from_the_services_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from simulator.target import PlatformTarget

    monkeypatch.setenv("LEDGER_HTTP_PORT", "9101")
    monkeypatch.setenv("LEDGER_TOPIC_NAMESPACE", "staging.")
    monkeypatch.setenv("OVERDUE_CONSUMER_GROUP", "overdue-blue")
    target = PlatformTarget.from_service_settings({"notifier": "http://notifier.test"})
    assert target.urls["ledger"] == "http://127.0.0.1:9101"
    assert target.urls["notifier"] == "http://notifier.test"
    assert target.topic("ledger.loans") == "staging.ledger.loans"
    assert target.dead_letter_topic("overdue") == "staging.overdue-blue.dlt"
    assert target.databases["ledger"].startswith("postgresql://")


def test_the_default_model_loads_when_run_from_the_repository_root() -> None:
    """``scripts/run.sh`` runs ``python -m simulator`` from the repository's root, where
    the project folder ``simulator/`` comes first on the path."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from simulator.config import load_config; print(load_config().loans)",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10000"
