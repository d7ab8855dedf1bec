"""No business day is skipped: a day whose close never ran is closed before the next one,
by the ledger's markers and by the ops command alike, and a day before the first closed
day is refused."""

from __future__ import annotations

from datetime import date

import pytest

from lendkit.consumer import RejectedEvent
from lendkit.contracts import ledger
from lendkit.contracts.topics import LOAN_PARTITIONS
from lendkit.events import new_event
from overdue.entrypoints import cli
from overdue.service_layer import handlers
from overdue.service_layer.close_of_business import close_business_days_in_chunks

from .conftest import SOURCE, World, open_worked_example_loan

# The worked example: instalment 2 falls due 2026-03-15 and is never paid; with no penalty
# grace every day from 2026-03-16 accrues 0.05 % of 7,863.45 (3.93 -> 39 fen after carry).


async def _penalty_days(world: World, loan_id: str) -> list[tuple[str, int]]:
    rows = await world.sql(
        "SELECT business_date, booked_minor FROM penalty_days WHERE loan_id = :l ORDER BY 1",
        l=loan_id,
    )
    return [(day.isoformat(), booked) for day, booked in rows]


async def _runs(world: World) -> list[tuple[str, str, bool]]:
    rows = await world.sql(
        "SELECT business_date, trigger, finished_at IS NOT NULL FROM cob_runs ORDER BY 1"
    )
    return [(day.isoformat(), trigger, finished) for day, trigger, finished in rows]


async def test_a_day_whose_markers_never_completed_is_closed_before_the_next(
    world: World,
) -> None:
    loan_id, _, _ = await open_worked_example_loan(world)
    await world.close_day(date(2026, 3, 15))
    # 2026-03-16: the marker of the last partition is lost (dead-lettered, not replayed yet)
    for p in range(LOAN_PARTITIONS - 1):
        marker = ledger.BusinessDayClosed(
            business_date=date(2026, 3, 16), partition=p, partitions=LOAN_PARTITIONS
        )
        await world.send(new_event(marker, source=SOURCE, partition=p), partition=p)
    await world.drain()
    assert await _penalty_days(world, loan_id) == []

    await world.close_day(date(2026, 3, 17))

    assert await _penalty_days(world, loan_id) == [("2026-03-16", 39), ("2026-03-17", 39)]
    assert await _runs(world) == [
        ("2026-03-15", "ledger markers", True),
        ("2026-03-16", "ledger markers (catch-up)", True),
        ("2026-03-17", "ledger markers", True),
    ]
    # the lost marker replayed later changes nothing
    await world.close_day(date(2026, 3, 16))
    assert await _penalty_days(world, loan_id) == [("2026-03-16", 39), ("2026-03-17", 39)]


async def test_the_ops_command_closes_skipped_days_first_oldest_first(world: World) -> None:
    loan_id, _, _ = await open_worked_example_loan(world)
    await close_business_days_in_chunks(world.runtime.uow, date(2026, 3, 15), trigger="ops")

    closed = await close_business_days_in_chunks(
        world.runtime.uow, date(2026, 3, 18), trigger="ops", chunk_size=1
    )

    assert [day.isoformat() for day, _ in closed] == ["2026-03-16", "2026-03-17", "2026-03-18"]
    assert all(result is not None and result.loans_examined == 1 for _, result in closed)
    assert await _penalty_days(world, loan_id) == [
        ("2026-03-16", 39),
        ("2026-03-17", 39),
        ("2026-03-18", 39),
    ]
    assert [trigger for _, trigger, _ in await _runs(world)] == [
        "ops",
        "ops (catch-up)",
        "ops (catch-up)",
        "ops",
    ]


async def test_a_day_before_the_first_closed_day_is_refused(world: World) -> None:
    loan_id, _, _ = await open_worked_example_loan(world)
    await world.close_day(date(2026, 3, 16))
    late = ledger.BusinessDayClosed(business_date=date(2026, 3, 10), partition=0, partitions=1)

    async with world.runtime.uow() as uow:
        with pytest.raises(RejectedEvent, match="before the business clock's first closed day"):
            await handlers.on_business_day_closed(uow, new_event(late, source=SOURCE))

    assert [day for day, _, _ in await _runs(world)] == ["2026-03-16"]
    assert await _penalty_days(world, loan_id) == [("2026-03-16", 39)]


def test_the_ops_command_refuses_a_day_before_the_clock(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OVERDUE_DATABASE_URL", world.runtime.settings.database_url)
    assert cli.main(["close-of-business", "2026-03-16"]) == 0
    assert cli.main(["close-of-business", "2026-03-18"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-03-16: closed; 0 due or overdue loans examined, 0 events written to the outbox, "
        "0 blocked without a valid product policy",
        "2026-03-17: closed; 0 due or overdue loans examined, 0 events written to the outbox, "
        "0 blocked without a valid product policy",
        "2026-03-18: closed; 0 due or overdue loans examined, 0 events written to the outbox, "
        "0 blocked without a valid product policy",
    ]
    assert cli.main(["close-of-business", "2026-03-15"]) == 2
    assert "before the business clock's first closed day" in capsys.readouterr().err
