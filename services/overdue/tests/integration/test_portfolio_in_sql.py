"""Roll rates and the cure rate are counted in the database: on a seeded book of random
bucket histories they equal the Python reference over the two whole snapshots, and the
database hands back one row per pair of buckets, never the book."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import text

from lendkit.testing import unique
from overdue.adapters.read_models import OverdueReadModels
from overdue.domain.delinquency import Buckets
from overdue.domain.portfolio import cure_rate, roll_rate_matrix

from .conftest import World

BUCKETS = Buckets.default()
FIRST = date(2026, 1, 1)


def _seed_book(
    rng: random.Random, loans: int
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    names = list(BUCKETS.names)
    rows, history = [], []
    for _ in range(loans):
        loan_id = unique("PB")
        rows.append(
            {
                "loan_id": loan_id,
                "borrower_id": "B",
                "product_code": "P",
                "currency": "CNY",
                "principal_minor": 100_000,
                "disbursed_on": FIRST + timedelta(days=rng.randrange(60)),
                "timezone": "Asia/Shanghai",
            }
        )
        bucket = BUCKETS.current.name
        day = rows[-1]["disbursed_on"]
        assert isinstance(day, date)
        for _ in range(rng.randrange(5)):
            day += timedelta(days=rng.randrange(1, 20))
            target = rng.choice([n for n in names if n != bucket])
            history.append(
                {"loan_id": loan_id, "on": day, "from_b": bucket, "to_b": target, "dpd": 1}
            )
            bucket = target
    return rows, history


def _snapshot(
    rows: list[dict[str, object]], history: list[dict[str, object]], on: date
) -> dict[str, str]:
    """The Python reference: the whole book on ``on``, loan by loan."""
    latest: dict[str, str] = {}
    for h in sorted(history, key=lambda h: h["on"]):  # type: ignore[arg-type, return-value]
        if h["on"] <= on:  # type: ignore[operator]
            latest[str(h["loan_id"])] = str(h["to_b"])
    return {
        str(r["loan_id"]): latest.get(str(r["loan_id"]), BUCKETS.current.name)
        for r in rows
        if r["disbursed_on"] <= on  # type: ignore[operator]
    }


async def test_roll_and_cure_rates_counted_in_sql_equal_the_python_reference(world: World) -> None:
    rng = random.Random(20261201)
    rows, history = _seed_book(rng, 3_000)
    async with world.runtime.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO loans (loan_id, borrower_id, product_code, currency, "
                "principal_minor, disbursed_on, timezone) VALUES (:loan_id, :borrower_id, "
                ":product_code, :currency, :principal_minor, :disbursed_on, :timezone)"
            ),
            rows,
        )
        await conn.execute(
            text(
                "INSERT INTO bucket_history (loan_id, business_date, from_bucket, to_bucket, dpd) "
                "VALUES (:loan_id, :on, :from_b, :to_b, :dpd)"
            ),
            history,
        )
    async with world.client(roles=["ops"]) as ops:
        for start, end in (
            (date(2026, 2, 1), date(2026, 3, 1)),
            (date(2026, 1, 20), date(2026, 4, 30)),
        ):
            at_a, at_b = _snapshot(rows, history, start), _snapshot(rows, history, end)
            expected = roll_rate_matrix(at_a, at_b, BUCKETS)
            period = {"from": start.isoformat(), "to": end.isoformat()}
            rolls = (await ops.get("/portfolio/roll-rates", params=period)).json()
            assert rolls["counts"] == expected.as_dict()
            assert (rolls["left_book"], rolls["joined_book"]) == (
                expected.left_book,
                expected.joined_book,
            )
            cure = (await ops.get("/portfolio/cure-rate", params=period)).json()
            reference = cure_rate(at_a, at_b, BUCKETS)
            assert cure["cure_rate"] == (None if reference is None else str(reference))
            async with world.runtime.session_factory() as session:
                moves = await OverdueReadModels(session).bucket_moves(
                    start, end, BUCKETS.current.name
                )
            assert len(moves) <= (len(BUCKETS.names) + 1) ** 2
            assert sum(moves.values()) == len(at_a.keys() | at_b.keys())
