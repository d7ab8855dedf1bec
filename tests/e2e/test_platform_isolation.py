"""Two platforms alive at once in one test session (the session's and a module's own, on a
simulated clock) keep to their own databases.

Both once made databases of one name each (``ledger_e2e``...): starting the second dropped
the first's with ``WITH (FORCE)`` and then shared them, so the first platform's relays
published the second's events to the first's topics and a workout-plan test waited in vain
for its ``ledger.settlement.lapsed.v1``.
"""

from __future__ import annotations

from datetime import date

from .conftest import Platform, own_platform
from .restructure_flow import borrow


async def test_a_second_platform_leaves_the_first_platforms_data_alone(
    platform: Platform,
) -> None:
    ledger = platform["ledger"]
    loan = await borrow(platform, "ISO", disbursed_on=date(2026, 1, 5), restructure_policy={})
    async with own_platform(simulated_clock=True) as other:
        mine = await ledger.client.get(f"/loans/{loan.loan_id}", headers=ledger.ops)
        assert mine.status_code == 200, mine.text
        theirs = await other["ledger"].client.get(
            f"/loans/{loan.loan_id}", headers=other["ledger"].ops
        )
        assert theirs.status_code == 404, theirs.text
        assert other["ledger"].runtime.settings.database_url != (
            ledger.runtime.settings.database_url
        )
    again = await ledger.client.get(f"/loans/{loan.loan_id}", headers=ledger.ops)
    assert again.status_code == 200, again.text
