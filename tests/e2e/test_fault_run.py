"""The fault run (``bench/faults.py``) at a small size: 50 loans over 8 business days on a
PostgreSQL and Kafka of the test's own (started by ``scripts/infra``: ports 54359 and
27092/27093, data in a temporary directory), while 3 ``kill -9`` of service processes, a
broker restart, a fast and an immediate PostgreSQL restart and a 5 s broker stall run. The
faulted run's report equals the quiet run's, nothing is lost, nothing happens twice.

Not in the default suite (it restarts servers and takes a few minutes on a loaded machine):
``pytest -p no:randomly -m faults`` runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lendkit.testing.bench import bench_module

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> Any:
    return bench_module("faults")


@pytest.fixture(scope="module")
def summary(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    if "faults" not in (request.config.getoption("-m") or ""):
        pytest.skip("the fault run: select it with -m faults")
    faults = _bench()
    infra = faults.Infra(tmp_path_factory.mktemp("fault-infra"), 54359, 27092, 27093)
    try:
        yield faults.fault_run(
            loans=50,
            days=8,
            seed=7,
            kills=3,
            stall_seconds=5,
            infra=infra,
            base_port=8740,
            out=tmp_path_factory.mktemp("fault-run"),
            prefix="faults_test",
        )
    finally:
        infra.stop()


def test_every_scheduled_fault_was_injected_and_survived(summary: Any) -> None:
    kinds = sorted(f["kind"] for f in summary["faults"])
    assert kinds == sorted(
        ["kill"] * 3 + ["broker_restart", "pg_restart_fast", "pg_restart_immediate", "broker_stall"]
    )
    assert summary["faults_injected"] == summary["faults_survived"] == len(kinds)
    assert sum(summary["restarts"].values()) >= 3  # the supervisor restarted every kill


def test_the_faulted_report_equals_the_quiet_one(summary: Any) -> None:
    digests = summary["results_digest"]
    assert digests["quiet"] == digests["faulted"]


def test_nothing_lost_nothing_twice(summary: Any) -> None:
    failed = [i for i in summary["invariants"] if not i["passed"]]
    assert failed == []
    assert summary["lost"] == []
    names = {i["name"] for i in summary["invariants"]}
    assert "every accepted payment allocated exactly once (0 lost)" in names
    assert "no effect twice (penalties, bookings, messages, payments)" in names
    assert summary["lag_zero_seconds_after_last_fault"] is not None


def test_payments_arrived_during_a_close_of_business_in_both_runs(summary: Any) -> None:
    for run in ("quiet", "faulted"):
        burst = summary["burst"][run]
        assert burst["sent"] > 0
        assert burst["accepted"] == burst["sent"]
        assert burst["during_close"], burst
    assert summary["burst"]["quiet"]["sent"] == summary["burst"]["faulted"]["sent"]


def test_writes_under_load_during_a_broker_restart_succeed_or_answer_503(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """``bench/load.py --broker-restart`` at a small size: 20 clients for 24 s against the
    ledger and the overdue service, their own broker stopped after 8 s for 3 s. It exits 0
    only if no answer was a 5xx other than 503, every payment answered 201 is booked once
    and allocated once, none answered otherwise is booked, and both outboxes drain and both
    groups' lag returns to 0 afterwards."""
    if "faults" not in (request.config.getoption("-m") or ""):
        pytest.skip("the fault run: select it with -m faults")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--broker-restart",
            "--users=20",
            "--seconds=24",
            "--loans=40",
            "--broker-down=3",
            "--ledger-port=8751",
            "--overdue-port=8752",
            "--kafka-port=27192",
            "--controller-port=27193",
            "--namespace=loadbr-",
            f"--broker-var={tmp_path / 'broker'}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "half-happened: 0" in done.stdout
    assert "the broker stopped" in done.stdout
