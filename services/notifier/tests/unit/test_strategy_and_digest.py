"""The per-stage strategy, the digest grouping and its text, and the simulated time: pure."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from notifier.domain.clock import SimulatedTime
from notifier.domain.digest import digest_groups, is_urgent
from notifier.domain.policy import Channel
from notifier.domain.strategy import DEFAULT_STRATEGY, StageStrategy
from notifier.domain.templates import render, render_digest

pytestmark = pytest.mark.unit

PROFILE_ORDER = (Channel.EMAIL, Channel.CALL, Channel.SMS)


def test_the_strategys_order_wins_over_the_profiles_and_calls_are_never_messages() -> None:
    stage = StageStrategy(channels=(Channel.SMS, Channel.PUSH, Channel.EMAIL))
    assert stage.message_channels(PROFILE_ORDER) == (Channel.SMS, Channel.EMAIL)


def test_a_stage_naming_no_channels_uses_the_borrowers_priority() -> None:
    assert StageStrategy().message_channels(PROFILE_ORDER) == (Channel.EMAIL, Channel.SMS)


def test_the_default_strategy_calls_from_the_early_stage_on() -> None:
    calls = {
        s: DEFAULT_STRATEGY.for_stage(s).call for s in ("current", "reminder", "early", "legal")
    }
    assert calls == {"current": False, "reminder": False, "early": True, "legal": True}


def test_cadence_of_three_days_refuses_a_message_two_days_after_the_last() -> None:
    stage = StageStrategy(cadence_days=3)
    last = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("UTC"))
    assert not stage.cadence_allows(last, datetime(2026, 6, 3, 10, 0, tzinfo=ZoneInfo("UTC")))
    assert stage.cadence_allows(last, datetime(2026, 6, 4, 10, 0, tzinfo=ZoneInfo("UTC")))
    assert StageStrategy().cadence_allows(last, last)


def test_one_borrowers_triggers_of_a_day_group_and_urgent_ones_stand_alone() -> None:
    items = [("B1", "d1", False), ("B2", "d1", False), ("B1", "d1", True), ("B1", "d1", False)]
    groups = digest_groups(items, lambda i: None if i[2] else (i[0], i[1]))
    assert groups == [[items[0], items[3]], [items[1]], [items[2]]]
    assert is_urgent("credit_report_notice", True) and is_urgent("opt_out_confirmation", False)
    assert not is_urgent("became_overdue", False)


def test_a_digest_is_one_text_with_one_opt_out_line() -> None:
    parts = [
        ("became_overdue", {"loan_id": "L1", "days": "2", "amount": "x", "help_url": "h"}),
        ("cured", {"loan_id": "L2"}),
    ]
    digest = render_digest(parts, "zh-CN", "sms")
    assert digest.body.startswith("您今天的贷款提醒：")
    assert "(1) 您的贷款 L1 已逾期 2 天" in digest.body and "(2) 感谢您：贷款 L2" in digest.body
    assert digest.body.count("回复退订或TD退订。") == 1


def test_amounts_are_written_in_the_borrowers_language() -> None:
    context = {"amount": "CN¥1.00", "amount_minor": "123456", "currency": "USD", "due_date": "d"}
    context |= {"penalty_rate": "", "credit_report_dpd": ""}
    assert "$1,234.56" in render("due_reminder", "en", "push", context).body
    assert "US$1,234.56" in render("due_reminder", "zh-CN", "push", context).body


def test_an_opt_out_confirmation_carries_no_opt_out_line() -> None:
    body = render("opt_out_confirmation", "en", "sms", {}).body
    assert "no more messages" in body and "STOP" not in body


def test_simulated_time_is_the_business_date_at_the_time_of_day_in_the_business_zone() -> None:
    shanghai = SimulatedTime(date(2026, 11, 1), time(23, 30), "Asia/Shanghai")
    assert shanghai.instant() == datetime(2026, 11, 1, 15, 30, tzinfo=ZoneInfo("UTC"))
    new_york = SimulatedTime(date(2026, 11, 1), time(8, 0), "America/New_York")  # EST from 02:00
    assert new_york.instant() == datetime(2026, 11, 1, 13, 0, tzinfo=ZoneInfo("UTC"))
