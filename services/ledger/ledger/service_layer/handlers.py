"""Products and loans: create a product, create and disburse a loan."""

from __future__ import annotations

from datetime import date

from ledger.adapters.records import InstalmentRecord, LoanRecord
from ledger.domain import Component, LoanProduct, build_schedule, disbursement_entry
from ledger.service_layer.errors import Conflict, NotFound
from ledger.service_layer.shapes import contract_component, terms
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import LoanDisbursed, ProductPublished
from lendkit.events import new_event


def product_published(product: LoanProduct) -> ProductPublished:
    return ProductPublished(
        code=product.code,
        currency=product.currency,
        annual_rate=str(product.annual_rate),
        day_count=product.day_count.value,
        term=product.term,
        frequency=product.frequency.value,
        schedule_type=product.schedule_type.value,
        rounding=product.rounding.value,
        allocation_strategy=product.allocation_order.strategy.value,
        allocation_components=[contract_component(c) for c in product.allocation_order.components],
        reminder_days_before=list(product.reminder_days_before),
        overdue_policy=dict(product.overdue_policy),
        notification_policy=dict(product.notification_policy),
        restructure_policy=dict(product.restructure_policy),
    )


async def create_product(uow: LedgerUnitOfWork, product: LoanProduct) -> ProductPublished:
    """Store a new product and publish it for the other services' read models."""
    if not await uow.products.add(product):
        raise Conflict(f"product {product.code} exists; a change of terms is a new product code")
    published = product_published(product)
    await uow.emit(new_event(published, source=uow.source))
    return published


async def disburse_loan(
    uow: LedgerUnitOfWork,
    *,
    loan_id: str,
    borrower_id: str,
    product_code: str,
    principal: int,
    disbursed_on: date,
    first_due_date: date | None = None,
    timezone: str = "Asia/Shanghai",
) -> LoanDisbursed:
    """Create the loan with its first schedule, journal the disbursement, publish it."""
    product = await uow.products.get(product_code)
    if product is None:
        raise NotFound(f"no product {product_code}")
    schedule = build_schedule(principal, product, disbursed_on, first_due_date)
    loan = LoanRecord(
        loan_id=loan_id,
        borrower_id=borrower_id,
        product_code=product.code,
        currency=product.currency,
        principal=principal,
        annual_rate=product.annual_rate,
        disbursed_on=disbursed_on,
        timezone=timezone,
        status="active",
        schedule_version=1,
        credit_balance=0,
    )
    rows = [
        InstalmentRecord(
            seq=i.seq,
            due_date=i.due_date,
            principal=i.principal,
            interest=i.interest,
            outstanding={
                Component.PRINCIPAL: i.principal,
                Component.INTEREST: i.interest,
                Component.PENALTY: 0,
                Component.FEE: 0,
            },
        )
        for i in schedule.instalments
    ]
    if not await uow.loans.add_loan(loan, rows):
        raise Conflict(f"loan {loan_id} exists")
    await uow.loans.add_journal_entries(
        loan_id, [disbursement_entry(principal, loan.currency)], business_date=disbursed_on
    )
    disbursed = LoanDisbursed(
        loan_id=loan_id,
        borrower_id=borrower_id,
        product_code=product.code,
        currency=product.currency,
        principal_minor=principal,
        annual_rate=str(product.annual_rate),
        disbursed_on=disbursed_on,
        timezone=timezone,
        schedule_version=1,
        instalments=terms(rows),
    )
    await uow.emit(new_event(disbursed, source=uow.source))
    return disbursed
