"""Every event type the ledger publishes, read back from Kafka, fits its checked-in JSON Schema."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

from lendkit.auth import Role
from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.contracts.restructure import PlanAccepted
from lendkit.events import CATALOGUE, new_event
from lendkit.testing import eventually, read_events, unique

if TYPE_CHECKING:
    from conftest import Ledger


@pytest.fixture(scope="module")
def ledger(clock_ledger: Ledger) -> Ledger:
    """This module closes business days: a ledger of its own (see ``clock_ledger``)."""
    return clock_ledger


SCHEMAS = Path(__file__).resolve().parents[4] / "docs" / "events" / "schemas"
#: Published by restructuring plans only; read back and checked in ``test_plan_booking``.
PLAN_TYPES = {
    "ledger.plan.booked.v1",
    "ledger.settlement.completed.v1",
    "ledger.settlement.lapsed.v1",
    "ledger.settlement.reversed.v1",
}
LEDGER_TYPES = {spec.type for spec in CATALOGUE if spec.type.startswith("ledger.")} - PLAN_TYPES
KEYLESS = {"ledger.product.published.v1", "ledger.business_day.closed.v1"}


def _validate(event_type: str, data: bytes) -> None:
    schema = json.loads((SCHEMAS / f"{event_type}.json").read_text())
    jsonschema.validate(json.loads(data), schema, cls=jsonschema.Draft202012Validator)


async def test_every_ledger_event_type_read_back_from_kafka_fits_its_schema(
    ledger: Ledger,
) -> None:
    product = await ledger.product()
    loan_id = await ledger.loan(product, disbursed_on=date(2032, 1, 10))
    await ledger.close_day("2032-02-07")  # repayment upcoming
    await ledger.close_day("2032-02-10")  # repayment due, business day closed

    await ledger.publish(
        new_event(
            PenaltyAssessed(
                loan_id=loan_id,
                seq=1,
                business_date=date(2032, 2, 12),
                base_minor=100_000,
                daily_rate="0.0005",
                amount_minor=50,
                currency="CNY",
            ),
            source="overdue",
        )
    )

    async def penalty_booked() -> bool:
        r = await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())
        return bool(r.json()["balances"]["penalty_minor"] == 50)

    await eventually(penalty_booked, timeout=30)
    await ledger.close_day("2032-02-12")  # the simulated clock's today is 2032-02-13
    assert (await ledger.pay(loan_id, 103_050, date(2032, 2, 12))).status_code == 201
    bounced = await ledger.pay(loan_id, 1_000, date(2032, 2, 13))
    r = await ledger.client.post(
        f"/loans/{loan_id}/payments/{bounced.json()['payment_id']}/reversal",
        json={"reason": "chargeback", "business_date": "2032-02-13"},
        headers={**ledger.auth(Role.OPS), "Idempotency-Key": unique("k")},
    )
    assert r.status_code == 200, r.text

    plan = PlanAccepted(
        plan_id=unique("plan"),
        loan_id=loan_id,
        option="term_extension",
        effective_date=date(2032, 2, 15),
        first_due_date=date(2032, 3, 15),
        new_term=4,
        new_annual_rate="0.06",
    )
    await ledger.publish(new_event(plan, source="restructure"))

    async def rewritten() -> bool:
        r = await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())
        return bool(r.json()["schedule_version"] == 2)

    await eventually(rewritten, timeout=30)
    detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    # 2,000.00 principal left over 4 months at 6%: principal still owed is unchanged.
    assert detail["balances"]["principal_minor"] == 200_000
    assert [i["seq"] for i in detail["schedule"]] == [1, 2, 3, 4, 5, 6, 7]
    owed_all = sum(v for k, v in detail["balances"].items() if k != "credit_minor")
    await ledger.close_day("2032-02-19")
    assert (await ledger.pay(loan_id, owed_all, date(2032, 2, 20))).status_code == 201
    settled = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    assert settled["status"] == "settled"

    loan_types = LEDGER_TYPES - KEYLESS
    events = await read_events(
        ["ledger.loans"],
        count=1_000,
        keys=[loan_id],
        types=sorted(loan_types),
        until=lambda found: {e.type for e in found} >= loan_types,
    )
    events += await read_events(["ledger.products"], count=1, keys=[product])
    events += await read_events(["ledger.loans"], count=6, types=["ledger.business_day.closed.v1"])
    assert {e.type for e in events} == LEDGER_TYPES
    for event in events:
        _validate(event.type, event.data)
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon
