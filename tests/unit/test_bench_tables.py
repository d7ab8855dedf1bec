"""The benchmarks' arithmetic and the one-command table (``bench/all.py``): percentiles,
medians, what a row says is met. No servers: results as the scripts write them."""

from __future__ import annotations

from typing import Any

import pytest

from lendkit.testing.bench import bench_module

pytestmark = pytest.mark.unit


def test_nearest_rank_percentiles() -> None:
    cured = bench_module("payment_to_cured")
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert cured.percentile(values, 0.5) == 50.0
    assert cured.percentile(values, 0.99) == 99.0
    assert cured.percentile([7.0], 0.99) == 7.0
    assert cured.percentile([], 0.5) is None


def test_a_rate_is_held_only_when_the_answers_keep_up() -> None:
    cured = bench_module("payment_to_cured")
    payments, broker = cured.Leg(), cured.Leg()
    payments.first = broker.first = 0.0
    for i in range(100):  # 100 payments at 100/s over 1 s, each cured 30 ms after its send
        key = f"L{i}"
        payments.sent[key] = i / 100
        payments.answered[key] = i / 100 + 0.01
        payments.seen[key] = i / 100 + 0.03
        broker.sent[key] = i / 100
        broker.seen[key] = i / 100 + 0.005
    payments.last_answer = 0.99 + 0.01
    row = cured.summarise(100.0, payments, broker)
    assert row["held"] and row["answered_per_s"] == 100.0
    assert row["cured_p50_ms"] == pytest.approx(30.0)
    assert row["broker_p50_ms"] == pytest.approx(5.0)
    assert row["ratio_p50"] == 6.0
    payments.last_answer = 2.0  # the last answer a second late: 50/s answered
    assert not cured.summarise(100.0, payments, broker)["held"]


def test_medians_of_runs_and_held_only_if_every_run_held() -> None:
    cured = bench_module("payment_to_cured")
    base: dict[str, Any] = {
        "rate": 200.0,
        "payments": 2000,
        "answered_per_s": 199.0,
        "held": True,
        "post_p50_ms": 10.0,
        "post_p99_ms": 50.0,
        "cured_seen": 2000,
        "cured_p50_ms": 30.0,
        "cured_p99_ms": 90.0,
        "broker_p50_ms": 5.0,
        "broker_p99_ms": 20.0,
        "ratio_p50": 6.0,
    }
    runs = [base, base | {"cured_p50_ms": 40.0, "held": False, "cured_seen": 1990}, base]
    m = cured.median_row(runs)
    assert m["cured_p50_ms"] == 30.0 and not m["held"] and m["cured_seen"] == 1990


def _ledger(**over: Any) -> dict[str, Any]:
    return {
        "runs": 3,
        "workers": 1,
        "in_flight": 16,
        "post_per_s": 120.0,
        "post_p50_ms": 80.0,
        "post_p99_ms": 250.0,
        "floor_asyncpg_per_s": 3000.0,
        "floor_pgbench_per_s": 4000.0,
        "get_detail_c8_per_s": 4000.0,
        "get_detail_c8_p99_ms": 3.0,
        "healthz_c8_per_s": 10000.0,
        "batch_per_s": 1300.0,
        "batch_size": 200,
    } | over


def test_the_ledger_rows_compare_with_the_floor_measured_in_the_same_run() -> None:
    table = bench_module("all")
    post, get, batch = table.ledger_rows(_ledger())
    assert post.ratio == "3.0 %" and post.met is False  # 120 of pgbench's 4,000
    assert get.ratio == "x0.40" and get.met is False
    assert batch.ratio == "x10.8" and batch.met is True
    post, _get, _batch = table.ledger_rows(_ledger(post_per_s=450.0, post_p99_ms=40.0))
    assert post.met is True


def test_the_pipeline_rows_are_shares_of_kafkas_own_limit() -> None:
    table = bench_module("all")
    rows = table.pipeline_rows(
        {
            "events": 8000,
            "size": 865,
            "producer_per_s": 40000.0,
            "consumer_per_s": 100000.0,
            "raw_per_s": 40000.0,
            "no_effect_per_s": 14000.0,
            "bookings_per_s": 800.0,
            "no_effect_share": 0.35,
            "bookings_share": 0.02,
        }
    )
    assert [(r.ratio, r.met) for r in rows] == [("35.0 %", True), ("2.0 %", False)]


def test_the_notifier_row_is_met_only_when_the_drain_keeps_up_with_the_close() -> None:
    table = bench_module("all")
    base = {
        "loans": 100_000,
        "runs": 3,
        "cob_s": 1.1,
        "triggers": 11_000,
        "decide_s": 2.0,
        "send_s": 2.2,
        "total_s": 4.2,
        "decisions_per_s": 5_500.0,
        "messages_per_s": 2_300.0,
    }
    [slow] = table.notifier_rows({**base, "ratio": 3.82})
    [kept] = table.notifier_rows({**base, "ratio": 0.95})
    assert (slow.ratio, slow.met, kept.ratio, kept.met) == ("x3.82", False, "x0.95", True)
    assert "11,000" in slow.what and "1.10 s" in slow.baseline


def test_the_markdown_table_has_a_line_per_row() -> None:
    table = bench_module("all")
    rows = table.cob_rows(
        {
            "trigger": "markers",
            "baseline": 100_000,
            "loans": 1_000_000,
            "sizes": {
                "100000": {
                    "runs": 3,
                    "total_s": 2.0,
                    "cob_committed_s": 1.0,
                    "overdue_published_s": 1.5,
                    "penalties_booked_s": 1.9,
                    "notifier_done_s": 1.95,
                    "restructure_done_s": 2.0,
                    "peak_rss_mb": 100.0,
                },
                "1000000": {
                    "runs": 3,
                    "total_s": 15.0,
                    "cob_committed_s": 8.0,
                    "overdue_published_s": 12.0,
                    "penalties_booked_s": 14.0,
                    "notifier_done_s": 15.0,
                    "restructure_done_s": 14.5,
                    "peak_rss_mb": 140.0,
                },
            },
        }
    )
    assert [r.ratio for r in rows] == ["", "x7.50"]
    assert "notifier 15.00 s, restructure 14.50 s" in rows[1].figure
    text = table.markdown(rows, "title")
    assert text.count("\n| close of business") == 2


async def test_a_late_cure_of_a_loan_paid_before_the_leg_is_not_the_legs() -> None:
    """The probe's payments cure their loans late: the leg's subscriber sees those cures too,
    and counted them as its own (13 of 40 loans 'seen' when the leg stopped)."""
    import asyncio
    from types import SimpleNamespace

    cured = bench_module("payment_to_cured")

    def record(key: str) -> SimpleNamespace:
        return SimpleNamespace(key=key.encode(), headers=[("ce_type", b"overdue.loan.cured.v1")])

    batches = [
        {"tp": [record("PROBE-1"), record("PROBE-2"), record("L1")]},
        {"tp": [record("PROBE-3"), record("L2")]},
    ]

    class Consumer:
        async def getmany(self, timeout_ms: int, max_records: int) -> dict[str, Any]:
            return batches.pop(0) if batches else {}

    leg, done = cured.Leg(), asyncio.Event()
    await cured._watch(Consumer(), lambda r: r.key.decode(), leg, {"L1", "L2"}, done)
    assert set(leg.seen) == {"L1", "L2"} and done.is_set()
