"""The credit-report gate: never reportable without a delivered notice and the wait."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overdue.domain.credit_report import (
    BecameReportable,
    CreditReportGate,
    CreditReportGateReset,
    CreditReportNoticeDue,
    DelinquencyObserved,
    GateInput,
    GateStatus,
    NoticeDelivered,
    NoticeDeliveryRecorded,
    advance_credit_report_gate,
)
from overdue.domain.policy import OverduePolicy

pytestmark = pytest.mark.unit

POLICY = OverduePolicy()  # notice at DPD 30, wait 14 days, arrears grace 3
DUE = date(2026, 3, 15)


def observed(dpd: int) -> DelinquencyObserved:
    return DelinquencyObserved(as_of=DUE + timedelta(days=dpd), dpd=dpd)


def feed(gate: CreditReportGate, *events: GateInput) -> tuple[CreditReportGate, list[object]]:
    facts: list[object] = []
    for event in events:
        gate, emitted = advance_credit_report_gate(gate, event, POLICY)
        facts.extend(emitted)
    return gate, facts


def test_notice_falls_due_at_dpd_30_and_is_emitted_once() -> None:
    gate, facts = feed(CreditReportGate(), observed(29))
    assert (gate.status, facts) == (GateStatus.NOT_DUE, [])
    gate, facts = feed(gate, observed(30), observed(31))
    assert gate.status is GateStatus.NOTICE_DUE
    assert gate.notice_due_on == date(2026, 4, 14)
    assert facts == [CreditReportNoticeDue(as_of=date(2026, 4, 14), dpd=30)]


def test_reportable_only_after_delivery_plus_14_days() -> None:
    """Notice due 2026-04-14, delivered 2026-04-15 -> reportable from 2026-04-29."""
    gate, _ = feed(CreditReportGate(), observed(30))
    gate, facts = feed(gate, NoticeDelivered(date(2026, 4, 15)))
    assert gate.status is GateStatus.NOTICE_DELIVERED
    assert facts == [NoticeDeliveryRecorded(date(2026, 4, 15), reportable_from=date(2026, 4, 29))]
    gate, facts = feed(gate, observed(44))  # 2026-04-28: 13 days after delivery
    assert (gate.status, facts) == (GateStatus.NOTICE_DELIVERED, [])
    gate, facts = feed(gate, observed(45))  # 2026-04-29: 14 days after delivery
    assert gate.status is GateStatus.REPORTABLE
    assert gate.reportable_on == date(2026, 4, 29)
    assert facts == [BecameReportable(date(2026, 4, 29), 45, notice_delivered_on=date(2026, 4, 15))]
    gate, facts = feed(gate, observed(46))
    assert (gate.status, facts) == (GateStatus.REPORTABLE, [])


def test_never_reportable_while_the_notice_is_undelivered() -> None:
    gate, _ = feed(CreditReportGate(), *(observed(dpd) for dpd in range(1, 400)))
    assert gate.status is GateStatus.NOTICE_DUE
    assert not gate.is_reportable


def test_not_reportable_when_no_longer_in_arrears_after_the_wait() -> None:
    """A partial payment leaves DPD 2 (within the 3-day arrears grace): the gate waits."""
    gate, _ = feed(CreditReportGate(), observed(30), NoticeDelivered(date(2026, 4, 14)))
    gate, facts = feed(gate, DelinquencyObserved(as_of=date(2026, 5, 1), dpd=2))
    assert (gate.status, facts) == (GateStatus.NOTICE_DELIVERED, [])


def test_cure_resets_the_gate_and_a_later_delivery_receipt_is_ignored() -> None:
    gate, _ = feed(CreditReportGate(), observed(30))
    gate, facts = feed(gate, DelinquencyObserved(as_of=date(2026, 4, 16), dpd=0))
    assert gate == CreditReportGate()
    assert facts == [CreditReportGateReset(date(2026, 4, 16), GateStatus.NOTICE_DUE)]
    gate, facts = feed(gate, NoticeDelivered(date(2026, 4, 17)))
    assert (gate, facts) == (CreditReportGate(), [])


def test_reportable_loan_is_reset_by_a_cure() -> None:
    gate, _ = feed(
        CreditReportGate(), observed(30), NoticeDelivered(date(2026, 4, 14)), observed(50)
    )
    assert gate.is_reportable
    gate, facts = feed(gate, DelinquencyObserved(as_of=date(2026, 5, 10), dpd=0))
    assert gate.status is GateStatus.NOT_DUE
    assert facts == [CreditReportGateReset(date(2026, 5, 10), GateStatus.REPORTABLE)]


def test_delivery_receipt_dated_before_the_notice_fell_due_is_ignored() -> None:
    gate, _ = feed(CreditReportGate(), observed(30))
    gate, facts = feed(gate, NoticeDelivered(date(2026, 4, 1)))
    assert (gate.status, facts) == (GateStatus.NOTICE_DUE, [])


def test_repeated_delivery_receipt_keeps_the_first_date() -> None:
    gate, _ = feed(CreditReportGate(), observed(30), NoticeDelivered(date(2026, 4, 15)))
    gate, facts = feed(gate, NoticeDelivered(date(2026, 4, 20)))
    assert (gate.notice_delivered_on, facts) == (date(2026, 4, 15), [])


gate_inputs = st.one_of(
    st.builds(
        DelinquencyObserved,
        as_of=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        dpd=st.integers(0, 400),
    ),
    st.builds(NoticeDelivered, delivered_on=st.dates(date(2026, 1, 1), date(2027, 12, 31))),
)


@given(st.lists(gate_inputs, max_size=40))
def test_never_reportable_without_a_delivered_notice(events: list[GateInput]) -> None:
    """Whatever arrives in whatever order, each REPORTABLE gate has a delivery on record
    that is at least the wait before it opened, and every opening followed a delivery
    recorded since the last reset."""
    gate = CreditReportGate()
    delivered_since_reset = False
    for event in events:
        gate, facts = advance_credit_report_gate(gate, event, POLICY)
        for fact in facts:
            if isinstance(fact, NoticeDeliveryRecorded):
                delivered_since_reset = True
            elif isinstance(fact, CreditReportGateReset):
                delivered_since_reset = False
            elif isinstance(fact, BecameReportable):
                assert delivered_since_reset
        if gate.is_reportable:
            assert gate.notice_delivered_on is not None
            assert gate.reportable_on is not None
            assert gate.notice_delivered_on + timedelta(days=14) <= gate.reportable_on


@given(st.lists(st.integers(0, 400), max_size=60))
def test_without_any_delivery_receipt_the_gate_never_opens(dpds: list[int]) -> None:
    gate = CreditReportGate()
    for offset, dpd in enumerate(dpds):
        gate, facts = advance_credit_report_gate(
            gate, DelinquencyObserved(DUE + timedelta(days=offset), dpd), POLICY
        )
        assert not any(isinstance(f, BecameReportable) for f in facts)
        assert gate.status is not GateStatus.REPORTABLE
