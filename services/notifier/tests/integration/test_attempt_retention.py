"""Retention of the attempt record: the purge deletes exactly the rows older than the retention
(default three years); the append-only trigger lets nothing else delete or change history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.testing import unique
from notifier.adapters.retention import purge_attempts
from notifier.adapters.tables import contact_attempts
from notifier.settings import Settings

NOW = datetime.now(UTC)


async def _history(engine: AsyncEngine, borrower: str, ages_days: list[int]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(contact_attempts),
            [
                {
                    "attempt_id": f"{borrower}-{age}",
                    "trigger_key": unique("t"),
                    "borrower_id": borrower,
                    "purpose": "became_overdue",
                    "state": "decided",
                    "recorded_at": NOW - timedelta(days=age),
                }
                for age in ages_days
            ],
        )


async def _ages(engine: AsyncEngine, borrower: str) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(contact_attempts.c.recorded_at)
            .where(contact_attempts.c.borrower_id == borrower)
            .order_by(contact_attempts.c.recorded_at)
        )
        return sorted(round((NOW - r).total_seconds() / 86_400) for r in rows.scalars())


def test_the_default_retention_is_three_years() -> None:
    assert Settings().attempt_retention_days == 3 * 365 + 1


async def test_the_purge_deletes_only_rows_older_than_the_retention(engine: AsyncEngine) -> None:
    borrower = unique("B")
    # 4 years, 3 years and 2 days, 3 years less 2 days, 2 years, today
    await _history(engine, borrower, [1461, 1098, 1094, 730, 0])
    deleted = await purge_attempts(engine, 3 * 365 + 1, now=NOW, chunk=1)
    assert deleted >= 2  # other tests' rows are younger; this borrower's two oldest go
    assert await _ages(engine, borrower) == [0, 730, 1094]
    assert await purge_attempts(engine, 3 * 365 + 1, now=NOW) == 0  # nothing left to purge


async def test_a_shorter_configured_retention_purges_more(engine: AsyncEngine) -> None:
    borrower = unique("B")
    await _history(engine, borrower, [400, 200])
    await purge_attempts(engine, 365, now=NOW)
    assert await _ages(engine, borrower) == [200]


@pytest.mark.parametrize(
    ("setup", "statement"),
    [
        # No purge cutoff: a DELETE of an old row is refused.
        (None, "DELETE FROM contact_attempts WHERE borrower_id = :b"),
        # A cutoff, but a statement reaching rows within the retention: refused whole.
        ("now() - interval '3 years'", "DELETE FROM contact_attempts WHERE borrower_id = :b"),
        # A cutoff in the future (to delete everything): refused.
        ("now() + interval '1 day'", "DELETE FROM contact_attempts WHERE borrower_id = :b"),
        # UPDATE and TRUNCATE stay refused, cutoff or not.
        (
            "now() - interval '3 years'",
            "UPDATE contact_attempts SET state = 'x' WHERE borrower_id = :b",
        ),
        ("now() - interval '3 years'", "TRUNCATE contact_attempts"),
    ],
)
async def test_nothing_but_the_purge_path_deletes_or_changes_history(
    engine: AsyncEngine, setup: str | None, statement: str
) -> None:
    borrower = unique("B")
    await _history(engine, borrower, [2000, 10])
    async with engine.connect() as conn:
        await conn.begin()
        if setup is not None:
            await conn.execute(
                text(f"SELECT set_config('notifier.retention_cutoff', ({setup})::text, true)")
            )
        with pytest.raises(DBAPIError, match=r"append-only|within its retention|in the future"):
            await conn.execute(text(statement), {"b": borrower})
        await conn.rollback()
    assert await _ages(engine, borrower) == [10, 2000]


async def test_the_cutoff_is_local_to_the_purge_transaction(engine: AsyncEngine) -> None:
    borrower = unique("B")
    await _history(engine, borrower, [2000])
    async with engine.connect() as conn:
        async with conn.begin():
            await conn.execute(
                text("SELECT set_config('notifier.retention_cutoff', (now())::text, true)")
            )
        with pytest.raises(DBAPIError, match="append-only"):
            async with conn.begin():
                await conn.execute(
                    text("DELETE FROM contact_attempts WHERE borrower_id = :b"), {"b": borrower}
                )
    assert await _ages(engine, borrower) == [2000]
