"""Balances naming every open instalment are stored in one statement, and the consumer
takes the arrears after them from the balances instead of reading them back: both must
agree with what the read model answers (``arrears_on``, ``oldest_unpaid_due_date``)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from lendkit.contracts.money import InstalmentBalance
from overdue.domain.arrears import Arrears

from .conftest import World, open_worked_example_loan


def _random_open(rng: random.Random, dues: dict[int, date]) -> list[InstalmentBalance]:
    """Some of the loan's instalments still open, with random amounts (zeros included)."""
    open_ = sorted(rng.sample(sorted(dues), rng.randint(0, len(dues))))
    return [
        InstalmentBalance(
            seq=seq,
            due_date=dues[seq],
            principal_minor=rng.choice([0, 0, rng.randint(1, 90_000)]),
            interest_minor=rng.choice([0, rng.randint(1, 15_000)]),
            penalty_minor=rng.choice([0, rng.randint(1, 500)]),
            fee_minor=rng.choice([0, 0, rng.randint(1, 2_000)]),
        )
        for seq in open_
    ]


async def test_balances_replaced_in_one_statement_match_the_read_model(world: World) -> None:
    loan_id, _, terms = await open_worked_example_loan(world)
    dues = {t.seq: t.due_date for t in terms}
    rng = random.Random(20261202)
    for case in range(60):
        balances = _random_open(rng, dues)
        as_of = rng.choice(  # on a due date (the boundary) or any day around the schedule
            [rng.choice(list(dues.values())), min(dues.values()) + timedelta(rng.randint(-5, 400))]
        )
        async with world.runtime.uow() as uow:
            await uow.loans.replace_balances(loan_id, balances, loan_version=case + 10)
            stored = await uow.loans.arrears_on(loan_id, as_of)
            loan = await uow.loans.get(loan_id)
            await uow.commit()
        assert stored == Arrears.of_open_instalments(balances, as_of), (case, balances, as_of)
        (oldest,) = await world.sql(
            "SELECT min(due_date) FROM instalments "
            "WHERE loan_id = :l AND principal_minor + interest_minor > 0",
            l=loan_id,
        )
        assert loan is not None
        assert (loan.oldest_unpaid_due_date, loan.ledger_version) == (oldest[0], case + 10)
        rows = await world.sql(
            "SELECT seq, principal_minor, interest_minor, penalty_minor, fee_minor "
            "FROM instalments WHERE loan_id = :l ORDER BY seq",
            l=loan_id,
        )
        named = {b.seq: b for b in balances}
        for seq, principal, interest, penalty, fee in rows:
            b = named.get(seq)
            expected = (
                (0, 0, 0, 0)
                if b is None
                else (b.principal_minor, b.interest_minor, b.penalty_minor, b.fee_minor)
            )
            assert (principal, interest, penalty, fee) == expected, (case, seq)
