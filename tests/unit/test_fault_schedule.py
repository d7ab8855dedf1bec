"""The fault run's schedule (``bench/faults.py``): seeded, complete, inside the run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ledger", "overdue", "notifier", "restructure")


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_faults", ROOT / "bench" / "faults.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_faults"] = module
    spec.loader.exec_module(module)
    return module


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    faults = _bench()
    first = faults.schedule(42, 60, 20, 20, SERVICES)
    assert first == faults.schedule(42, 60, 20, 20, SERVICES)
    assert first != faults.schedule(43, 60, 20, 20, SERVICES)


def test_twenty_kills_a_broker_restart_two_postgres_restarts_and_a_stall() -> None:
    plan = _bench().schedule(42, 60, 20, 20, SERVICES)
    kinds = [f.kind for f in plan]
    assert kinds.count("kill") == 20
    for kind in ("broker_restart", "pg_restart_fast", "pg_restart_immediate", "broker_stall"):
        assert kinds.count(kind) == 1
    kills = [f for f in plan if f.kind == "kill"]
    assert {f.phase for f in kills} == {"close_of_business", "payments", "relay"}
    assert all(f.service in SERVICES for f in kills)


def test_faults_fall_between_the_second_and_the_last_but_one_day() -> None:
    # the last day's settled wait shows lag 0 after the last fault
    plan = _bench().schedule(7, 8, 3, 5, SERVICES)
    assert all(1 <= f.day <= 6 for f in plan)


def test_no_stall_when_its_seconds_are_zero() -> None:
    plan = _bench().schedule(7, 8, 3, 0, SERVICES)
    assert "broker_stall" not in [f.kind for f in plan]
