"""The credit-report gate: negative information only after a delivered notice and a wait.

States and moves (one delinquency episode; a cure starts over)::

    NOT_DUE --(DPD >= notice DPD)--> NOTICE_DUE          emits CreditReportNoticeDue
    NOTICE_DUE --(notifier: delivered on d)--> NOTICE_DELIVERED   emits NoticeDeliveryRecorded
    NOTICE_DELIVERED --(d + wait_days <= as_of and still in arrears)--> REPORTABLE
                                                         emits BecameReportable
    any --(DPD 0: nothing past due)--> NOT_DUE           emits CreditReportGateReset

Rules the function keeps:

- There is no path to REPORTABLE that does not pass NOTICE_DELIVERED, so a loan is
  never reportable without a delivered notice.
- "Still delinquent" means in arrears (DPD > arrears grace) on the day the gate
  opens. Once REPORTABLE the gate stays open until the loan is cured (DPD 0).
- A delivery receipt is honoured only while a notice is due for the current episode:
  receipts while NOT_DUE (for example, late receipts after a cure) or dated before the
  notice became due are ignored, and a repeated receipt keeps the first delivery date.
- Observations are idempotent: replaying one emits nothing new.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from overdue.domain.delinquency import is_in_arrears
from overdue.domain.policy import OverduePolicy


class GateStatus(StrEnum):
    NOT_DUE = "not_due"
    NOTICE_DUE = "notice_due"
    NOTICE_DELIVERED = "notice_delivered"
    REPORTABLE = "reportable"


@dataclass(frozen=True)
class CreditReportGate:
    status: GateStatus = GateStatus.NOT_DUE
    notice_due_on: date | None = None
    notice_delivered_on: date | None = None
    reportable_on: date | None = None

    @property
    def is_reportable(self) -> bool:
        return self.status is GateStatus.REPORTABLE


# Inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DelinquencyObserved:
    """The loan's DPD at close of business on ``as_of``."""

    as_of: date
    dpd: int


@dataclass(frozen=True)
class NoticeDelivered:
    """The notifier's receipt: the pre-report notice reached the borrower on ``delivered_on``."""

    delivered_on: date


GateInput = DelinquencyObserved | NoticeDelivered


# Facts to emit ------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditReportNoticeDue:
    """Ask the notifier to send the pre-report notice."""

    as_of: date
    dpd: int


@dataclass(frozen=True)
class NoticeDeliveryRecorded:
    delivered_on: date
    reportable_from: date


@dataclass(frozen=True)
class BecameReportable:
    """Integrators (credit bureaus) may now report the delinquency."""

    as_of: date
    dpd: int
    notice_delivered_on: date


@dataclass(frozen=True)
class CreditReportGateReset:
    as_of: date
    previous_status: GateStatus


GateFact = CreditReportNoticeDue | NoticeDeliveryRecorded | BecameReportable | CreditReportGateReset


def advance_credit_report_gate(
    gate: CreditReportGate, event: GateInput, policy: OverduePolicy
) -> tuple[CreditReportGate, tuple[GateFact, ...]]:
    """The gate after ``event``, and the facts to emit (empty when nothing changed)."""
    if isinstance(event, NoticeDelivered):
        return _record_delivery(gate, event, policy)
    return _observe(gate, event, policy)


def reportable_from(delivered_on: date, policy: OverduePolicy) -> date:
    """First date on which a loan whose notice was delivered on ``delivered_on`` may be
    reported (if still in arrears)."""
    return delivered_on + timedelta(days=policy.credit_report_wait_days)


def _record_delivery(
    gate: CreditReportGate, event: NoticeDelivered, policy: OverduePolicy
) -> tuple[CreditReportGate, tuple[GateFact, ...]]:
    if gate.status is not GateStatus.NOTICE_DUE:
        return gate, ()
    if gate.notice_due_on is not None and event.delivered_on < gate.notice_due_on:
        return gate, ()
    delivered = replace(
        gate, status=GateStatus.NOTICE_DELIVERED, notice_delivered_on=event.delivered_on
    )
    return delivered, (
        NoticeDeliveryRecorded(event.delivered_on, reportable_from(event.delivered_on, policy)),
    )


def _observe(
    gate: CreditReportGate, event: DelinquencyObserved, policy: OverduePolicy
) -> tuple[CreditReportGate, tuple[GateFact, ...]]:
    if event.dpd < 0:
        raise ValueError(f"DPD must not be negative, got {event.dpd}")
    if event.dpd == 0:
        if gate.status is GateStatus.NOT_DUE:
            return gate, ()
        return CreditReportGate(), (CreditReportGateReset(event.as_of, gate.status),)

    if gate.status is GateStatus.NOT_DUE:
        if event.dpd < policy.credit_report_notice_dpd:
            return gate, ()
        due = CreditReportGate(status=GateStatus.NOTICE_DUE, notice_due_on=event.as_of)
        return due, (CreditReportNoticeDue(event.as_of, event.dpd),)

    if gate.status is GateStatus.NOTICE_DELIVERED:
        delivered_on = gate.notice_delivered_on
        if delivered_on is None:  # pragma: no cover - NOTICE_DELIVERED always has a date
            raise AssertionError("NOTICE_DELIVERED without a delivery date")
        waited = reportable_from(delivered_on, policy) <= event.as_of
        if waited and is_in_arrears(event.dpd, policy):
            opened = replace(gate, status=GateStatus.REPORTABLE, reportable_on=event.as_of)
            return opened, (BecameReportable(event.as_of, event.dpd, delivered_on),)

    return gate, ()
