"""``restructure.plan.broken.v1`` with ``on_break: restore_original_terms`` against the real
PostgreSQL and Kafka: the ledger undoes a re-age that capitalised the arrears, the loan is
on its original schedule and rate again (version 3), the capitalised interest and penalty
are owed again on the instalment they came from, the payment made under the plan stays
paid (re-allocated in the original order), the loan is overdue from the original due
dates, ``ledger.schedule.rewritten`` says so, and the journal reconciles."""

from __future__ import annotations

import json
from datetime import date

import pytest

from lendkit.contracts.restructure import PlanBroken
from lendkit.events import new_event
from lendkit.schedules import ScheduleType
from lendkit.testing import read_events
from restructure.domain.plans import term_extension

from .conftest import Ledger
from .test_plan_booking import (
    AS_OF,
    _book,
    _detail,
    _overdue_loan,
    _position,
    _reconciles,
    _validate,
    own_ledger,
)

pytestmark = pytest.mark.integration

__all__ = ["own_ledger"]


def _terms(body: dict[str, object]) -> list[tuple[int, str, int, int]]:
    return [
        (i["seq"], i["due_date"], i["principal_minor"], i["interest_minor"])  # type: ignore[index]
        for i in body["schedule"]  # type: ignore[attr-defined]
    ]


async def test_a_broken_re_age_restores_the_original_terms_and_reinstates_the_capitalised_arrears(
    own_ledger: Ledger,
) -> None:
    ledger = own_ledger
    product = await ledger.product(annual_rate="0.12", term=3, schedule_type="EQUAL_PRINCIPAL")
    # Due 2026-02-10, 03-10, 04-10 (100,000 principal each; interest 3,000, 2,000, 1,000);
    # seq 1 paid on 2026-02-11; seq 2 overdue on 2026-03-16 with a penalty of 900.
    loan_id = await _overdue_loan(ledger, product, penalty=900)
    original = await _detail(ledger, loan_id)
    pos = await _position(ledger, loan_id, AS_OF, "0.12", ScheduleType.EQUAL_PRINCIPAL)
    quote = term_extension(pos, 2, capitalise_arrears=True)
    assert dict(quote.capitalised) == {"interest": 2_000, "penalty": 900}
    booked = json.loads((await _book(ledger, quote, pos)).data)
    plan_id = booked["plan_id"]
    assert (await _detail(ledger, loan_id))["balances"]["principal_minor"] == 202_900
    # 30,000 paid under the plan, then its first instalment missed: the plan breaks.
    assert (await ledger.pay(loan_id, 30_000, AS_OF)).status_code == 201
    broken = PlanBroken(
        plan_id=plan_id,
        loan_id=loan_id,
        broken_on=date(2026, 5, 20),
        missed_seq=quote.instalments[0].seq,
        on_break="restore_original_terms",
    )
    await ledger.publish(new_event(broken, source="restructure"))
    _, event = await read_events(
        ["ledger.loans"],
        count=2,
        timeout=30,
        keys=[loan_id],
        types=["ledger.schedule.rewritten.v1"],
    )
    assert json.loads(event.data)["reason"] == "restore_original_terms"
    _validate(event)
    rewritten = json.loads(event.data)
    assert rewritten["plan_id"] == plan_id and rewritten["annual_rate"] == "0.12"
    assert [i["seq"] for i in rewritten["instalments"]] == [2, 3]

    body = await _detail(ledger, loan_id)
    assert body["schedule_version"] == 3 and body["annual_rate"] == "0.12"
    assert _terms(body) == _terms(original)
    # Owed on the original terms: seq 2 (penalty 900 again, interest 2,000 again, principal
    # 100,000) and seq 3 (interest 1,000, principal 100,000), both due by 2026-05-20. The
    # 30,000 paid goes to seq 2 first: penalty 900, interest 2,000, principal 27,100.
    assert body["balances"]["penalty_minor"] == 0
    assert body["balances"]["interest_minor"] == 1_000
    assert body["balances"]["principal_minor"] == 172_900
    seq2 = next(i for i in body["schedule"] if i["seq"] == 2)
    assert seq2["due_date"] == "2026-03-10" and sum(seq2["outstanding"].values()) > 0
    await _reconciles(ledger)
