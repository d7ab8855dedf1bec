"""Ledger, overdue and restructure together over Kafka: an overdue loan's borrower asks for
help, accepts a term extension, the ledger rewrites the schedule, the plan is active and the
loan no longer overdue; the plan's instalments are paid and the plan completes.

Worked example: 3,000.00 CNY, 3 months at 12 %, disbursed 2026-03-25, first due
2026-04-25, not paid. Arrears grace 3 days: overdue on 2026-04-29 (DPD 4). The ledger
closes up to 2026-05-01, so the restructure service's today is 2026-05-02. The product
allows a term extension of at most 1 period: the two remaining due dates (05-25, 06-25)
plus one more (07-25), numbered 4, 5, 6; the 2026-04-25 instalment's principal is folded
in (the new principal is all 300,000), its interest and the penalty carried onto the first.
(The e2e platform's business clock is shared by the session: these dates lie after the
earlier files' and before the later files'.)
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lendkit.contracts.overdue import LoanBecameOverdue
from lendkit.testing import read_events

from .conftest import Platform, close_business_days
from .restructure_flow import (
    accept,
    borrow,
    option_for,
    pay,
    plan_becomes,
    plan_event_types,
    restructuring,
    seen_on,
)


async def test_overdue_loan_term_extension_activates_cures_and_completes(
    platform: Platform,
) -> None:
    ledger = platform["ledger"]
    loan = await borrow(
        platform,
        "RS",
        disbursed_on=date(2026, 3, 25),
        restructure_policy={"allowed_options": ["term_extension"], "max_extension_periods": 1},
    )
    loan_id = loan.loan_id
    await close_business_days(ledger, date(2026, 4, 24), date(2026, 5, 1))
    await seen_on(platform, loan, date(2026, 5, 2))
    overdue_events = await read_events(
        [platform.namespace + "overdue.loans"],
        count=1,
        types=["overdue.loan.became_overdue.v1"],
        keys=[loan_id],
    )
    assert overdue_events, "the loan is overdue before the request"

    option = await option_for(platform, loan, "term_extension", reason="hospital bills")
    quote = option["quote"]
    assert [(i["seq"], i["due_date"]) for i in quote["instalments"]] == [
        (4, "2026-05-25"),
        (5, "2026-06-25"),
        (6, "2026-07-25"),
    ]
    assert sum(i["principal_minor"] for i in quote["instalments"]) == 300_000

    plan_id = await accept(platform, loan, option["offer_id"])
    await plan_becomes(platform, loan, plan_id, "active")
    cured = await read_events(
        [platform.namespace + "overdue.loans"],
        count=1,
        types=["overdue.loan.cured.v1"],
        keys=[loan_id],
        timeout=30,
    )
    assert cured, "the re-aged loan is no longer overdue"
    state = await restructuring(platform, loan)
    assert state["days_past_due"] == 0
    assert state["forbearance"]["forborne_on"] == "2026-05-02"

    detail: dict[str, Any] = (
        await ledger.client.get(f"/loans/{loan_id}", headers=ledger.ops)
    ).json()
    booked = [i for i in detail["schedule"] if i["seq"] >= 4]
    assert [(i["seq"], i["principal_minor"], i["interest_minor"]) for i in booked] == [
        (i["seq"], i["principal_minor"], i["interest_minor"]) for i in quote["instalments"]
    ], "the ledger booked exactly the quoted schedule"
    for item in booked:
        await pay(
            platform,
            loan,
            sum(item["outstanding"].values()),
            date(2026, 5, 2),
            f"plan-{item['seq']}",
        )
    await plan_becomes(platform, loan, plan_id, "completed")
    types = await plan_event_types(platform, loan, "restructure.plan.completed.v1")
    for expected in (
        "restructure.hardship.requested.v1",
        "restructure.plan.accepted.v2",
        "restructure.plan.activated.v1",
        "restructure.forbearance.changed.v1",
        "restructure.plan.completed.v1",
    ):
        assert expected in types, types


async def test_a_missed_plan_instalment_breaks_the_plan_and_collections_resume(
    platform: Platform,
) -> None:
    """A weekly loan: 3,000.00 CNY, 3 weeks at 12 %, disbursed 2026-05-02, due 05-09,
    05-16, 05-23. 05-09 is not paid: overdue on 2026-05-13 (DPD 4); today 05-14. The term
    extension re-ages it over 05-16, 05-23 and 05-30 (seq 4, 5, 6). The first plan
    instalment (05-16) is not paid either: with no plan grace (``plan_grace_days`` 0) the
    plan is broken at the close of 2026-05-17 (05-16 + 0 < 05-17), and the overdue service
    counts the loan overdue again on the new schedule (DPD 4 on 2026-05-20)."""
    ledger = platform["ledger"]
    loan = await borrow(
        platform,
        "RSB",
        disbursed_on=date(2026, 5, 2),
        frequency="WEEKLY",
        restructure_policy={
            "allowed_options": ["term_extension"],
            "max_extension_periods": 1,
            "plan_grace_days": 0,
        },
    )
    await close_business_days(ledger, date(2026, 5, 8), date(2026, 5, 13))
    await seen_on(platform, loan, date(2026, 5, 14))
    assert (await restructuring(platform, loan))["days_past_due"] > 0
    option = await option_for(platform, loan, "term_extension", reason="reduced hours")
    assert [(i["seq"], i["due_date"]) for i in option["quote"]["instalments"]] == [
        (4, "2026-05-16"),
        (5, "2026-05-23"),
        (6, "2026-05-30"),
    ]
    plan_id = await accept(platform, loan, option["offer_id"])
    await plan_becomes(platform, loan, plan_id, "active")
    await close_business_days(ledger, date(2026, 5, 14), date(2026, 5, 21))
    plan = await plan_becomes(platform, loan, plan_id, "broken", timeout=90)
    assert (plan["broken_seq"], plan["closed_on"]) == (4, "2026-05-17")
    again = await read_events(
        [platform.namespace + "overdue.loans"],
        count=2,
        types=["overdue.loan.became_overdue.v1"],
        keys=[loan.loan_id],
        timeout=30,
    )
    assert [e.payload(LoanBecameOverdue).business_date for e in again] == [
        date(2026, 5, 13),
        date(2026, 5, 20),
    ], "collections resume on the new schedule"
