"""The database holds the rules no code path may bypass: one pending request per loan, a
checker is never the maker, one accepted or active plan per loan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lendkit.migrations import upgrade
from lendkit.testing import fresh_database
from restructure.adapters.tables import offers, plans, requests

DAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    url = await fresh_database("restructure_tables")
    await asyncio.to_thread(upgrade, "restructure", url)
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()


def _request(request_id: str, status: str = "pending") -> dict[str, object]:
    return {
        "request_id": request_id,
        "loan_id": "L-1",
        "borrower_id": "b-1",
        "reason": "job loss",
        "status": status,
        "requested_on": DAY,
    }


def _offer(offer_id: str, **values: object) -> dict[str, object]:
    return {
        "offer_id": offer_id,
        "loan_id": "L-1",
        "plan_type": "discounted_settlement",
        "quote": {},
        "status": "awaiting_approval",
        "made_by": "ops-1",
        "needs_approval": True,
        "expires_on": DAY,
    } | values


async def test_a_second_pending_request_for_a_loan_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(requests).values(_request("r-1")))
        await conn.execute(insert(requests).values(_request("r-0", status="declined")))
    with pytest.raises(IntegrityError, match="requests_one_pending_per_loan"):
        async with engine.begin() as conn:
            await conn.execute(insert(requests).values(_request("r-2")))


async def test_the_maker_cannot_approve_their_own_offer(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(offers).values(_offer("o-1")))
    with pytest.raises(IntegrityError, match="offers_four_eyes"):
        async with engine.begin() as conn:
            await conn.execute(
                update(offers).where(offers.c.offer_id == "o-1").values(approved_by="ops-1")
            )
    async with engine.begin() as conn:
        await conn.execute(
            update(offers).where(offers.c.offer_id == "o-1").values(approved_by="ops-2")
        )


async def test_one_open_plan_per_loan(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(offers).values([_offer("o-2"), _offer("o-3")]))
        await conn.execute(
            insert(plans).values(
                plan_id="p-1",
                loan_id="L-1",
                offer_id="o-2",
                plan_type="term_extension",
                status="active",
                schedule=[],
                accepted_on=DAY,
            )
        )
    with pytest.raises(IntegrityError, match="plans_one_open_per_loan"):
        async with engine.begin() as conn:
            await conn.execute(
                insert(plans).values(
                    plan_id="p-2",
                    loan_id="L-1",
                    offer_id="o-3",
                    plan_type="rate_reduction",
                    status="accepted",
                    schedule=[],
                    accepted_on=DAY,
                )
            )
