"""Close of business after a lock wait reads the loan as the payment it waited for left it.

A second session plays the payment consumer: it locks a loan and applies a payment (the
handler the consumer runs), and the close of business for the same loan starts and waits
for that lock. When the payment commits, the close must review the paid position, not
the instalments as they were when its statement started.

Worked example (the integration world's loan, numbers by hand): 10,000.00 CNY, 12 months,
18 % a year, instalment 1 paid. Instalment 2 due 2026-03-15: principal 77,830, interest
13,850. Instalment 3 due 2026-04-15: interest round(845,490 x 0.015) = 12,682, principal
91,680 - 12,682 = 78,998. Close of 2026-04-16 with both unpaid: DPD 32, base 156,828.
The payment pays instalment 2 in full, so the close must see instalment 3 as the oldest
unpaid: DPD 1, penalty base 78,998 (overdue principal), 78,998 x 0.0005 = 39.499, booked
39 on instalment 3. Read stale, it charged 78 (base 156,828) on instalment 2, just paid,
with DPD 1 taken from the fresh loan row.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date

from lendkit.events import new_event
from lendkit.testing import blocks_another_session, eventually
from overdue.service_layer import handlers
from overdue.service_layer.close_of_business import close_business_day_in_chunks

from .conftest import SOURCE, World, balances_from, open_worked_example_loan, payment_allocated

DAY = date(2026, 4, 16)


async def test_close_of_business_after_a_lock_wait_reviews_the_payment_it_waited_for(
    world: World,
) -> None:
    loan_id, _, terms = await open_worked_example_loan(world)
    assert (terms[2].principal_minor, terms[2].interest_minor) == (78_998, 12_682)
    payment = new_event(
        payment_allocated(loan_id, DAY, 91_680, balances_from(terms, first_open=3)),
        source=SOURCE,
    )

    async with world.runtime.uow() as consumer:
        await handlers.on_payment_allocated(consumer, payment)  # locks the loan, pays seq 2
        close = asyncio.create_task(
            close_business_day_in_chunks(world.runtime.uow, DAY, trigger="test")
        )
        await eventually(lambda: blocks_another_session(consumer.session))
        await consumer.commit()
    result = await close
    assert result is not None and result.loans_examined == 1

    days = await world.sql(
        "SELECT seq, dpd, base_minor, booked_minor FROM penalty_days "
        "WHERE loan_id = :loan_id AND business_date = :d",
        loan_id=loan_id,
        d=DAY,
    )
    assert [tuple(r) for r in days] == [(3, 1, 78_998, 39)]
    assessed = await world.sql(
        "SELECT payload FROM outbox "
        "WHERE message_key = :loan_id AND event_type = 'overdue.penalty.assessed.v1'",
        loan_id=loan_id,
    )
    penalties = [json.loads(bytes(r[0])) for r in assessed]
    assert [(p["seq"], p["amount_minor"]) for p in penalties] == [(3, 39)]
