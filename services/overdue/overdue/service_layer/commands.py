"""The API's use cases: ``async def <verb>(uow, ...) -> <Result dataclass>``.

Each runs inside the caller's unit of work (the route's ``idempotent_post``), which
commits; a refusal (``overdue.domain.errors``) rolls it back and is answered as
problem+json by the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from overdue.adapters.records import TrackedLoan
from overdue.domain.errors import LoanNotFound, NoBusinessDayClosed, WaiverNotAllowed
from overdue.domain.penalty import InvalidWaiver
from overdue.service_layer.pause import pause_loan, resume_loan
from overdue.service_layer.penalty_waivers import WaiverPart, record_penalty_waiver
from overdue.service_layer.unit_of_work import OverdueUnitOfWork


@dataclass(frozen=True)
class PauseResult:
    loan_id: str
    paused: bool
    changed: bool
    """False when the loan already was in that state (nothing emitted)."""


@dataclass(frozen=True)
class WaiverResult:
    """A waiver spread over instalments oldest first (``parts``)."""

    loan_id: str
    amount_minor: int
    penalty_owed_minor: int
    business_date: date
    parts: tuple[WaiverPart, ...]


async def _loan_for_update(uow: OverdueUnitOfWork, loan_id: str) -> TrackedLoan:
    loan = await uow.loans.get(loan_id, lock=True)
    if loan is None:
        raise LoanNotFound()
    return loan


async def pause(uow: OverdueUnitOfWork, loan_id: str, *, reason: str, actor: str) -> PauseResult:
    """Pause delinquency tracking and penalty accrual (audited with the actor)."""
    loan = await _loan_for_update(uow, loan_id)
    changed = await pause_loan(uow, loan, reason=reason, actor=actor)
    return PauseResult(loan_id, paused=True, changed=changed)


async def resume(uow: OverdueUnitOfWork, loan_id: str, *, reason: str, actor: str) -> PauseResult:
    loan = await _loan_for_update(uow, loan_id)
    changed = await resume_loan(uow, loan, reason=reason, actor=actor)
    return PauseResult(loan_id, paused=False, changed=changed)


async def waive_penalty(
    uow: OverdueUnitOfWork,
    loan_id: str,
    *,
    amount_minor: int,
    reason: str,
    waived_by: str,
    business_date: date | None,
) -> WaiverResult:
    """Waive penalty assessed on or before ``business_date`` (the last closed day unless
    given). Raises ``WaiverNotAllowed`` for an amount that cannot apply whole."""
    loan = await _loan_for_update(uow, loan_id)
    on = business_date if business_date is not None else await uow.days.latest()
    if on is None:
        raise NoBusinessDayClosed()
    try:
        waiver = await record_penalty_waiver(
            uow,
            loan,
            amount_minor=amount_minor,
            reason=reason,
            waived_by=waived_by,
            business_date=on,
        )
    except InvalidWaiver as exc:
        raise WaiverNotAllowed(str(exc)) from exc
    return WaiverResult(loan_id, waiver.amount_minor, waiver.penalty_owed_minor, on, waiver.parts)
