"""A transaction the database aborts as a deadlock is run again and succeeds.

Two real connections take two rows' locks in opposite orders, so PostgreSQL must abort
one of them (SQLSTATE 40P01). Wrapped in ``rerun_on_conflict``, the aborted side runs its
whole transaction again once the other has committed; unwrapped, the deadlock reaches
the caller (which is what a close of business racing a payment used to answer)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from lendkit.failures import is_concurrency_conflict, rerun_on_conflict
from lendkit.testing import fresh_database

pytestmark = pytest.mark.integration


async def _setup() -> str:
    url = (await fresh_database("rerun_conflict")).replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE rows (id int PRIMARY KEY, n int NOT NULL)")
        await conn.execute("INSERT INTO rows VALUES (1, 0), (2, 0)")
    finally:
        await conn.close()
    return url


async def _opposite_orders(url: str, *, rerun: bool) -> tuple[int, int]:
    """Transaction A locks row 1 then row 2; B locks row 2 then row 1. Returns how many
    times B ran and the rows' final sum (each of A's runs adds 2, each of B's 20)."""
    a_has_1 = asyncio.Event()
    b_has_2 = asyncio.Event()
    runs = 0

    async def a() -> None:
        # A checks for deadlocks late, B early: B is always the one PostgreSQL aborts.
        conn = await asyncpg.connect(url, server_settings={"deadlock_timeout": "10s"})
        try:
            async with conn.transaction():
                await conn.execute("UPDATE rows SET n = n + 1 WHERE id = 1")
                a_has_1.set()
                await b_has_2.wait()
                await conn.execute("UPDATE rows SET n = n + 1 WHERE id = 2")
        finally:
            await conn.close()

    async def b_once() -> None:
        nonlocal runs
        runs += 1
        conn = await asyncpg.connect(url, server_settings={"deadlock_timeout": "100ms"})
        try:
            async with conn.transaction():
                await conn.execute("UPDATE rows SET n = n + 10 WHERE id = 2")
                if runs == 1:
                    await a_has_1.wait()
                    b_has_2.set()
                await conn.execute("UPDATE rows SET n = n + 10 WHERE id = 1")
        finally:
            await conn.close()

    async def b() -> None:
        await (rerun_on_conflict(b_once) if rerun else b_once())

    results = await asyncio.gather(a(), b(), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    conn = await asyncpg.connect(url)
    try:
        total = await conn.fetchval("SELECT sum(n) FROM rows")
    finally:
        await conn.close()
    return runs, total


async def test_a_deadlocked_transaction_is_run_again_and_both_apply_once() -> None:
    url = await _setup()
    runs, total = await _opposite_orders(url, rerun=True)
    # B was aborted once and ran again; both transactions applied exactly once.
    assert (runs, total) == (2, 2 + 20)


async def test_without_the_rerun_the_deadlock_reaches_the_caller() -> None:
    url = await _setup()
    with pytest.raises(asyncpg.DeadlockDetectedError) as raised:
        await _opposite_orders(url, rerun=False)
    assert is_concurrency_conflict(raised.value)
