"""Set-based outbox rows (``outbox_insert_select`` + ``payload_sql``) read back like emitted ones."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.db import UnitOfWork
from lendkit.events import CloudEvent, new_event
from lendkit.outbox.writer import outbox_insert_select, outbox_params, payload_sql

from .conftest import LoanTouched


async def test_sql_written_rows_match_emitted_rows(
    engine: AsyncEngine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    rows_sql = (
        "SELECT gen_random_uuid() AS event_id, 'L-sql' AS message_key, "
        + payload_sql(LoanTouched, {"loan_id": "'L-sql'", "seq": "7"})
        + " AS payload"
    )
    async with uow_factory() as uow:
        await uow.emit(new_event(LoanTouched(loan_id="L-py", seq=7), source="kit-test"))
        await uow.session.execute(
            text(outbox_insert_select(LoanTouched, rows_sql)), outbox_params("kit-test")
        )
        await uow.commit()

    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT topic, message_key, headers, payload FROM outbox ORDER BY id")
            )
        ).all()
    assert [r.message_key for r in rows] == ["L-py", "L-sql"]
    events = [
        CloudEvent.from_kafka(
            r.topic,
            r.message_key.encode(),
            bytes(r.payload),
            [
                (k, v.encode())
                for k, v in (r.headers if isinstance(r.headers, list) else json.loads(r.headers))
            ],
        )
        for r in rows
    ]
    py, sql = events
    assert [name for name, _ in py.headers()] == [name for name, _ in sql.headers()]
    assert (sql.type, sql.source, sql.subject) == (py.type, py.source, "L-sql")
    assert sql.payload(LoanTouched) == LoanTouched(loan_id="L-sql", seq=7)
