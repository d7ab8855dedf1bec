"""Report computations on small worked examples (numbers checkable by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from simulator.invariants import effects_once, in_quiet, notices_given
from simulator.observer import Seen
from simulator.record import CapTerms, Contact, RunRecord
from simulator.report import (
    bucket_distribution,
    contacts,
    cure_rates,
    digest,
    right_party_contact,
    roll_rates,
    vintage_curves,
)

pytestmark = pytest.mark.unit


def test_roll_rates_by_count_and_by_balance() -> None:
    # Three loans current at day 0 (balances 100, 200, 300); at day 30 one rolled to 1-30.
    # One loan 1-30 at day 0 (balance 50) is current again at day 30.
    snapshots = {
        0: {"a": ("current", 100), "b": ("current", 200), "c": ("current", 300), "d": ("1-30", 50)},
        30: {"a": ("current", 90), "b": ("1-30", 200), "c": ("current", 250), "d": ("current", 40)},
    }
    rolls = roll_rates(snapshots)
    assert rolls["buckets"] == ["current", "1-30"]
    assert rolls["by_count"]["values"]["current"] == {"current": 2, "1-30": 1}
    assert rolls["by_count"]["rates"]["current"]["1-30"] == pytest.approx(1 / 3, abs=1e-6)
    assert rolls["by_balance"]["values"]["current"] == {"current": 400, "1-30": 200}
    assert rolls["by_balance"]["rates"]["current"]["1-30"] == pytest.approx(1 / 3, abs=1e-6)
    assert rolls["by_count"]["rates"]["1-30"]["current"] == 1.0


def test_cure_rate_is_the_share_of_delinquent_loans_current_at_the_window_end() -> None:
    snapshots = {
        0: {"a": ("1-30", 1), "b": ("1-30", 1), "c": ("31-60", 1), "d": ("current", 1)},
        30: {"a": ("current", 1), "b": ("31-60", 1), "c": ("61-90", 1), "d": ("1-30", 1)},
    }
    [window] = cure_rates(snapshots)
    assert (window["delinquent"], window["cured"]) == (3, 1)
    assert window["cure_rate"] == pytest.approx(1 / 3, abs=1e-6)


def test_vintage_curves_start_at_the_vintage_first_day() -> None:
    # vintage 0 from day 0, vintage 1 from day 7 (vintage_days = 7); 4 loans each.
    by_day = [{0: (4, 0)}] * 7 + [{0: (4, 1), 1: (4, 2)}] * 3
    curves = vintage_curves(by_day, 7)
    assert curves["week 1"] == [0.0] * 7 + [0.25] * 3
    assert curves["week 2"] == [0.5] * 3


def test_bucket_distribution_orders_buckets_by_dpd() -> None:
    dist = bucket_distribution([{"1-30": (2, 20), "current": (8, 80)}, {"current": (10, 100)}])
    assert dist["buckets"] == ["current", "1-30"]
    assert dist["loans"] == {"current": [8, 10], "1-30": [2, 0]}
    assert dist["principal_minor"]["1-30"] == [20, 0]


def _contact(i: int, outcome: str, channel: str = "sms", **kw: object) -> Contact:
    purpose = str(kw.pop("purpose", "became_overdue"))
    return Contact(f"L{i}", f"m{i}", purpose, channel, "soft", outcome, first_outcome=outcome, **kw)  # type: ignore[arg-type]


def test_contacts_count_attempts_by_channel_and_suppressions_by_reason() -> None:
    items = [
        _contact(1, "sent", "sms"),
        _contact(2, "deferred", "call"),
        _contact(3, "suppressed", None, rule="opted_out"),  # type: ignore[arg-type]
        _contact(4, "suppressed", None, undeliverable=True),  # type: ignore[arg-type]
    ]
    c = contacts(items)
    assert c["attempted"] == 2
    assert c["by_channel"] == {"call": 1, "sms": 1}
    assert c["suppressed_by_rule"] == {"opted_out": 1, "undeliverable": 1}


def test_right_party_contact_rate_is_delivered_over_sent() -> None:
    items = [
        _contact(1, "sent"),
        _contact(2, "sent"),
        _contact(3, "failed"),
        _contact(4, "sent", "push"),
    ]
    rpc = right_party_contact(items, {"m1": 1, "m4": 1})
    assert (rpc["attempts"], rpc["reached"]) == (4, 2)
    assert rpc["by_channel"]["sms"]["rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert rpc["by_channel"]["push"]["rate"] == 1.0


def test_quiet_hours_wrap_midnight() -> None:
    window = (time(22, 0), time(8, 0))
    assert in_quiet(time(23, 30), window) and in_quiet(time(7, 59), window)
    assert not in_quiet(time(8, 0), window) and not in_quiet(time(21, 59), window)


def _record() -> RunRecord:
    record = RunRecord(date(2026, 1, 5), {"L1": 0}, {"P": CapTerms(Decimal("0.24"), 300)})
    record.on_event(
        Seen(
            "e0",
            "ledger.loan.disbursed.v1",
            "L1",
            {
                "loan_id": "L1",
                "borrower_id": "B1",
                "product_code": "P",
                "currency": "CNY",
                "principal_minor": 100_000,
                "disbursed_on": "2026-01-05",
                "instalments": [
                    {
                        "seq": 1,
                        "due_date": "2026-02-05",
                        "principal_minor": 100_000,
                        "interest_minor": 1_000,
                    }
                ],
            },
        )
    )
    return record


def _penalty(event_id: str, day: str, amount: int) -> Seen:
    return Seen(
        event_id,
        "overdue.penalty.assessed.v1",
        "L1",
        {
            "loan_id": "L1",
            "seq": 1,
            "business_date": day,
            "amount_minor": amount,
            "cap_applied": None,
        },
    )


def test_a_penalty_over_the_absolute_cap_is_a_breach() -> None:
    record = _record()
    record.on_event(_penalty("p1", "2026-02-10", 200))
    assert record.cap_breaches == []
    record.on_event(_penalty("p2", "2026-02-11", 150))  # 350 > 300
    assert record.cap_breaches and "absolute cap 300" in record.cap_breaches[0]


def test_interest_and_penalty_over_the_annual_cost_ceiling_is_a_breach() -> None:
    # 100,000 at 24 % for 37 days (2026-01-05..2026-02-10 inclusive): floor(2432.87) = 2432.
    # Interest due by then 1,000, so a penalty of 1,433 breaks it and 1,432 does not.
    record = RunRecord(date(2026, 1, 5), {"L1": 0}, {"P": CapTerms(Decimal("0.24"), None)})
    record.on_event(_record_disbursed())
    record.on_event(_penalty("p1", "2026-02-10", 1_432))
    assert record.cap_breaches == []
    record.on_event(_penalty("p2", "2026-02-10", 1))
    assert record.cap_breaches


def _record_disbursed() -> Seen:
    return Seen(
        "e0",
        "ledger.loan.disbursed.v1",
        "L1",
        {
            "loan_id": "L1",
            "borrower_id": "B1",
            "product_code": "P",
            "currency": "CNY",
            "principal_minor": 100_000,
            "disbursed_on": "2026-01-05",
            "instalments": [
                {
                    "seq": 1,
                    "due_date": "2026-02-05",
                    "principal_minor": 100_000,
                    "interest_minor": 1_000,
                }
            ],
        },
    )


def test_the_same_penalty_twice_or_a_booking_missing_is_an_effect_failure() -> None:
    record = _record()
    record.on_event(_penalty("p1", "2026-02-10", 10))
    record.on_event(_penalty("p1", "2026-02-10", 10))  # a re-delivered copy: folded once
    assert effects_once(record)[0] == ["penalty p1 (L1 #1) booked 0 times"]
    record.on_event(
        Seen(
            "c1",
            "ledger.charge.booked.v1",
            "L1",
            {"loan_id": "L1", "source_event_id": "p1", "seq": 1, "balances": []},
        )
    )
    assert effects_once(record)[0] == []
    record.on_event(_penalty("p2", "2026-02-10", 10))  # same loan, instalment and day again
    assert any("assessed 2 times" in f for f in effects_once(record)[0])


def test_an_overdue_loan_without_its_notice_fails_and_a_deferred_one_is_pending() -> None:
    record = _record()
    record.on_event(
        Seen(
            "o1",
            "overdue.loan.became_overdue.v1",
            "L1",
            {"loan_id": "L1", "bucket": "1-30", "oldest_unpaid_due_date": "2026-02-05"},
        )
    )
    failures, checked, _ = notices_given(record, time_of_day_driven=False)
    assert checked == 1 and failures
    record.on_event(
        Seen(
            "n1",
            "notifier.message.deferred.v1",
            "L1",
            {
                "loan_id": "L1",
                "message_id": "m1",
                "purpose": "became_overdue",
                "channel": "sms",
                "decided_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
            },
        )
    )
    failures, _, note = notices_given(record, time_of_day_driven=False)
    assert failures == [] and "1 notice(s) deferred" in note
    assert notices_given(record, time_of_day_driven=True)[0]


def test_on_the_simulated_clock_a_notice_deferred_past_the_runs_last_moment_is_pending() -> None:
    record = _record()
    record.on_event(
        Seen(
            "o1",
            "overdue.loan.became_overdue.v1",
            "L1",
            {"loan_id": "L1", "bucket": "1-30", "oldest_unpaid_due_date": "2026-02-05"},
        )
    )
    record.on_event(
        Seen(
            "n1",
            "notifier.message.deferred.v1",
            "L1",
            {
                "loan_id": "L1",
                "message_id": "m1",
                "purpose": "became_overdue",
                "channel": "sms",
                "decided_at": datetime(2026, 2, 9, 15, 30, tzinfo=UTC).isoformat(),
                "until": datetime(2026, 2, 10, 0, 0, tzinfo=UTC).isoformat(),
            },
        )
    )
    last_night = datetime(2026, 2, 9, 15, 30, tzinfo=UTC)
    failures, _, note = notices_given(record, True, clock_end=last_night)
    assert failures == [] and "after the run's last moment" in note
    # Due before the clock's last moment and still not sent: the notice was missed.
    assert notices_given(record, True, clock_end=datetime(2026, 2, 10, 1, 0, tzinfo=UTC))[0]


def test_digest_ignores_key_order() -> None:
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})


def test_a_notice_with_no_allowed_channel_is_the_undeliverable_record() -> None:
    record = _record()
    record.on_event(
        Seen(
            "o1",
            "overdue.loan.became_overdue.v1",
            "L1",
            {"loan_id": "L1", "bucket": "1-30", "oldest_unpaid_due_date": "2026-02-05"},
        )
    )
    record.on_event(
        Seen(
            "n1",
            "notifier.message.suppressed.v1",
            "L1",
            {
                "loan_id": "L1",
                "message_id": "m1",
                "purpose": "became_overdue",
                "rule": "no_allowed_channel",
                "decided_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
            },
        )
    )
    assert notices_given(record, time_of_day_driven=True)[0] == []


def test_a_deferred_send_going_out_later_keeps_its_first_decision_and_is_not_news_again() -> None:
    record = _record()
    deferred = {
        "loan_id": "L1",
        "message_id": "m1",
        "purpose": "due_reminder",
        "channel": "sms",
        "decided_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
    }
    record.on_event(Seen("n1", "notifier.message.deferred.v1", "L1", deferred))
    assert record.take_day()[0] == {"L1": {"sms"}}
    record.on_event(
        Seen(
            "n2",
            "notifier.message.sent.v1",
            "L1",
            {**deferred, "sent_at": datetime(2026, 1, 1, 8, tzinfo=UTC).isoformat()},
        )
    )
    assert record.take_day()[0] == {}
    [contact] = record.contacts.values()
    assert (contact.first_outcome, contact.outcome) == ("deferred", "sent")
    assert contacts([contact])["attempted"] == 1


def _allocated(event_id: str, payment_id: str, penalty: int, interest: int, again: bool) -> Seen:
    return Seen(
        event_id,
        "ledger.payment.allocated.v1",
        "L1",
        {
            "loan_id": "L1",
            "payment_id": payment_id,
            "currency": "CNY",
            "lines": [
                {"seq": 1, "component": "penalty", "amount_minor": penalty},
                {"seq": 1, "component": "interest", "amount_minor": interest},
            ],
            "credit_minor": 0,
            "reallocation": again,
            "balances": [],
        },
    )


def test_a_payment_booked_before_or_after_the_close_reports_the_same_results() -> None:
    """The fault run's finding: a 100 payment arriving during its value date's close was
    booked after that close's 20 penalty in one run (61 penalty, 39 interest at once) and
    before it in the other (41 / 59, then re-allocated to 61 / 39). Same bookings: the compared
    results count the allocation once and total what the payments paid as they stand."""
    after, before = _record(), _record()
    after.on_event(_allocated("a1", "pay-1", 61, 39, again=False))
    before.on_event(_allocated("b1", "pay-1", 41, 59, again=False))
    before.on_event(_allocated("b2", "pay-1", 61, 39, again=True))
    for r in (after, before):
        assert r.types["ledger.payment.allocated.v1"] == 1
        assert r.allocated_totals() == {"CNY": {"interest": 39, "penalty": 61}}
    assert before.reallocations == {"ledger.payment.allocated.v1": 1}
    assert after.reallocations == {}


def test_a_reversed_payment_paid_nothing_in_the_allocated_totals() -> None:
    record = _record()
    record.on_event(_allocated("a1", "pay-1", 10, 90, again=False))
    record.on_event(_allocated("a2", "pay-2", 0, 50, again=False))
    record.on_event(
        Seen(
            "r1",
            "ledger.payment.reversed.v1",
            "L1",
            {"loan_id": "L1", "payment_id": "pay-1", "currency": "CNY", "balances": []},
        )
    )
    assert record.allocated_totals() == {"CNY": {"interest": 50, "penalty": 0}}
