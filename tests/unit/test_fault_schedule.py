"""The fault run's schedule (``bench/faults.py``): seeded, complete, inside the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lendkit.testing.bench import bench_module

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ledger", "overdue", "notifier", "restructure")


def _bench() -> Any:
    return bench_module("faults")


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


def test_the_burst_day_is_seeded_in_the_second_half_and_not_the_last_day() -> None:
    faults = _bench()
    days = [faults.burst_day(seed, 30) for seed in range(50)]
    assert days == [faults.burst_day(seed, 30) for seed in range(50)]
    assert all(15 <= d < 29 for d in days) and len(set(days)) > 1
    assert faults.burst_day(7, 8) in range(4, 7)


def test_a_burst_is_during_the_close_only_if_the_close_began_while_payments_were_in_flight() -> (
    None
):
    faults = _bench()
    burst = faults.Burst(day=3, sent=201, accepted=201, window=(0.0, 1.0), finished=4.0)
    burst.close = (0.3, 2.0)
    assert burst.during_close
    assert burst.achieved_rate == 200.0
    assert burst.answered_rate == 50.2
    burst.close = (4.5, 5.0)  # began after the last answer
    assert not burst.during_close
    check = faults.burst_check(burst, burst)
    assert not check["passed"] and len(check["failures"]) == 2
    refused = faults.Burst(day=3, sent=10, accepted=9, window=(0.0, 0.05), finished=1.0)
    refused.close = (0.01, 0.5)
    failures = faults.burst_check(refused, burst)["failures"]
    assert "quiet run: 1 of 10 not accepted" in failures


def test_unequal_results_name_each_differing_figure_with_both_values() -> None:
    faults = _bench()
    quiet = {"results": {"events": {"a.v1": 3, "b.v1": 2}, "dates": ["d1", "d2"]}}
    same = faults.results_equal(
        quiet, {"results": {"dates": ["d1", "d2"], "events": {"b.v1": 2, "a.v1": 3}}}
    )
    assert same["passed"] and same["failures"] == []
    other = faults.results_equal(
        quiet, {"results": {"events": {"a.v1": 4, "b.v1": 2, "c.v1": 1}, "dates": ["d1", "d2"]}}
    )
    assert not other["passed"]
    assert other["failures"] == [
        "results differ in events.a.v1: 3 vs 4",
        "results differ in events.c.v1: null vs 1",
    ]


def test_the_burst_takes_only_loans_the_close_books_nothing_on() -> None:
    """A loan whose instalment was due four days ago and is unpaid is in bucket 1-30 with a
    penalty running, though not yet "overdue" (grace): the 10,000 x 60 run found such a loan's
    burst payment booked before that close's penalty in one run and after it in the other."""
    from datetime import date, timedelta

    from simulator.behaviour import LoanView
    from simulator.record import LoanFacts

    today = date(2026, 2, 6)

    def facts(loan: str, bucket: str = "current", ever: bool = False) -> LoanFacts:
        return LoanFacts(
            loan, "B", "P", "CNY", 1, date(2026, 1, 5), 0, [], {}, bucket, ever_overdue=ever
        )

    def view(*due_in_days: int) -> LoanView:
        return LoanView(due_dates=[today + timedelta(days=n) for n in due_in_days], due_amounts={})

    views = {
        "clean": view(-10, 7, 14),
        "past-due-in-grace": view(-4, 10, 17),
        "due-yesterday": view(-1, 6, 13),
        "due-in-two-days": view(2, 9, 16),
        "one-left": view(-10, 7),
        "cured-once": view(-10, 7, 14),
        "settled": view(-10, 7, 14),
    }
    views["settled"].settled = True
    loans = {
        "clean": facts("clean"),
        "past-due-in-grace": facts("past-due-in-grace", bucket="1-30"),
        "due-yesterday": facts("due-yesterday"),
        "due-in-two-days": facts("due-in-two-days"),
        "one-left": facts("one-left"),
        "cured-once": facts("cured-once", ever=True),
        "settled": facts("settled"),
    }
    assert _bench().burst_loans(views, loans, today, 1_000) == ["clean"]
    views["also-clean"] = view(-9, 8, 15)
    loans["also-clean"] = facts("also-clean")
    assert _bench().burst_loans(views, loans, today, 1) == ["also-clean"]
