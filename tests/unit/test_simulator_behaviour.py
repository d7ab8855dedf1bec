"""The behaviour model is deterministic: the same seed draws the same portfolio and the same
decisions, whatever order they are asked in."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from simulator.behaviour import Act, Archetype, LoanView, decide, draw, portfolio, reversal_day
from simulator.config import load_config

pytestmark = pytest.mark.unit


def test_same_seed_draws_the_same_portfolio() -> None:
    config = load_config(loans=300, seed=7)
    assert portfolio(config, "T") == portfolio(config, "T")


def test_another_seed_draws_another_portfolio() -> None:
    a = portfolio(load_config(loans=300, seed=7), "T")
    b = portfolio(load_config(loans=300, seed=8), "T")
    assert [p.archetype for p in a] != [p.archetype for p in b]


def test_portfolio_spans_products_currencies_zones_and_languages() -> None:
    plans = portfolio(load_config(loans=2000, seed=1), "T")
    assert {p.product.schedule_type for p in plans} == {"ANNUITY", "EQUAL_PRINCIPAL", "BULLET"}
    assert {p.currency for p in plans} == {"CNY", "USD"}
    assert {p.region.timezone for p in plans} == {
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
    }
    assert {p.region.language for p in plans} == {"zh-CN", "en"}
    assert {p.archetype for p in plans} == set(Archetype)


def test_a_draw_does_not_depend_on_the_draws_before_it() -> None:
    first = draw(42, "L1", 3, "act").random()
    for i in range(100):
        draw(42, "L2", i, "act").random()
    assert draw(42, "L1", 3, "act").random() == first


def test_on_time_payer_pays_in_full_on_the_due_date() -> None:
    config = load_config(loans=200, seed=3)
    plan = next(p for p in portfolio(config, "T") if p.archetype is Archetype.ON_TIME)
    due = date(2026, 2, 5)
    view = LoanView(due_dates=[due])
    assert decide(config, plan, view, due, 31) == decide(config, plan, view, due, 31)
    assert decide(config, plan, view, due, 31).act is Act.PAY_IN_FULL  # type: ignore[union-attr]
    assert decide(config, plan, view, due - timedelta(days=1), 30) is None


def test_a_delivered_reminder_makes_a_forgetful_borrower_likelier_to_pay() -> None:
    config = load_config(loans=400, seed=5)
    forgetful = [p for p in portfolio(config, "T") if p.archetype is Archetype.FORGETFUL]
    late_since = date(2026, 2, 5)
    paid_without = paid_with = 0
    for plan in forgetful:
        for day in range(40, 50):
            today = late_since + timedelta(days=day - 35)
            quiet = LoanView(due_dates=[late_since], overdue_since=late_since)
            reminded = LoanView(due_dates=[late_since], overdue_since=late_since, delivered={"sms"})
            paid_without += decide(config, plan, quiet, today, day) is not None
            paid_with += decide(config, plan, reminded, today, day) is not None
    assert paid_with > paid_without


def test_defaulter_never_pays_by_default() -> None:
    config = load_config(loans=300, seed=9)
    for plan in (p for p in portfolio(config, "T") if p.archetype is Archetype.DEFAULTER):
        view = LoanView(due_dates=[date(2026, 2, 5)], overdue_since=date(2026, 2, 5))
        assert all(
            decide(config, plan, view, date(2026, 2, 5) + timedelta(d), d) is None
            for d in range(30)
        )


def test_promiser_promises_then_keeps_or_breaks_on_the_day() -> None:
    config = load_config(loans=300, seed=11)
    plan = next(p for p in portfolio(config, "T") if p.archetype is Archetype.PROMISER)
    since = date(2026, 2, 5)
    view = LoanView(due_dates=[since], overdue_since=since)
    today = since + timedelta(days=config.archetypes.promiser.promise_after_dpd)
    decision = decide(config, plan, view, today, 10)
    if decision is not None and decision.act is Act.PROMISE:
        assert decision.promise_date == today + timedelta(
            days=config.archetypes.promiser.promise_in_days
        )
        view.promise_due, view.promised_for = decision.promise_date, since
        on_the_day = decide(config, plan, view, decision.promise_date, 15)
        assert on_the_day is not None and on_the_day.act in (Act.PAY_IN_FULL, Act.BREAK_PROMISE)


def test_reversals_are_about_the_configured_share() -> None:
    config = load_config(seed=13)
    reversed_ = sum(reversal_day(config, f"L{i}", 3) is not None for i in range(20_000))
    assert 0.005 < reversed_ / 20_000 < 0.015
