"""A broken plan whose product says ``on_break: restore_original_terms``: the ledger puts
the loan back on the schedule version in force before the plan
(``ledger.domain.restore``), in one transaction, and publishes
``ledger.schedule.rewritten`` (reason ``restore_original_terms``, the plan id, effective
from the plan's own effective date: the original terms govern as if the plan had not
been) with the balances, so the overdue service and the restructure read model follow.
A break with ``resume_collections`` books nothing (the plan's terms stay)."""

from __future__ import annotations

from datetime import date

from ledger.adapters.contract_shapes import open_balances, terms
from ledger.adapters.records import InstalmentRecord, LoanState
from ledger.domain.restore import ChargeLine, ScheduledInstalment, restoration
from ledger.service_layer.settlement import consequences, resettle
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import ScheduleRewritten
from lendkit.contracts.restructure import PlanBroken
from lendkit.errors import Conflict, Invalid, NotFound
from lendkit.events import CloudEvent, new_event

RESTORE = "restore_original_terms"


def _scheduled(i: InstalmentRecord) -> ScheduledInstalment:
    return ScheduledInstalment(i.seq, i.due_date, i.principal, i.interest, i.interest_recognised)


async def restore_original_terms(
    uow: LedgerUnitOfWork, broken: PlanBroken, source_event_id: str
) -> ScheduleRewritten | None:
    """Restore the loan's pre-plan terms on ``broken.broken_on`` (see the module)."""
    if broken.on_break != RESTORE:
        return None
    state = await uow.loans.load(broken.loan_id)
    if state is None:
        raise NotFound(f"no loan {broken.loan_id}")
    rewritten, events = await undo_plan_booking(
        uow,
        state,
        broken.plan_id,
        broken.broken_on,
        reason=RESTORE,
        source_event_id=source_event_id,
    )
    await uow.emit_all(events)
    return rewritten


async def undo_plan_booking(
    uow: LedgerUnitOfWork,
    state: LoanState,
    plan_id: str,
    on: date,
    *,
    reason: str,
    source_event_id: str,
) -> tuple[ScheduleRewritten, list[CloudEvent]]:
    """Put the loan (``state``, locked, with its history) back on the schedule version in
    force before plan ``plan_id`` on ``on``: everything the plan's booking did reversed,
    every payment replayed (``ledger.domain.restore``). A broken plan that restores the
    original terms and a settlement whose completing payment was reversed both end here.
    The ``ledger.schedule.rewritten`` (``reason``) and the re-settlement's events are
    returned, not emitted."""
    loan = state.loan
    booking = await uow.loans.plan_booking(loan.loan_id, plan_id)
    if booking is None:
        raise Invalid(f"plan {plan_id} rewrote no schedule of loan {loan.loan_id}")
    if booking.reference is None:
        raise Invalid(f"plan {plan_id} was booked before bookings kept their reference")
    if loan.schedule_version != booking.last_version:
        raise Conflict(
            f"loan {loan.loan_id} is on schedule version {loan.schedule_version}, not the "
            f"plan's {booking.last_version}; the terms before the plan are not restored over it"
        )
    done = restoration(
        [_scheduled(i) for i in booking.original],
        [_scheduled(i) for i in state.instalments],
        [ChargeLine(c.seq, c.component, c.amount, c.kind) for c in state.charges],
        [ChargeLine(c.seq, c.component, c.amount, c.kind) for c in booking.charges],
        booking.entries,
        on=on,
        plan_date=booking.effective_date,
        currency=loan.currency,
    )
    for n, row in enumerate(done.charges):
        charge = await uow.loans.add_charge(
            loan.loan_id,
            seq=row.seq,
            component=row.component,
            amount=row.amount,
            kind=row.kind,
            business_date=row.business_date or on,
            source_event_id=f"{source_event_id}:restore:{n}",
        )
        if charge is None:
            raise Conflict(f"the terms before plan {plan_id} were restored before")
        state.charges.append(charge)
    await uow.loans.add_journal_entries(
        loan.loan_id, done.entries, business_date=on, reference=f"restore:{plan_id}"
    )
    rows: list[InstalmentRecord] = []
    for i in done.instalments:
        restored = InstalmentRecord.new(i.seq, i.due_date, i.principal, i.interest)
        restored.interest_recognised = i.interest_recognised
        rows.append(restored)
    version = await uow.loans.next_version(loan.loan_id)
    loan.schedule_version, loan.annual_rate = version, booking.original_rate
    await uow.loans.add_schedule_version(
        loan,
        version,
        rows,
        reason=reason,
        effective=on,
        plan_id=plan_id,
        reference=source_event_id,
    )
    state.instalments = rows
    result = await resettle(uow.loans, state, on)
    rewritten = ScheduleRewritten(
        loan_id=loan.loan_id,
        schedule_version=version,
        plan_id=plan_id,
        reason=reason,
        effective_date=booking.effective_date,
        annual_rate=str(booking.original_rate),
        instalments=terms(i for i in state.instalments if i.seq >= done.landing),
        balances=open_balances(state.instalments),
    )
    return rewritten, [
        new_event(rewritten, source=uow.source),
        *consequences(uow.source, state, result),
    ]
