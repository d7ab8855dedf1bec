"""plan.accepted.v2 carries the exact quote and reconciles on the booking side."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lendkit.contracts.restructure import PlanAcceptedV2
from restructure.domain.forbearance import new_forbearance
from restructure.domain.plans import DeferredInterest, discounted_settlement, payment_holiday
from restructure.domain.promises import Promise, PromiseTolerance, evaluate_promises
from restructure.service_layer.messages import (
    forbearance_changed,
    plan_accepted,
    plan_conservation_errors,
    promise_resolved,
)

from .positions import position


@settings(max_examples=40, deadline=None)
@given(st.integers(1_000, 10**9), st.integers(1, 6))
def test_the_event_round_trips_and_reconciles(principal: int, periods: int) -> None:
    p = position(principal=principal, penalty=700)
    quote = payment_holiday(p, periods, DeferredInterest.CAPITALISE)
    event = plan_accepted("plan-1", quote, p, p.as_of)
    wire = PlanAcceptedV2.model_validate_json(event.model_dump_json())
    assert [(i.seq, i.due_date, i.principal_minor, i.interest_minor) for i in wire.instalments] == [
        (i.seq, i.due_date, i.principal, i.interest) for i in quote.instalments
    ]
    assert plan_conservation_errors(wire, p.outstanding_principal) == []
    assert plan_conservation_errors(wire, p.outstanding_principal + 1) != []


def test_a_settlement_event_carries_the_write_off() -> None:
    p = position(principal=120_000, annual_rate=Decimal(0), penalty=3_000)
    event = plan_accepted("plan-2", discounted_settlement(p, 95_000, date(2026, 5, 1)), p, p.as_of)
    assert event.written_off_principal_minor == 5_000
    assert [(a.kind, a.amount_minor) for a in event.waived] == [("penalty", 3_000)]
    assert plan_conservation_errors(event, p.outstanding_principal) == []


def test_forbearance_and_promise_events_carry_the_dates() -> None:
    t = new_forbearance(None, date(2026, 3, 10), dpd=120)
    e = forbearance_changed("L-1", t)
    assert (e.event, e.status, e.cure_ends_on) == ("forbearance_started", "cure", date(2027, 3, 10))
    [r] = evaluate_promises(
        [Promise("p", date(2026, 5, 1), date(2026, 5, 5), 100)],
        [],
        PromiseTolerance(),
        date(2026, 5, 9),
    )
    resolved = promise_resolved("L-1", r, date(2026, 5, 9))
    assert resolved is not None and resolved.outcome == "broken"
