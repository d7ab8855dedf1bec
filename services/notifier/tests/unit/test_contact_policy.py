"""Worked examples of ContactPolicy.decide: quiet hours across zones, call caps, opt-outs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.domain.policy import (
    CallOutcome,
    Channel,
    ContactPolicy,
    ContactRequest,
    ContactRules,
    Jurisdiction,
    Outcome,
    PastCall,
    QuietHours,
    Rule,
)

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
POLICY = ContactPolicy()
ADDRESSES = {Channel.SMS: "addr-sms", Channel.EMAIL: "addr-email", Channel.CALL: "num-1"}


def request(now: datetime, **changes: object) -> ContactRequest:
    base = ContactRequest(
        borrower_id="B-1",
        debt_id="L-1",
        purpose="overdue_notice",
        now=now,
        channels=(Channel.SMS,),
        addresses=ADDRESSES,
        timezone="Asia/Shanghai",
        jurisdiction=Jurisdiction.CN,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def call(
    at: datetime, debt: str = "L-1", outcome: CallOutcome = CallOutcome.NO_ANSWER, **kw: object
) -> PastCall:
    return PastCall(at=at, debt_id=debt, number_id="num-1", outcome=outcome, **kw)  # type: ignore[arg-type]


# --- quiet hours -----------------------------------------------------------------------


def test_2330_in_shanghai_is_deferred_to_0800_the_next_morning() -> None:
    now = datetime(2026, 5, 4, 23, 30, tzinfo=SHANGHAI)
    decision = POLICY.decide(request(now))
    assert decision.outcome is Outcome.DEFERRED
    assert decision.rule is Rule.QUIET_HOURS
    assert decision.channel is Channel.SMS
    assert decision.until == datetime(2026, 5, 5, 8, 0, tzinfo=SHANGHAI)
    assert decision.until is not None
    assert decision.until.astimezone(UTC) == datetime(2026, 5, 5, 0, 0, tzinfo=UTC)


def test_2130_is_allowed_in_china_but_quiet_in_the_us() -> None:
    china = POLICY.decide(request(datetime(2026, 5, 4, 21, 30, tzinfo=SHANGHAI)))
    assert china.outcome is Outcome.SENT and china.channel is Channel.SMS
    us = POLICY.decide(
        request(
            datetime(2026, 5, 4, 21, 30, tzinfo=NEW_YORK),
            timezone="America/New_York",
            jurisdiction=Jurisdiction.US,
        )
    )
    assert us.outcome is Outcome.DEFERRED
    assert us.until == datetime(2026, 5, 5, 8, 0, tzinfo=NEW_YORK)


def test_new_york_across_the_november_dst_change_lands_on_0800_est() -> None:
    # 2026-10-31 22:30 EDT (UTC-4); clocks fall back at 02:00 on 1 November, so 08:00 local
    # that morning is EST (UTC-5): 13:00 UTC, not 12:00.
    now = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
    assert now.astimezone(NEW_YORK).hour == 22
    decision = POLICY.decide(
        request(now, timezone="America/New_York", jurisdiction=Jurisdiction.US)
    )
    assert decision.outcome is Outcome.DEFERRED
    assert decision.until == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert decision.until is not None
    local = decision.until.astimezone(NEW_YORK)
    assert (local.hour, local.minute, local.utcoffset()) == (8, 0, timedelta(hours=-5))


def test_unknown_timezone_uses_the_window_allowed_in_every_us_zone() -> None:
    # 12:30 UTC is 08:30 in New York but 02:30 in Honolulu: quiet somewhere, so deferred to
    # 08:00 in Honolulu (18:00 UTC), when it is 13:00/14:00 on the east coast: allowed there.
    now = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
    decision = POLICY.decide(request(now, timezone=None, jurisdiction=Jurisdiction.US))
    assert decision.outcome is Outcome.DEFERRED
    assert decision.until == datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
    # An unparseable zone name is treated as unknown, never as UTC.
    bogus = POLICY.decide(request(now, timezone="Mars/Olympus", jurisdiction=Jurisdiction.US))
    assert bogus.until == decision.until


def test_unknown_zone_at_an_hour_allowed_everywhere_is_sent() -> None:
    now = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # 15:00 NY, 09:00 Honolulu, 11:00 Anchorage
    assert POLICY.decide(request(now, timezone=None, jurisdiction=Jurisdiction.US)).sends


def test_quiet_hours_are_configurable() -> None:
    rules = ContactRules(quiet_hours={Jurisdiction.CN: QuietHours(time(20, 0), time(9, 0))})
    decision = ContactPolicy(rules).decide(request(datetime(2026, 5, 4, 20, 15, tzinfo=SHANGHAI)))
    assert decision.until == datetime(2026, 5, 5, 9, 0, tzinfo=SHANGHAI)


# --- calls -----------------------------------------------------------------------------

NOON = datetime(2026, 5, 10, 12, 0, tzinfo=SHANGHAI)


def call_request(calls: tuple[PastCall, ...], **changes: object) -> ContactRequest:
    return request(NOON, channels=(Channel.CALL,), calls=calls, **changes)


def test_the_eighth_call_for_one_debt_in_seven_days_is_suppressed() -> None:
    seven = tuple(call(NOON - timedelta(days=d)) for d in range(7))  # days 4..10 May
    decision = POLICY.decide(call_request(seven))
    assert decision.outcome is Outcome.SUPPRESSED
    assert decision.rule is Rule.DEBT_CALLS_7_IN_7_DAYS
    # Six calls in the window (the oldest one is eight days back) leave room for one more.
    shifted = (*seven[:6], call(NOON - timedelta(days=7)))
    assert POLICY.decide(call_request(shifted)).sends


def test_borrower_initiated_calls_are_not_counted() -> None:
    six = tuple(call(NOON - timedelta(days=d)) for d in range(6))
    inbound = call(NOON - timedelta(hours=1), borrower_initiated=True)
    assert POLICY.decide(call_request((*six, inbound))).sends


def test_a_call_the_day_after_a_conversation_is_suppressed_until_day_eight() -> None:
    talked = call(NOON - timedelta(days=1), outcome=CallOutcome.CONVERSATION)
    decision = POLICY.decide(call_request((talked,)))
    assert decision.outcome is Outcome.SUPPRESSED
    assert decision.rule is Rule.AFTER_CONVERSATION_7_DAYS
    # Conversation day is day 1: a conversation on 4 May blocks through 10 May, 3 May does not.
    assert not POLICY.decide(
        call_request((call(NOON - timedelta(days=6), outcome=CallOutcome.CONVERSATION),))
    ).sends
    assert POLICY.decide(
        call_request((call(NOON - timedelta(days=7), outcome=CallOutcome.CONVERSATION),))
    ).sends


def test_a_person_with_three_loans_is_held_to_the_per_person_cap() -> None:
    spread = tuple(call(NOON - timedelta(days=d % 7), debt=f"L-{d % 3 + 1}") for d in range(7))
    assert sum(1 for c in spread if c.debt_id == "L-1") < 7
    for debt in ("L-1", "L-2", "L-3"):
        decision = POLICY.decide(call_request(spread, debt_id=debt))
        assert decision.outcome is Outcome.SUPPRESSED
        assert decision.rule is Rule.PERSON_CALLS_7_IN_7_DAYS


def test_six_unanswered_calls_on_one_number_today_stop_the_seventh() -> None:
    rules = ContactRules(calls_per_window=50)
    six = tuple(call(NOON - timedelta(minutes=10 * i)) for i in range(1, 7))
    decision = ContactPolicy(rules).decide(call_request(six))
    assert decision.rule is Rule.UNANSWERED_PER_NUMBER_PER_DAY
    # A call to a different number of the same person is allowed.
    other = ContactPolicy(rules).decide(
        call_request(six, addresses={**ADDRESSES, Channel.CALL: "num-2"})
    )
    assert other.sends


def test_three_connected_robot_calls_a_day_stop_the_fourth() -> None:
    rules = ContactRules(calls_per_window=50)
    robots = tuple(
        call(NOON - timedelta(hours=i), outcome=CallOutcome.ANSWERED, automated=True)
        for i in range(1, 4)
    )
    decision = ContactPolicy(rules).decide(call_request(robots, automated_call=True))
    assert decision.rule is Rule.ROBOT_CONNECTED_PER_DAY
    # A human agent's call is not a robot call.
    assert ContactPolicy(rules).decide(call_request(robots)).rule is None


# --- opt-outs, mandatory notices, third parties ------------------------------------------


def test_opted_out_channel_is_suppressed_for_an_ordinary_message() -> None:
    decision = POLICY.decide(request(NOON, opted_out=frozenset({Channel.SMS})))
    assert decision.outcome is Outcome.SUPPRESSED and decision.rule is Rule.OPT_OUT


def test_mandatory_notice_falls_back_to_another_allowed_channel() -> None:
    decision = POLICY.decide(
        request(
            NOON, mandatory=True, opted_out=frozenset({Channel.SMS}), purpose="credit_report_notice"
        )
    )
    assert decision.outcome is Outcome.SENT and decision.channel is Channel.EMAIL
    assert any("opt_out" in reason for reason in decision.reasons)


def test_mandatory_notice_with_every_channel_opted_out_is_undeliverable() -> None:
    decision = POLICY.decide(request(NOON, mandatory=True, opted_out=frozenset(Channel)))
    assert decision.outcome is Outcome.UNDELIVERABLE
    assert decision.rule is Rule.NO_ALLOWED_CHANNEL
    assert decision.channel is None


def test_never_a_third_party() -> None:
    decision = POLICY.decide(request(NOON, to_third_party=True, mandatory=True))
    assert decision.outcome is Outcome.SUPPRESSED and decision.rule is Rule.THIRD_PARTY


# --- properties --------------------------------------------------------------------------

ZONES = st.sampled_from(
    ["Asia/Shanghai", "America/New_York", "America/Los_Angeles", "Europe/London", None]
)
MOMENTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(MOMENTS, ZONES, st.sampled_from(list(Jurisdiction)))
def test_a_message_is_never_dropped_and_never_sent_in_quiet_hours(
    now: datetime, zone: str | None, jurisdiction: Jurisdiction
) -> None:
    decision = POLICY.decide(request(now, timezone=zone, jurisdiction=jurisdiction))
    assert decision.outcome in (Outcome.SENT, Outcome.DEFERRED)
    moment = decision.until or now
    assert moment >= now
    assert moment - now <= timedelta(hours=24)  # the common US window is short
    quiet = POLICY.rules.quiet_for(jurisdiction)
    zones = [zone] if zone else POLICY.rules.candidate_zones[jurisdiction]
    for name in zones:
        assert not quiet.is_quiet(moment.astimezone(ZoneInfo(name)).time())
    if decision.outcome is Outcome.DEFERRED:
        # Deciding again at the deferred moment sends.
        assert POLICY.decide(request(moment, timezone=zone, jurisdiction=jurisdiction)).sends


@given(st.lists(st.integers(min_value=0, max_value=20 * 24), max_size=30), st.integers(1, 3))
def test_no_allowed_call_ever_breaks_the_seven_day_caps(hours_back: list[int], loans: int) -> None:
    calls = tuple(
        call(NOON - timedelta(hours=h), debt=f"L-{i % loans + 1}") for i, h in enumerate(hours_back)
    )
    decision = POLICY.decide(call_request(calls))
    first = NOON.date() - timedelta(days=6)
    in_window = [c for c in calls if c.at.astimezone(SHANGHAI).date() >= first]
    if decision.sends:
        assert len(in_window) < 7
