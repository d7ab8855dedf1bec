"""The contact-attempt record is append-only and one trigger makes one attempt."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.testing import unique
from notifier.adapters.tables import contact_attempts, deferred_sends


def _row(attempt: str, trigger: str, borrower: str, state: str) -> dict[str, object]:
    return {
        "attempt_id": attempt,
        "trigger_key": trigger,
        "borrower_id": borrower,
        "loan_id": "L-" + borrower,
        "purpose": "overdue_notice",
        "state": state,
        "channel": "sms",
        "reasons": ["quiet hours 22:00-08:00"],
    }


async def test_history_rows_cannot_be_updated_deleted_or_truncated(engine: AsyncEngine) -> None:
    borrower = unique("B")
    async with engine.begin() as conn:
        await conn.execute(insert(contact_attempts), [_row("A1", unique("t"), borrower, "decided")])
    for statement in (
        f"UPDATE contact_attempts SET state = 'sent' WHERE borrower_id = '{borrower}'",
        f"DELETE FROM contact_attempts WHERE borrower_id = '{borrower}'",
        "TRUNCATE contact_attempts",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.connect() as conn:
        states = (
            (
                await conn.execute(
                    select(contact_attempts.c.state).where(
                        contact_attempts.c.borrower_id == borrower
                    )
                )
            )
            .scalars()
            .all()
        )
    assert states == ["decided"]


async def test_state_changes_are_new_rows_and_a_trigger_is_decided_once(
    engine: AsyncEngine,
) -> None:
    borrower, trigger = unique("B"), unique("t")
    async with engine.begin() as conn:
        await conn.execute(
            insert(contact_attempts),
            [
                _row("A2", trigger, borrower, s)
                for s in ("decided", "deferred", "sent", "delivered")
            ],
        )
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(contact_attempts), [_row("A3", trigger, borrower, "decided")])
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(contact_attempts.c.attempt_id, contact_attempts.c.state)
                .where(contact_attempts.c.borrower_id == borrower)
                .order_by(contact_attempts.c.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("A2", "decided"),
        ("A2", "deferred"),
        ("A2", "sent"),
        ("A2", "delivered"),
    ]


async def test_deferred_sends_are_persisted(engine: AsyncEngine) -> None:
    attempt = unique("A")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO deferred_sends (attempt_id, due_at, payload) VALUES (:a, now(), '{}')"
            ),
            {"a": attempt},
        )
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                select(deferred_sends.c.attempt_id).where(deferred_sends.c.attempt_id == attempt)
            )
        ).scalar_one()
    assert found == attempt
