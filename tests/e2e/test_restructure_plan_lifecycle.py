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
from lendkit.testing import eventually, read_events

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
    counts the loan overdue again on the new schedule (DPD 4 on 2026-05-20).

    A twin loan on a product whose ``on_break`` is ``restore_original_terms`` follows the
    same days: when its plan breaks the ledger puts it back on its original schedule
    (05-09, 05-16, 05-23 at 12 %, version 3), and the overdue service counts days past due
    from the original 05-09 instalment (DPD 13 on 2026-05-22), not from the plan's."""
    ledger = platform["ledger"]
    policy = {
        "allowed_options": ["term_extension"],
        "max_extension_periods": 1,
        "plan_grace_days": 0,
    }
    loan = await borrow(
        platform,
        "RSB",
        disbursed_on=date(2026, 5, 2),
        frequency="WEEKLY",
        restructure_policy=policy,
    )
    twin = await borrow(
        platform,
        "RSR",
        disbursed_on=date(2026, 5, 2),
        frequency="WEEKLY",
        restructure_policy={**policy, "on_break": "restore_original_terms"},
    )
    original = (await ledger.client.get(f"/loans/{twin.loan_id}", headers=ledger.ops)).json()
    await close_business_days(ledger, date(2026, 5, 8), date(2026, 5, 13))
    plans = {}
    for borrowed in (loan, twin):
        await seen_on(platform, borrowed, date(2026, 5, 14))
        assert (await restructuring(platform, borrowed))["days_past_due"] > 0
        option = await option_for(platform, borrowed, "term_extension", reason="reduced hours")
        assert [(i["seq"], i["due_date"]) for i in option["quote"]["instalments"]] == [
            (4, "2026-05-16"),
            (5, "2026-05-23"),
            (6, "2026-05-30"),
        ]
        plans[borrowed.loan_id] = await accept(platform, borrowed, option["offer_id"])
        await plan_becomes(platform, borrowed, plans[borrowed.loan_id], "active")
    plan_id = plans[loan.loan_id]
    await close_business_days(ledger, date(2026, 5, 14), date(2026, 5, 21))
    plan = await plan_becomes(platform, loan, plan_id, "broken", timeout=90)
    assert (plan["broken_seq"], plan["closed_on"]) == (4, "2026-05-17")
    twin_plan = await plan_becomes(platform, twin, plans[twin.loan_id], "broken", timeout=90)
    assert (twin_plan["broken_seq"], twin_plan["closed_on"]) == (4, "2026-05-17")
    await _restored_on_the_original_schedule(platform, twin.loan_id, original)
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


def _terms(detail: dict[str, Any]) -> list[tuple[int, str, int, int]]:
    return [
        (i["seq"], i["due_date"], i["principal_minor"], i["interest_minor"])
        for i in detail["schedule"]
    ]


async def _restored_on_the_original_schedule(
    platform: Platform, loan_id: str, original: dict[str, Any]
) -> None:
    """The ledger's loan detail has the original terms again and the overdue service counts
    days past due from the original first instalment (05-09)."""
    ledger, overdue = platform["ledger"], platform["overdue"]

    async def detail() -> dict[str, Any]:
        body: dict[str, Any] = (
            await ledger.client.get(f"/loans/{loan_id}", headers=ledger.ops)
        ).json()
        return body

    async def restored() -> bool:
        return bool((await detail())["schedule_version"] == 3)

    await eventually(restored, timeout=60)
    body = await detail()
    assert body["annual_rate"] == original["annual_rate"] == "0.12"
    assert _terms(body) == _terms(original)
    assert [i["due_date"] for i in body["schedule"]] == ["2026-05-09", "2026-05-16", "2026-05-23"]
    reconciliation = (await ledger.client.get("/reconciliation", headers=ledger.ops)).json()
    assert reconciliation["ok"] is True, reconciliation

    async def explanation() -> dict[str, Any]:
        r = await overdue.client.get(
            f"/loans/{loan_id}/explanation", params={"as_of": "2026-05-22"}, headers=overdue.ops
        )
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    async def on_original() -> bool:
        return bool((await explanation())["oldest_unpaid_due_date"] == "2026-05-09")

    await eventually(on_original, timeout=60)
    assert (await explanation())["days_past_due"] == 13
