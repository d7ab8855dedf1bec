"""The consumer's batch of ``ledger.charge.booked`` (a close of business books a penalty for
every overdue loan): the loans locked and their arrears read once for the run, with the same
effect as one event per transaction, over a penalty that leaves the loan in arrears, fees,
the same loan again in the run (its charges read what the ones before wrote; the last leaves
nothing past due: cured), and a loan never disbursed here (the run fails whole, so the consumer applies it one by one and
only that event is refused). Against the real database."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from lendkit.consumer import Batchable
from lendkit.contracts import ledger
from lendkit.contracts.money import Component, InstalmentBalance
from lendkit.events import CloudEvent, new_event
from lendkit.failures import RejectedEvent
from lendkit.testing import blocks_another_session, eventually, unique
from overdue.entrypoints.consumers import CONSUMERS
from overdue.service_layer import handlers

from .conftest import World, balances_from, open_worked_example_loan

DAY = date(2026, 3, 17)


def _charge(
    loan_id: str, component: Component, amount: int, balances: list[InstalmentBalance]
) -> CloudEvent:
    return new_event(
        ledger.ChargeBooked(
            loan_id=loan_id,
            charge_id=unique("c"),
            source_event_id=unique("e"),
            seq=2,
            component=component,
            amount_minor=amount,
            currency="CNY",
            business_date=DAY,
            balances=balances,
        ),
        source="/tests/ledger",
    )


async def _runs(world: World, count: int) -> list[tuple[list[CloudEvent], tuple[str, str]]]:
    """``count`` pairs of overdue loans and their charges of one day: A a penalty (still in
    arrears), B a fee, A a fee, A again with instalment 2's principal and interest paid
    (nothing past due), B another fee (on top of the first: read after it)."""
    opened = [await open_worked_example_loan(world) for _ in range(2 * count)]
    await world.close_days(date(2026, 3, 15), DAY)
    owed = balances_from(opened[0][2], first_open=2)
    penalised = [owed[0].model_copy(update={"penalty_minor": 39}), *owed[1:]]
    paid = [owed[0].model_copy(update={"principal_minor": 0, "interest_minor": 0}), *owed[1:]]
    with_fee = [owed[0].model_copy(update={"fee_minor": 500}), *owed[1:]]
    runs = []
    for (a, _, _), (b, _, _) in zip(opened[::2], opened[1::2], strict=True):
        run = [
            _charge(a, Component.PENALTY, 39, penalised),
            _charge(b, Component.FEE, 500, with_fee),
            _charge(a, Component.FEE, 300, penalised),
            _charge(a, Component.PENALTY, 39, paid),
            _charge(b, Component.FEE, 200, with_fee),
        ]
        runs.append((run, (a, b)))
    return runs


async def _state(world: World, loan_id: str) -> dict[str, Any]:
    [loan] = await world.sql(
        "SELECT bucket, stage, in_arrears, fees_charged_minor, oldest_unpaid_due_date"
        " FROM loans WHERE loan_id = :l",
        l=loan_id,
    )
    instalments = await world.sql(
        "SELECT seq, principal_minor, interest_minor, penalty_minor, fee_minor"
        " FROM instalments WHERE loan_id = :l ORDER BY seq",
        l=loan_id,
    )
    events = await world.sql(
        "SELECT event_type FROM outbox WHERE message_key = :l ORDER BY id", l=loan_id
    )
    return {
        "loan": tuple(loan),
        "instalments": [tuple(i) for i in instalments],
        "events": [e[0] for e in events],
    }


async def test_a_run_of_charges_has_the_effect_of_one_at_a_time(world: World) -> None:
    (one_by_one, (a1, b1)), (together, (a2, b2)) = await _runs(world, 2)
    batch = CONSUMERS.by_type[together[0].type]
    assert isinstance(batch, Batchable)
    for event in one_by_one:
        async with world.runtime.uow() as uow:
            await handlers.on_charge_booked(uow, event)
            await uow.commit()
    async with world.runtime.uow() as uow:
        await batch.many(uow, together)
        await uow.commit()

    single, batched = await _state(world, a1), await _state(world, a2)
    assert batched == single
    # A: its fee counted, and cured by its last charge (back to the current bucket and stage).
    assert batched["loan"][:4] == ("current", "current", False, 300)
    assert batched["events"][-2:] == [
        "overdue.loan.bucket_changed.v1",
        "overdue.loan.stage_changed.v1",
    ]
    fee_single, fee_batched = await _state(world, b1), await _state(world, b2)
    assert fee_batched == fee_single
    assert fee_batched["loan"][3] == 500 + 200


async def test_a_run_naming_an_unknown_loan_is_refused_whole(world: World) -> None:
    [(run, (_, b))] = await _runs(world, 1)
    batch = CONSUMERS.by_type[run[0].type]
    assert isinstance(batch, Batchable)
    unknown = _charge(unique("L-never"), Component.PENALTY, 39, [])
    async with world.runtime.uow() as uow:
        with pytest.raises(RejectedEvent, match="not known"):
            await batch.many(uow, [*run[:2], unknown])
    assert (await _state(world, b))["loan"][3] == 0  # nothing of the run was kept


async def test_a_run_that_waited_for_a_loans_lock_reads_the_loan_as_it_was_left(
    world: World,
) -> None:
    """Two connections: one applies a fee of 5.00 to loan B and holds its lock; a run with a
    fee of 2.00 on B waits for that lock and, after the commit, counts 7.00 (read after the
    lock, not the 0.00 of before the wait)."""
    [(run, (_, b))] = await _runs(world, 1)
    first_fee, second_fee = run[1], run[4]
    batch = CONSUMERS.by_type[run[0].type]
    assert isinstance(batch, Batchable)

    async def apply_second() -> None:
        async with world.runtime.uow() as uow:
            await batch.many(uow, [second_fee])
            await uow.commit()

    async with world.runtime.uow() as holder:
        await handlers.on_charge_booked(holder, first_fee)
        waiting = asyncio.create_task(apply_second())
        await eventually(lambda: blocks_another_session(holder.session))
        await holder.commit()
    await waiting
    assert (await _state(world, b))["loan"][3] == 500 + 200
