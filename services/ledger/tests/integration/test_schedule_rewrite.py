"""An accepted restructuring plan rewrites the remaining schedule in one transaction, keeps
every schedule version, moves unpaid penalty to the first new instalment and books the
plan's penalty waiver there."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.contracts.restructure import PlanAccepted
from lendkit.events import new_event
from lendkit.testing import eventually, unique

from .conftest import Ledger


async def test_plan_rewrites_remaining_schedule_keeps_versions_and_waives_penalty(
    ledger: Ledger,
) -> None:
    # 3,000.00 CNY, 12 % a year, 3 months, equal principal, disbursed 2026-01-10:
    # 1,000.00 + 30.00 on 02-10, 1,000.00 + 20.00 on 03-10, 1,000.00 + 10.00 on 04-10.
    product = await ledger.product()
    loan_id = await ledger.loan(product)
    assert (await ledger.pay(loan_id, 103_000, date(2026, 2, 10))).status_code == 201
    penalty = PenaltyAssessed(
        loan_id=loan_id,
        seq=2,
        business_date=date(2026, 3, 15),
        base_minor=100_000,
        daily_rate="0.005",
        amount_minor=500,
        currency="CNY",
    )
    await ledger.publish(new_event(penalty, source="overdue"))

    async def detail() -> dict[str, object]:
        r = await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())
        body: dict[str, object] = r.json()
        return body

    async def penalty_booked() -> bool:
        return (await detail())["balances"]["penalty_minor"] == 500  # type: ignore[index]

    await eventually(penalty_booked, timeout=30)

    # Two months at 6 % a year on the 2,000.00 still owed, equal principal (0.5 % a month):
    # seq 4: 1,000.00 + 10.00 on 04-20, seq 5: 1,000.00 + 5.00 on 05-20. The 5.00 penalty
    # moves to seq 4 and the plan waives 3.00 of it.
    plan = PlanAccepted(
        plan_id=unique("plan"),
        loan_id=loan_id,
        option="term_extension",
        effective_date=date(2026, 3, 20),
        first_due_date=date(2026, 4, 20),
        new_term=2,
        new_annual_rate="0.06",
        penalty_waiver_minor=300,
    )
    await ledger.publish(new_event(plan, source="restructure"))

    async def rewritten() -> bool:
        return (await detail())["schedule_version"] == 2

    await eventually(rewritten, timeout=30)
    body = await detail()
    new = [
        (
            i["seq"],
            i["due_date"],
            i["principal_minor"],
            i["interest_minor"],
            i["outstanding"]["penalty_minor"],
        )
        for i in body["schedule"]  # type: ignore[attr-defined]
        if i["seq"] >= 4
    ]
    assert new == [(4, "2026-04-20", 100_000, 1_000, 200), (5, "2026-05-20", 100_000, 500, 0)]
    assert body["balances"] == {  # type: ignore[comparison-overlap]
        "principal_minor": 200_000,
        "interest_minor": 1_500,
        "penalty_minor": 200,
        "fee_minor": 0,
        "credit_minor": 0,
    }
    async with ledger.runtime.engine.connect() as conn:
        versions = (
            (
                await conn.execute(
                    text(
                        "SELECT version FROM schedule_versions WHERE loan_id = :l ORDER BY version"
                    ),
                    {"l": loan_id},
                )
            )
            .scalars()
            .all()
        )
    assert list(versions) == [1, 2], "every schedule version is kept"
    reconciliation = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert reconciliation["ok"] is True
