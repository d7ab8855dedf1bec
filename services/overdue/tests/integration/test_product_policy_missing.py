"""No default policy for a product whose policy is missing or invalid: close of business
reports its loans as blocked (result, ops API), charges them no penalty and emits no
DPD-driven event for them; once a valid policy arrives, the next close of business reviews
them like any other loan (the blocked days are never charged later).

Worked example (see ``conftest.worked_example_schedule``): instalment 2, due 2026-03-15,
77_830 principal unpaid. The default policy would charge 0.05 % a day from DPD 1:
round(77_830 * 0.0005) = round(38.915) = 39 on 2026-03-16.
"""

from __future__ import annotations

import asyncio
from datetime import date

from lendkit.contracts import ledger
from lendkit.events import new_event
from lendkit.testing import blocks_another_session, eventually, unique
from overdue.entrypoints.schemas import BlockedLoanPage
from overdue.service_layer.business_day import close_days_held_for_products, record_day_marker
from overdue.service_layer.close_of_business import close_business_day_in_chunks

from .conftest import (
    LOAN_PARTITIONS,
    SOURCE,
    WORKED_EXAMPLE_POLICY,
    World,
    open_worked_example_loan,
    publish_worked_example_product,
)

D1, D2 = date(2026, 3, 16), date(2026, 3, 17)


async def _penalty_days(world: World, loan_id: str) -> list[tuple[str, int, int]]:
    rows = await world.sql(
        "SELECT business_date::text, dpd, booked_minor FROM penalty_days WHERE loan_id = :l "
        "ORDER BY business_date",
        l=loan_id,
    )
    return [tuple(r) for r in rows]


async def _events(world: World, loan_id: str) -> list[str]:
    rows = await world.sql(
        "SELECT event_type FROM outbox WHERE message_key = :l ORDER BY id", l=loan_id
    )
    return [r[0] for r in rows]


async def test_a_loan_whose_product_policy_is_missing_is_blocked_not_charged_a_default_penalty(
    world: World,
) -> None:
    code = unique("P")
    loan_id, _, _ = await open_worked_example_loan(world, product_code=code)

    result = await close_business_day_in_chunks(world.runtime.uow, D1, trigger="test")
    assert await _penalty_days(world, loan_id) == []  # not the default policy's 39
    assert await _events(world, loan_id) == []
    assert result is not None
    assert (result.loans_examined, result.loans_blocked, result.events_emitted) == (1, 1, 0)
    (loan,) = await world.sql(
        "SELECT bucket, stage, in_arrears FROM loans WHERE loan_id = :l", l=loan_id
    )
    assert tuple(loan) == ("current", "current", False)

    async with world.client(roles=["ops"]) as ops:
        blocked = await ops.get("/blocked-loans", params={"as_of": D1.isoformat()})
        explained = await ops.get(f"/loans/{loan_id}/explanation")
    assert blocked.status_code == 200, blocked.text
    body = blocked.json()
    assert BlockedLoanPage.model_validate(body).loans_blocked == 1
    assert [(i["loan_id"], i["product_code"]) for i in body["items"]] == [(loan_id, code)]
    assert "not published" in body["items"][0]["reason"]
    assert explained.status_code == 409, explained.text

    # the product arrives: from the next close of business the loan is reviewed normally,
    # DPD from the real due date (2 on 03-17); 03-16 is never charged
    await publish_worked_example_product(world, code)
    result = await close_business_day_in_chunks(world.runtime.uow, D2, trigger="test")
    assert result is not None and result.loans_blocked == 0
    assert await _penalty_days(world, loan_id) == [("2026-03-17", 2, 39)]
    assert set(await _events(world, loan_id)) == {
        "overdue.loan.bucket_changed.v1",
        "overdue.loan.stage_changed.v1",
        "overdue.penalty.assessed.v1",
    }


async def test_an_invalid_product_policy_is_refused_and_its_loans_stay_blocked(
    world: World,
) -> None:
    code = unique("P")
    # a typo and a float: both refused (before, the typo was ignored and the default
    # 0.05 % a day applied; the float dead-lettered the product and the default applied)
    await publish_worked_example_product(world, code, {"penalty_rate": "0.001"})
    other = unique("P")
    await publish_worked_example_product(world, other, {"penalty_daily_rate": 0.001})
    assert (
        await world.sql("SELECT code FROM products WHERE code IN (:a, :b)", a=code, b=other) == []
    )
    loan_id, _, _ = await open_worked_example_loan(world, product_code=code)
    other_loan, _, _ = await open_worked_example_loan(world, product_code=other)

    result = await close_business_day_in_chunks(world.runtime.uow, D1, trigger="test")
    assert result is not None and result.loans_blocked == 2
    assert await _penalty_days(world, loan_id) == []
    assert await _penalty_days(world, other_loan) == []


