"""A loan whose first due date is not one period after disbursement is charged the first
period's days by the product's day count, through the API and in what the ledger stores.

Worked example: 12,000.00 CNY, 12 % a year, 12 months, annuity, disbursed 2026-01-27,
first due 2026-02-01 (5 actual days, 4 days by 30/360):
ACT_365 1_200_000 * 0.12 * 5 / 365 = 1972.60 -> 19.73; ACT_360 * 5 / 360 = 20.00;
THIRTY_360 * 4 / 360 = 16.00. A whole month would be 120.00 (about 110 % a year for 5
days). The principal parts are the regular schedule's: 946.19 first, 955.65 second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lendkit.auth import Role
from lendkit.testing import unique

if TYPE_CHECKING:
    from conftest import Ledger


@pytest.mark.parametrize(
    ("day_count", "first_interest"),
    [("ACT_365", 1_973), ("ACT_360", 2_000), ("THIRTY_360", 1_600)],
)
async def test_short_first_period_is_charged_its_days_by_the_day_count(
    ledger: Ledger, day_count: str, first_interest: int
) -> None:
    product = await ledger.product(
        annual_rate="0.12", term=12, schedule_type="ANNUITY", day_count=day_count
    )
    loan_id = unique("L")
    r = await ledger.client.post(
        "/loans",
        json={
            "loan_id": loan_id,
            "borrower_id": unique("B"),
            "product_code": product,
            "principal_minor": 1_200_000,
            "disbursed_on": "2026-01-27",
            "first_due_date": "2026-02-01",
        },
        headers={**ledger.auth(), "Idempotency-Key": unique("k")},
    )
    assert r.status_code == 201, r.text
    first, second = r.json()["instalments"][:2]
    assert (first["due_date"], first["principal_minor"], first["interest_minor"]) == (
        "2026-02-01",
        94_619,
        first_interest,
    )
    # the second period is a regular month: 1_105_381 * 0.01 = 11053.81 -> 110.54
    assert (second["due_date"], second["interest_minor"]) == ("2026-03-01", 11_054)

    detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    assert detail["schedule"][0]["interest_minor"] == first_interest
    assert detail["schedule"][0]["outstanding"]["interest_minor"] == first_interest
    assert sum(i["principal_minor"] for i in detail["schedule"]) == 1_200_000

    owed = await ledger.client.get(
        f"/loans/{loan_id}/owed", params={"as_of": "2026-02-02"}, headers=ledger.auth(Role.OPS)
    )
    assert owed.status_code == 200, owed.text
    assert owed.json()["by_component"]["interest_minor"] == first_interest
