"""A broken plan whose product says ``on_break: restore_original_terms``: the ledger puts
the loan back on the schedule version in force before the plan
(``ledger.domain.restore``), in one transaction, and publishes
``ledger.schedule.rewritten`` (reason ``restore_original_terms``, the plan id, effective
from the plan's own effective date: the original terms govern as if the plan had not
been) with the balances, so the overdue service and the restructure read model follow.
A break with ``resume_collections`` books nothing (the plan's terms stay)."""

from __future__ import annotations

from ledger.adapters.contract_shapes import open_balances, terms
from ledger.adapters.records import InstalmentRecord
from ledger.domain.restore import ChargeLine, ScheduledInstalment, restoration
from ledger.service_layer.settlement import consequences, resettle
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import ScheduleRewritten
from lendkit.contracts.restructure import PlanBroken
from lendkit.errors import Conflict, Invalid, NotFound
from lendkit.events import new_event

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
    loan = state.loan
    booking = await uow.loans.plan_booking(loan.loan_id, broken.plan_id)
    if booking is None:
        raise Invalid(f"plan {broken.plan_id} rewrote no schedule of loan {loan.loan_id}")
    if booking.reference is None:
        raise Invalid(f"plan {broken.plan_id} was booked before bookings kept their reference")
    if loan.schedule_version != booking.version:
        raise Conflict(
            f"loan {loan.loan_id} is on schedule version {loan.schedule_version}, not the "
            f"plan's {booking.version}; the original terms are not restored over it"
        )
    done = restoration(
        [_scheduled(i) for i in booking.original],
        [_scheduled(i) for i in state.instalments],
        [ChargeLine(c.seq, c.component, c.amount, c.kind) for c in state.charges],
        [ChargeLine(c.seq, c.component, c.amount, c.kind) for c in booking.charges],
        booking.entries,
        on=broken.broken_on,
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
            business_date=row.business_date or broken.broken_on,
            source_event_id=f"{source_event_id}:restore:{n}",
        )
        if charge is None:
            raise Conflict(f"plan {broken.plan_id}'s original terms were restored before")
        state.charges.append(charge)
    await uow.loans.add_journal_entries(
        loan.loan_id,
        done.entries,
        business_date=broken.broken_on,
        reference=f"restore:{broken.plan_id}",
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
        reason=RESTORE,
        effective=broken.broken_on,
        plan_id=broken.plan_id,
        reference=source_event_id,
    )
    state.instalments = rows
    result = await resettle(uow.loans, state, broken.broken_on)
    rewritten = ScheduleRewritten(
        loan_id=loan.loan_id,
        schedule_version=version,
        plan_id=broken.plan_id,
        reason=RESTORE,
        effective_date=booking.effective_date,
        annual_rate=str(booking.original_rate),
        instalments=terms(i for i in state.instalments if i.seq >= done.landing),
        balances=open_balances(state.instalments),
    )
    await uow.emit_all(
        [new_event(rewritten, source=uow.source), *consequences(uow.source, state, result)]
    )
    return rewritten