async def test_the_explanation_answers_the_same_404_for_an_unknown_and_a_foreign_loan(
    world: World,
) -> None:
    loan_id, _, _ = await open_worked_example_loan(world)
    await close_business_day_in_chunks(world.runtime.uow, D1, trigger="test")
    async with world.client(roles=["borrower"], borrower_id="someone-else") as stranger:
        foreign = await stranger.get(f"/loans/{loan_id}/explanation")
        unknown = await stranger.get(f"/loans/{unique('L')}/explanation")
    assert foreign.status_code == unknown.status_code == 404
    assert {**foreign.json(), "instance": None} == {**unknown.json(), "instance": None}


async def test_the_markers_close_waits_for_a_product_still_on_its_way_and_charges_the_day(
    world: World,
) -> None:
    """The ledger publishes a product before any loan on it, but on another topic: after a
    rebalance or a restart the loan can be applied first. A close run then blocked the loan
    for the day, for good (a penalty day lost to consumer timing). Now the complete markers
    wait for the product, and its arrival runs the close: D1 is charged (DPD 1, 39)."""
    code = unique("P")
    loan_id, _, _ = await open_worked_example_loan(world, product_code=code)

    await world.close_day(D1)
    assert await world.sql("SELECT business_date FROM cob_runs") == []
    assert await _penalty_days(world, loan_id) == []

    await publish_worked_example_product(world, code)
    assert await _penalty_days(world, loan_id) == [("2026-03-16", 1, 39)]
    assert await world.sql("SELECT count(*) FROM blocked_loan_days") == [(0,)]
    (run,) = await world.sql("SELECT business_date, finished_at IS NOT NULL FROM cob_runs")
    assert tuple(run) == (D1, True)


async def test_the_markers_close_does_not_wait_for_a_refused_product(world: World) -> None:
    """A product whose policy was refused is dead-lettered, and known refused: the close by
    the markers runs and blocks its loans (no default policy), as before."""
    code = unique("P")
    await publish_worked_example_product(world, code, {"penalty_rate": "0.001"})
    loan_id, _, _ = await open_worked_example_loan(world, product_code=code)

    await world.close_day(D1)
    assert await _penalty_days(world, loan_id) == []
    (blocked,) = await world.sql("SELECT loan_id, reason FROM blocked_loan_days")
    assert blocked[0] == loan_id and blocked[1].startswith("refused overdue policy")
    assert "penalty_rate" in blocked[1]


async def test_a_product_arriving_while_the_last_marker_commits_still_runs_the_close(
    world: World,
) -> None:
    """Two sessions: the last marker's transaction saw the product missing (the close
    waits) and has not committed; the product's handler, committed, looks for a waiting
    day meanwhile. Without the marker lock it saw the day incomplete, neither ran the close,
    and the day stayed open until the next day's markers."""
    code = unique("P")
    loan_id, _, _ = await open_worked_example_loan(world, product_code=code)
    last = LOAN_PARTITIONS - 1
    for p in range(last):
        marker = ledger.BusinessDayClosed(business_date=D1, partition=p, partitions=LOAN_PARTITIONS)
        await world.send(new_event(marker, source=SOURCE, partition=p), partition=p)
    await world.drain()

    async with world.runtime.uow() as marker_tx:
        last_marker = ledger.BusinessDayClosed(
            business_date=D1, partition=last, partitions=LOAN_PARTITIONS
        )
        assert await record_day_marker(marker_tx, last_marker) is None  # waits: no product
        async with world.runtime.uow() as product_tx:  # the product handler's own commit
            await product_tx.products.save(code, "CNY", WORKED_EXAMPLE_POLICY)
            await product_tx.commit()
        held = asyncio.create_task(close_days_held_for_products(world.runtime.uow()))
        await eventually(lambda: blocks_another_session(marker_tx.session))
        await marker_tx.commit()
    result = await held
    assert result is not None and result.business_date == D1
    assert await _penalty_days(world, loan_id) == [("2026-03-16", 1, 39)]
