"""Close of business committed chunk by chunk: a run interrupted mid-way resumes with the
loans it had not reviewed, each loan is reviewed once for the date, and a finished date is
never closed again (by the ops command or by the ledger's markers)."""

from __future__ import annotations

from datetime import date

from lendkit.contracts.ledger import BusinessDayClosed
from overdue.service_layer.business_day import record_day_marker
from overdue.service_layer.close_of_business import (
    _begin,
    _close_next_chunk,
    _list_loans,
    close_business_day_in_chunks,
)

from .conftest import World, open_worked_example_loan

DAY = date(2026, 3, 16)  # instalment 2 (due 2026-03-15) is one day past due: 39 each


async def _penalties(world: World) -> dict[str, list[int]]:
    rows = await world.sql(
        "SELECT loan_id, booked_minor FROM penalty_days WHERE business_date = :d ORDER BY 1",
        d=DAY,
    )
    found: dict[str, list[int]] = {}
    for loan_id, booked in rows:
        found.setdefault(loan_id, []).append(booked)
    return found


async def _assessed_events(world: World) -> dict[str, int]:
    rows = await world.sql(
        "SELECT message_key, count(*) FROM outbox "
        "WHERE event_type = 'overdue.penalty.assessed.v1' GROUP BY 1"
    )
    return {key: n for key, n in rows}


async def _one_chunk_then_a_crash(world: World) -> None:
    """One committed chunk of one loan, then a chunk whose transaction never commits."""
    async with world.runtime.uow() as uow:
        assert await _begin(uow, DAY, "test")
        await uow.commit()
    async with world.runtime.uow() as uow:
        run = await _list_loans(uow, DAY, chunk_size=1)
    async with world.runtime.uow() as uow:
        assert await _close_next_chunk(uow, run) is None
        await uow.commit()
    async with world.runtime.uow() as uow:
        await _close_next_chunk(uow, run)  # left without commit: rolled back


async def test_an_interrupted_run_resumes_with_the_remaining_loans_once(world: World) -> None:
    loans = sorted([(await open_worked_example_loan(world))[0] for _ in range(3)])
    await _one_chunk_then_a_crash(world)
    assert await _penalties(world) == {loans[0]: [39]}

    result = await close_business_day_in_chunks(
        world.runtime.uow, DAY, trigger="test", chunk_size=2
    )
    assert result is not None
    assert result.loans_examined == 3
    assert await _penalties(world) == {loan_id: [39] for loan_id in loans}
    assert await _assessed_events(world) == {loan_id: 1 for loan_id in loans}
    finished = await world.sql(
        "SELECT loans_examined, finished_at IS NOT NULL FROM cob_runs WHERE business_date = :d",
        d=DAY,
    )
    assert [tuple(r) for r in finished] == [(3, True)]

    # a finished date: the ops command again, and the markers' path, do nothing
    assert await close_business_day_in_chunks(world.runtime.uow, DAY, trigger="test") is None
    async with world.runtime.uow() as uow:
        marker = BusinessDayClosed(business_date=DAY, partition=0, partitions=1)
        assert await record_day_marker(uow, marker) is None
        await uow.commit()
    assert await _penalties(world) == {loan_id: [39] for loan_id in loans}
    assert await _assessed_events(world) == {loan_id: 1 for loan_id in loans}


async def test_the_markers_path_finishes_a_run_the_ops_command_left(world: World) -> None:
    loans = sorted([(await open_worked_example_loan(world))[0] for _ in range(2)])
    await _one_chunk_then_a_crash(world)

    async with world.runtime.uow() as uow:
        marker = BusinessDayClosed(business_date=DAY, partition=0, partitions=1)
        result = await record_day_marker(uow, marker)
        await uow.commit()
    assert result is not None and result.loans_examined == 2
    assert await _penalties(world) == {loan_id: [39] for loan_id in loans}
    assert await _assessed_events(world) == {loan_id: 1 for loan_id in loans}


async def test_a_date_with_nothing_due_is_finished_at_once(world: World) -> None:
    result = await close_business_day_in_chunks(world.runtime.uow, DAY, trigger="test")
    assert result is not None and (result.loans_examined, result.events_emitted) == (0, 0)
    assert await close_business_day_in_chunks(world.runtime.uow, DAY, trigger="test") is None


async def test_the_markers_close_commits_on_its_own_and_a_lost_marker_commit_is_harmless(
    world: World,
) -> None:
    loans = sorted([(await open_worked_example_loan(world))[0] for _ in range(2)])
    marker = BusinessDayClosed(business_date=DAY, partition=0, partitions=1)

    async with world.runtime.uow() as uow:
        result = await record_day_marker(uow, marker)
        # the marker's transaction is lost (a crash before its commit) ...
    assert result is not None and result.loans_examined == 2
    # ... yet the close committed in transactions of its own
    assert await _penalties(world) == {loan_id: [39] for loan_id in loans}
    assert await world.sql("SELECT count(*) FROM day_markers") == [(0,)]

    async with world.runtime.uow() as uow:  # the marker again: nothing is charged twice
        assert await record_day_marker(uow, marker) is None
        await uow.commit()
    assert await _penalties(world) == {loan_id: [39] for loan_id in loans}
    assert await _assessed_events(world) == {loan_id: 1 for loan_id in loans}
