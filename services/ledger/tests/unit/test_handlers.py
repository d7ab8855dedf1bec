"""The ledger's use cases over a fake unit of work (``fakes.FakeLedgerUnitOfWork``): commands
(``service_layer.commands``) and consumed facts (``service_layer.handlers``), no servers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ledger.domain import LedgerComponent, LoanProduct
from ledger.domain.clock import LedgerClock
from ledger.domain.errors import InvalidValueDate
from ledger.service_layer import commands, handlers
from lendkit.consumer import RejectedEvent
from lendkit.contracts.ledger import (
    ChargeBooked,
    InstalmentSettled,
    LoanDisbursed,
    PaymentAllocated,
    PaymentReceived,
    PaymentReversed,
    ProductPublished,
)
from lendkit.contracts.money import Component as ContractComponent
from lendkit.contracts.overdue import PenaltyAssessed, PenaltyWaived
from lendkit.errors import Conflict, Invalid, NotFound
from lendkit.events import new_event

from .fakes import FakeLedgerUnitOfWork

PRODUCT = LoanProduct(code="P-12", currency="CNY", annual_rate=Decimal("0.12"), term=3)
DISBURSED = date(2026, 1, 10)
CLOCK = LedgerClock(ZoneInfo("Asia/Shanghai"))


async def _loan(uow: FakeLedgerUnitOfWork, loan_id: str = "L-1") -> commands.LoanCreated:
    async with uow:
        created = await commands.disburse_loan(
            uow.as_ledger(),
            loan_id=loan_id,
            borrower_id="B-1",
            product_code=PRODUCT.code,
            principal=300_000,
            disbursed_on=DISBURSED,
        )
        await uow.commit()
    return created


async def _pay(
    uow: FakeLedgerUnitOfWork, amount: int, value_date: date, reference: str = "ref-1"
) -> commands.PaymentRecorded:
    async with uow:
        recorded = await commands.record_payment(
            uow.as_ledger(),
            loan_id="L-1",
            reference=reference,
            amount=amount,
            value_date=value_date,
            clock=CLOCK,
        )
        await uow.commit()
    return recorded


async def test_create_product_publishes_it_and_refuses_the_code_twice() -> None:
    uow = FakeLedgerUnitOfWork()
    async with uow:
        created = await commands.create_product(uow.as_ledger(), PRODUCT)
        await uow.commit()
    assert created.product == PRODUCT
    (published,) = uow.published(ProductPublished)
    assert published == created.published
    assert (published.code, published.annual_rate, published.term) == ("P-12", "0.12", 3)
    assert await uow.products.get("P-12") == PRODUCT
    async with uow:
        with pytest.raises(Conflict, match="product P-12 exists"):
            await commands.create_product(uow.as_ledger(), PRODUCT)


async def test_disburse_loan_stores_the_schedule_journals_and_publishes() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    created = await _loan(uow)
    (disbursed,) = uow.published(LoanDisbursed)
    assert disbursed == created.disbursed
    assert disbursed.principal_minor == 300_000 and len(disbursed.instalments) == 3
    state = uow.loans.state("L-1")
    assert sum(i.principal for i in state.instalments) == 300_000
    assert [i.seq for i in state.instalments] == [t.seq for t in disbursed.instalments]
    (entry,) = uow.loans.journal("L-1")
    assert sum(line.debit for line in entry.lines) == 300_000
    async with uow:
        with pytest.raises(Conflict, match="loan L-1 exists"):
            await commands.disburse_loan(
                uow.as_ledger(),
                loan_id="L-1",
                borrower_id="B-1",
                product_code=PRODUCT.code,
                principal=1,
                disbursed_on=DISBURSED,
            )


async def test_disburse_loan_of_an_unknown_product_is_not_found() -> None:
    uow = FakeLedgerUnitOfWork()
    async with uow:
        with pytest.raises(NotFound, match="no product P-12"):
            await commands.disburse_loan(
                uow.as_ledger(),
                loan_id="L-1",
                borrower_id="B-1",
                product_code="P-12",
                principal=1,
                disbursed_on=DISBURSED,
            )
    assert uow.committed_events == []


async def test_record_payment_allocates_interest_then_principal_and_publishes() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    await _loan(uow)
    first = uow.loans.state("L-1").instalments[0]
    owed = first.principal + first.interest
    recorded = await _pay(uow, owed + 50, first.due_date)

    lines = {(line.seq, line.component): line.amount_minor for line in recorded.allocated.lines}
    assert lines == {
        (1, ContractComponent.INTEREST): first.interest,
        (1, ContractComponent.PRINCIPAL): first.principal,
        (2, ContractComponent.INTEREST): 50,
    }
    (received,) = uow.published(PaymentReceived)
    assert (received.amount_minor, received.external_reference) == (owed + 50, "ref-1")
    (allocated,) = uow.published(PaymentAllocated)
    assert allocated == recorded.allocated and not allocated.reallocation
    assert [b.seq for b in allocated.balances] == [2, 3]
    (settled,) = uow.published(InstalmentSettled)
    assert (settled.seq, settled.settled_on) == (1, first.due_date)
    state = uow.loans.state("L-1")
    assert state.instalments[0].owed == 0
    assert sum(i.owed for i in state.instalments) == sum(
        b.principal_minor + b.interest_minor for b in allocated.balances
    )


async def test_a_back_dated_payment_reallocates_the_later_one() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    await _loan(uow)
    later = await _pay(uow, 10_000, date(2026, 3, 1), reference="later")
    await _pay(uow, 10_000, date(2026, 2, 1), reference="earlier")
    reallocated = [a for a in uow.published(PaymentAllocated) if a.reallocation]
    assert [a.payment_id for a in reallocated] == [later.payment.payment_id]


async def test_record_payment_refusals() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    async with uow:
        with pytest.raises(NotFound, match="no loan L-1"):
            await commands.record_payment(
                uow.as_ledger(),
                loan_id="L-1",
                reference="r",
                amount=1,
                value_date=DISBURSED,
                clock=CLOCK,
            )
    await _loan(uow)
    async with uow:
        with pytest.raises(InvalidValueDate, match="before the disbursement") as refused:
            await commands.record_payment(
                uow.as_ledger(),
                loan_id="L-1",
                reference="r",
                amount=1,
                value_date=date(2025, 12, 31),
                clock=CLOCK,
            )
    assert isinstance(refused.value, Invalid) and refused.value.field == "value_date"
    await _pay(uow, 100, DISBURSED, reference="taken")
    with pytest.raises(Conflict, match="external reference 'taken'"):
        await _pay(uow, 100, DISBURSED, reference="taken")


async def test_reverse_payment_makes_what_it_paid_owed_again() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    await _loan(uow)
    before = sum(i.owed for i in uow.loans.state("L-1").instalments)
    recorded = await _pay(uow, 20_000, date(2026, 2, 1))
    async with uow:
        reversal = await commands.reverse_payment(
            uow.as_ledger(),
            loan_id="L-1",
            payment_id=recorded.payment.payment_id,
            reason="chargeback",
            business_date=None,
            clock=CLOCK,
        )
        await uow.commit()
    assert reversal.reason == "chargeback" and reversal.credit_balance == 0
    (published,) = uow.published(PaymentReversed)
    assert published.payment_id == recorded.payment.payment_id
    assert sum(i.owed for i in uow.loans.state("L-1").instalments) == before
    assert sum(b.principal_minor + b.interest_minor for b in reversal.balances) == before
    async with uow:
        with pytest.raises(Conflict, match="already reversed"):
            await commands.reverse_payment(
                uow.as_ledger(),
                loan_id="L-1",
                payment_id=recorded.payment.payment_id,
                reason="again",
                business_date=date(2026, 2, 2),
            )
        with pytest.raises(NotFound, match="no payment nope"):
            await commands.reverse_payment(
                uow.as_ledger(),
                loan_id="L-1",
                payment_id="nope",
                reason="x",
                business_date=date(2026, 2, 2),
            )


def _assessed(seq: int, amount: int, day: date) -> PenaltyAssessed:
    return PenaltyAssessed(
        loan_id="L-1",
        seq=seq,
        business_date=day,
        component=ContractComponent.PENALTY,
        base_minor=100_000,
        daily_rate="0.0005",
        amount_minor=amount,
        currency="CNY",
        cap_applied=None,
    )


async def test_penalties_assessed_are_booked_once_and_published() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    await _loan(uow)
    event = new_event(_assessed(1, 50, date(2026, 2, 12)), source="overdue")
    for _ in range(2):  # a duplicate delivery books nothing more
        async with uow:
            await handlers.on_penalties_assessed(uow.as_ledger(), [event])
            await uow.commit()
    (booked,) = uow.published(ChargeBooked)
    assert (booked.seq, booked.amount_minor, booked.source_event_id) == (1, 50, event.id)
    assert booked.balances[0].penalty_minor == 50
    assert uow.loans.state("L-1").instalments[0].outstanding[LedgerComponent.PENALTY] == 50


async def test_a_penalty_on_a_loan_with_credit_is_booked_through_a_replay() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    await _loan(uow)
    await _pay(uow, 400_000, date(2026, 2, 1))  # over-payment: credit held
    event = new_event(_assessed(1, 50, date(2026, 2, 12)), source="overdue")
    async with uow:
        await handlers.on_penalties_assessed(uow.as_ledger(), [event])
        await uow.commit()
    (booked,) = uow.published(ChargeBooked)
    assert booked.amount_minor == 50
    state = uow.loans.state("L-1")
    assert state.instalments[0].outstanding[LedgerComponent.PENALTY] == 0  # paid from the credit


async def test_a_waiver_of_more_than_is_charged_is_rejected_with_the_reason() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    await _loan(uow)
    async with uow:
        await handlers.on_penalties_assessed(
            uow.as_ledger(), [new_event(_assessed(1, 30, date(2026, 2, 12)), source="overdue")]
        )
        await uow.commit()
    waiver = PenaltyWaived(
        loan_id="L-1",
        seq=1,
        business_date=date(2026, 2, 13),
        amount_minor=40,
        currency="CNY",
        reason="goodwill",
        waived_by="ops",
    )
    async with uow:
        with pytest.raises(RejectedEvent, match="only 30 is charged"):
            await handlers.on_penalty_waived(uow.as_ledger(), new_event(waiver, source="overdue"))
    waiver = waiver.model_copy(update={"amount_minor": 30})
    async with uow:
        await handlers.on_penalty_waived(uow.as_ledger(), new_event(waiver, source="overdue"))
        await uow.commit()
    assert [b.amount_minor for b in uow.published(ChargeBooked)] == [30, -30]
    assert uow.loans.state("L-1").instalments[0].outstanding[LedgerComponent.PENALTY] == 0


async def test_a_penalty_for_an_unknown_loan_is_rejected() -> None:
    uow = FakeLedgerUnitOfWork([PRODUCT])
    waiver = PenaltyWaived(
        loan_id="L-404",
        seq=1,
        business_date=date(2026, 2, 13),
        amount_minor=1,
        currency="CNY",
        reason="goodwill",
        waived_by="ops",
    )
    async with uow:
        with pytest.raises(RejectedEvent, match="NotFound: no loan L-404"):
            await handlers.on_penalty_waived(uow.as_ledger(), new_event(waiver, source="overdue"))
