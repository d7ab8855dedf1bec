"""What REST callers can change: profiles, a borrower's own preferences, opt-outs by inbound
message. An opt-out is committed before the answer, so the very next attempt honours it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

from lendkit.contracts import notifier
from lendkit.errors import Conflict, Invalid, NotFound
from lendkit.events import new_event
from notifier.adapters.repository import ClockState
from notifier.domain.opt_out import is_opt_out
from notifier.domain.policy import CallOutcome, Channel, Jurisdiction, Outcome
from notifier.domain.profile import CALL_TASK, OPT_OUT_CONFIRMATION, ContactProfile, Trigger
from notifier.domain.strategy import ContactStrategy
from notifier.service_layer.handlers import notify
from notifier.service_layer.unit_of_work import NotifierUnitOfWork


async def put_profile(
    uow: NotifierUnitOfWork,
    borrower_id: str,
    *,
    language: str,
    timezone: str | None,
    jurisdiction: Jurisdiction,
    channels: Sequence[tuple[Channel, str, int]],
) -> ContactProfile:
    await uow.profiles.put(borrower_id, language, timezone, jurisdiction, list(channels))
    profile = await uow.profiles.get(borrower_id)
    assert profile is not None
    return profile


async def set_preferences(
    uow: NotifierUnitOfWork,
    borrower_id: str,
    *,
    language: str | None,
    opted_out: Sequence[Channel],
    now: datetime,
) -> ContactProfile:
    profile = await uow.profiles.get(borrower_id)
    if profile is None:
        raise NotFound(f"no contact profile for borrower {borrower_id}")
    await uow.profiles.set_preferences(borrower_id, language, frozenset(opted_out), now)
    changed = await uow.profiles.get(borrower_id)
    assert changed is not None
    return changed


async def inbound_message(
    uow: NotifierUnitOfWork, channel: Channel, from_address: str, text: str, now: datetime
) -> bool:
    """True when the message opted its channel out (unknown senders change nothing)."""
    if not is_opt_out(text):
        return False
    borrower_id = await uow.profiles.borrower_by_address(channel, from_address)
    if borrower_id is None:
        return False
    before = await uow.profiles.get(borrower_id)
    was_out = before is not None and any(
        c.channel is channel and c.opted_out for c in before.channels
    )
    opted = await uow.profiles.opt_out(borrower_id, channel, now)
    if opted and not was_out:
        # Exactly one confirmation per opt-out, on that channel (a second STOP confirms nothing).
        await notify(
            uow,
            Trigger(
                trigger_key=f"{OPT_OUT_CONFIRMATION}:{borrower_id}:{channel}:{now.isoformat()}",
                loan_id=borrower_id,
                borrower_id=borrower_id,
                purpose=OPT_OUT_CONFIRMATION,
                mandatory=False,
                context={"kind": OPT_OUT_CONFIRMATION, "channel": channel.value},
            ),
            now,
        )
    return opted


# Call centre -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallRequested:
    call_id: str
    outcome: str
    rule: str | None
    until: datetime | None


async def request_call(
    uow: NotifierUnitOfWork, loan_id: str, *, automated: bool, now: datetime
) -> CallRequested:
    """A collector asks for a call on a loan: a call task decided by the contact policy (the
    call caps per debt and per person, the conversation rule, quiet hours)."""
    borrower_id = await uow.loans.borrower_of(loan_id)
    if borrower_id is None:
        raise NotFound(f"loan {loan_id} is not known to the notifier")
    key = f"call:requested:{loan_id}:{uuid4()}"
    trigger = Trigger(
        trigger_key=key,
        loan_id=loan_id,
        borrower_id=borrower_id,
        purpose="collection_call",
        mandatory=False,
        context={"kind": CALL_TASK, "loan_id": loan_id, "automated": str(automated).lower()},
    )
    decision = await notify(uow, trigger, now)
    assert decision is not None
    return CallRequested(
        call_id=str(uuid5(NAMESPACE_URL, key)),
        outcome="open" if decision.outcome is Outcome.SENT else decision.outcome.value,
        rule=decision.rule.value if decision.rule else None,
        until=decision.until,
    )


@dataclass(frozen=True, slots=True)
class OutcomeRecorded:
    call_id: str
    loan_id: str
    outcome: CallOutcome
    promise_id: str | None


async def record_call_outcome(
    uow: NotifierUnitOfWork,
    call_id: str,
    *,
    outcome: CallOutcome,
    automated: bool,
    promised_on: date | None,
    amount_minor: int | None,
    currency: str | None,
    now: datetime,
) -> OutcomeRecorded:
    """The call centre's outcome of an open call task: a new row of the attempt (the call caps
    count it from now on), ``notifier.call.outcome_recorded.v1`` and, for a promise to pay,
    ``notifier.promise.made.v1``. A task has one outcome."""
    task = await uow.attempts.latest(call_id)
    if task is None or task.channel != Channel.CALL.value:
        raise NotFound(f"no call task {call_id}")
    if task.state != "task_open":
        raise Conflict(f"call task {call_id} is {task.state}, not open")
    promise = outcome is CallOutcome.PROMISE_TO_PAY
    if promise and (promised_on is None or amount_minor is None or currency is None):
        raise Invalid("a promise to pay needs promised_on, amount_minor and currency")
    if not promise and promised_on is not None:
        raise Invalid("promised_on is only for outcome promise_to_pay")
    reasons = [f"outcome {outcome}"]
    if promise:
        reasons.append(f"promised {amount_minor} {currency} by {promised_on}")
    await uow.attempts.append(
        task,
        "call_outcome",
        call_outcome=outcome.value,
        automated=automated,
        occurred_at=now,
        reasons=reasons,
    )
    loan_id = task.loan_id or ""
    events = [
        new_event(
            notifier.CallOutcomeRecorded(
                loan_id=loan_id,
                call_id=call_id,
                borrower_id=task.borrower_id,
                outcome=outcome.value,
                automated=automated,
                occurred_at=now,
            ),
            source=uow.source,
        )
    ]
    promise_id = None
    if promise:
        assert promised_on is not None and amount_minor is not None and currency is not None
        promise_id = str(uuid5(NAMESPACE_URL, f"promise:{call_id}"))
        events.append(
            new_event(
                notifier.PromiseMade(
                    promise_id=promise_id,
                    loan_id=loan_id,
                    call_id=call_id,
                    promised_on=promised_on,
                    amount_minor=amount_minor,
                    currency=currency,
                    made_at=now,
                ),
                source=uow.source,
            )
        )
    await uow.emit_all(events)
    return OutcomeRecorded(call_id, loan_id, outcome, promise_id)


# Strategy and clock ----------------------------------------------------------------------


async def publish_strategy(
    uow: NotifierUnitOfWork, spec: dict[str, Any], created_by: str
) -> ContactStrategy:
    """A new version of the per-stage contact strategy, in force for the next decision."""
    await uow.strategies.add(spec, created_by)
    return await uow.strategies.current()


async def set_clock(
    uow: NotifierUnitOfWork,
    *,
    simulated: bool,
    business_date: date | None,
    time_of_day: time | None,
    timezone: str,
) -> ClockState:
    """Set (or leave) the simulated clock; a date left out keeps the platform's business date
    as the notifier last saw it (``ledger.business_day.closed``)."""
    current = await uow.clock.get()
    day = business_date or (current.business_date if current else None)
    if simulated and (day is None or time_of_day is None):
        raise Invalid("a simulated clock needs a business_date (none seen yet) and a time_of_day")
    state = ClockState(simulated, day, time_of_day, timezone)
    await uow.clock.put(state)
    return state
