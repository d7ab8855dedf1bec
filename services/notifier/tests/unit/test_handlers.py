"""Handlers on a fake unit of work: triggers are decided once and recorded with their events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from lendkit.contracts import ledger, notifier, overdue, restructure
from lendkit.contracts.money import InstalmentBalance
from lendkit.events import new_event
from notifier.domain.policy import Channel, Jurisdiction
from notifier.domain.profile import ChannelSetting, ContactProfile
from notifier.domain.templates import render
from notifier.service_layer import handlers
from notifier.service_layer.clock import CLOCK

from .fakes import FakeUnitOfWork

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork()
    fake.profiles.profiles["B-1"] = ContactProfile(
        "B-1",
        "zh-CN",
        "Asia/Shanghai",
        Jurisdiction.CN,
        (ChannelSetting(Channel.SMS, "B-1:sms", 1), ChannelSetting(Channel.EMAIL, "B-1:email", 2)),
    )
    yield fake
    CLOCK.pinned = None


def became_overdue(loan: str = "L-1", borrower: str = "B-1") -> Any:
    return new_event(
        overdue.LoanBecameOverdue(
            loan_id=loan,
            borrower_id=borrower,
            business_date=date(2026, 5, 4),
            oldest_unpaid_due_date=date(2026, 5, 3),
            days_past_due=1,
            bucket="1-30",
            overdue_minor=100,
            currency="CNY",
        ),
        source="/tests",
    )


async def test_the_same_trigger_twice_is_one_attempt(uow: FakeUnitOfWork) -> None:
    CLOCK.pinned = datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI)
    event = became_overdue()
    await handlers.on_loan_became_overdue(cast(Any, uow), event)
    await handlers.on_loan_became_overdue(cast(Any, uow), event)
    assert uow.states() == ["decided", "queued"]
    assert uow.attempts.rows[1][1]["channel"] == "sms"
    assert uow.emitted == []  # nothing is sent inside the consumer's transaction


async def test_2330_shanghai_is_recorded_deferred_with_its_event(uow: FakeUnitOfWork) -> None:
    CLOCK.pinned = datetime(2026, 5, 4, 23, 30, tzinfo=SHANGHAI)
    await handlers.on_loan_became_overdue(cast(Any, uow), became_overdue())
    assert uow.states() == ["decided", "deferred"]
    [until] = uow.attempts.deferred.values()
    assert until == datetime(2026, 5, 5, 8, 0, tzinfo=SHANGHAI)
    [event] = uow.emitted
    assert event.payload(notifier.MessageDeferred).until == until


async def test_a_mandatory_notice_without_a_profile_is_undeliverable(uow: FakeUnitOfWork) -> None:
    CLOCK.pinned = datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI)
    notice = overdue.CreditReportNoticeDue(
        loan_id="L-9", borrower_id="B-9", business_date=date(2026, 5, 4), days_past_due=30
    )
    await handlers.on_credit_report_notice_due(cast(Any, uow), new_event(notice, source="/tests"))
    assert uow.states() == ["decided", "undeliverable"]
    [event] = uow.emitted
    suppressed = event.payload(notifier.MessageSuppressed)
    assert suppressed.undeliverable and suppressed.rule == "no_address"


async def test_stage_changes_reach_the_borrower_of_a_known_loan_only(uow: FakeUnitOfWork) -> None:
    CLOCK.pinned = datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI)
    change = overdue.StageChanged(
        loan_id="L-1",
        business_date=date(2026, 5, 4),
        from_stage="early",
        to_stage="mid",
        days_past_due=31,
    )
    await handlers.on_stage_changed(cast(Any, uow), new_event(change, source="/tests"))
    assert uow.states() == []
    uow.loans.borrowers["L-1"] = "B-1"
    await handlers.on_stage_changed(cast(Any, uow), new_event(change, source="/tests"))
    assert uow.states() == ["decided", "queued"]


async def test_a_stage_whose_strategy_calls_opens_a_call_task_beside_the_message(
    uow: FakeUnitOfWork,
) -> None:
    CLOCK.pinned = datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI)
    uow.profiles.profiles["B-1"] = ContactProfile(
        "B-1",
        "zh-CN",
        "Asia/Shanghai",
        Jurisdiction.CN,
        (ChannelSetting(Channel.SMS, "B-1:sms", 1), ChannelSetting(Channel.CALL, "B-1:call", 2)),
    )
    uow.loans.borrowers["L-1"] = "B-1"
    change = overdue.StageChanged(
        loan_id="L-1",
        business_date=date(2026, 5, 4),
        from_stage="reminder",
        to_stage="early",
        days_past_due=4,
    )
    await handlers.on_stage_changed(cast(Any, uow), new_event(change, source="/tests"))
    assert uow.stages.stages["L-1"] == "early"
    rows = [(s.trigger_key, s.state, f.get("channel")) for s, f in uow.attempts.rows]
    [message] = {key for key, _, _ in rows if not key.startswith("call:")}
    assert [r[1:] for r in rows if r[0] == message] == [("decided", None), ("queued", "sms")]
    assert [r[1:] for r in rows if r[0] == f"call:{message}"] == [
        ("decided", None),
        ("task_open", "call"),
    ]
    # In the reminder stage (default strategy) no call is asked for.
    uow.attempts.rows.clear()
    back = change.model_copy(update={"from_stage": "early", "to_stage": "reminder"})
    await handlers.on_stage_changed(cast(Any, uow), new_event(back, source="/tests"))
    assert uow.states() == ["decided", "queued"]


class _Delivered:
    """A consumed event carrying a payload whose type the catalogue may not list yet."""

    def __init__(self, payload: object) -> None:
        self.id = "ev-restructure-1"
        self._payload = payload

    def payload(self, model: type) -> object:
        assert isinstance(self._payload, model)
        return self._payload


async def test_an_offer_made_and_a_broken_plan_reach_the_borrower_in_their_language(
    uow: FakeUnitOfWork,
) -> None:
    CLOCK.pinned = datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI)
    uow.loans.borrowers["L-1"] = "B-1"
    offer = restructure.OfferMade(
        offer_id="O-1",
        loan_id="L-1",
        plan_type="term_extension",
        expires_on=date(2026, 5, 11),
        made_by="ops-1",
    )
    broken = restructure.PlanBroken(
        plan_id="P-1",
        loan_id="L-1",
        broken_on=date(2026, 5, 4),
        missed_seq=2,
        on_break="resume_collections",
    )
    await handlers.on_offer_made(cast(Any, uow), cast(Any, _Delivered(offer)))
    await handlers.on_plan_broken(cast(Any, uow), cast(Any, _Delivered(broken)))
    queued = [s for s, _ in uow.attempts.rows if s.state == "queued"]
    assert [s.purpose for s in queued] == ["restructure_offer", "plan_broken"]
    texts = [render(s.purpose, "zh-CN", "sms", s.context).body for s in queued]
    assert "2026-05-11" in texts[0] and "重组方案" in texts[0]
    assert "2026-05-04" in texts[1] and "中断" in texts[1]


async def test_a_due_reminder_of_a_loan_in_collections_asks_for_no_call(
    uow: FakeUnitOfWork,
) -> None:
    CLOCK.pinned = datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI)
    uow.profiles.profiles["B-1"] = ContactProfile(
        "B-1",
        "en",
        "Asia/Shanghai",
        Jurisdiction.CN,
        (ChannelSetting(Channel.SMS, "B-1:sms", 1), ChannelSetting(Channel.CALL, "B-1:call", 2)),
    )
    uow.stages.stages["L-1"] = "mid"
    due = ledger.RepaymentDue(
        loan_id="L-1",
        borrower_id="B-1",
        seq=3,
        due_date=date(2026, 5, 4),
        amount_due_minor=10_000,
        currency="CNY",
        balance=InstalmentBalance(
            seq=3,
            due_date=date(2026, 5, 4),
            principal_minor=9_000,
            interest_minor=1_000,
            penalty_minor=0,
            fee_minor=0,
        ),
        business_date=date(2026, 5, 4),
    )
    await handlers.on_repayment_due(cast(Any, uow), new_event(due, source="/tests"))
    assert uow.states() == ["decided", "queued"]


async def test_a_promise_falling_due_reminds_the_borrower_of_what_is_still_owed_without_a_call(
    uow: FakeUnitOfWork,
) -> None:
    CLOCK.pinned = datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI)
    uow.loans.borrowers["L-1"] = "B-1"
    uow.profiles.profiles["B-1"] = ContactProfile(
        "B-1",
        "zh-CN",
        "Asia/Shanghai",
        Jurisdiction.CN,
        (ChannelSetting(Channel.SMS, "B-1:sms", 1), ChannelSetting(Channel.CALL, "B-1:call", 2)),
    )
    uow.stages.stages["L-1"] = "mid"  # a stage whose strategy calls: not for this reminder
    due = restructure.PromiseFallingDue(
        promise_id="PR-1",
        loan_id="L-1",
        business_date=date(2026, 5, 4),
        promised_on=date(2026, 5, 5),
        amount_minor=50_000,
        remaining_minor=30_000,
        currency="CNY",
    )
    event = new_event(due, source="/tests/restructure")
    await handlers.on_promise_falling_due(cast(Any, uow), event)
    await handlers.on_promise_falling_due(cast(Any, uow), event)  # redelivered: one reminder
    [(queued, fields)] = [(s, f) for s, f in uow.attempts.rows if s.state == "queued"]
    assert uow.states() == ["decided", "queued"]  # no call task beside it
    assert (queued.purpose, fields["channel"]) == ("promise_due", "sms")
    body = render(queued.purpose, "zh-CN", "sms", queued.context).body
    assert "2026-05-05" in body and "300.00" in body and "尚需还款" in body
    assert "500.00" not in body  # what is still owed, not what was promised
