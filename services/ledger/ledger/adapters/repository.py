"""Loading and saving loans (with instalments, payments, charges, allocations) and products."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.adapters.product_mapping import product_from_row, product_row
from ledger.adapters.records import (
    AllocationKey,
    ChargeRecord,
    InstalmentRecord,
    LoanRecord,
    LoanState,
    PaymentRecord,
)
from ledger.adapters.tables import (
    allocation_lines,
    allocations,
    charges,
    instalments,
    journal_entries,
    journal_lines,
    loans,
    payments,
    products,
    schedule_versions,
)
from ledger.domain import AllocationLine, AllocationResult, Component, JournalEntry, LoanProduct


def loan_record(row: Row[Any]) -> LoanRecord:
    m = row._mapping
    return LoanRecord(
        loan_id=m["loan_id"],
        borrower_id=m["borrower_id"],
        product_code=m["product_code"],
        currency=m["currency"],
        principal=m["principal"],
        annual_rate=Decimal(m["annual_rate"]),
        disbursed_on=m["disbursed_on"],
        timezone=m["timezone"],
        status=m["status"],
        schedule_version=m["schedule_version"],
        credit_balance=m["credit_balance"],
        settled_on=m["settled_on"],
    )


def _instalment(row: Row[Any]) -> InstalmentRecord:
    m = row._mapping
    return InstalmentRecord(
        seq=m["seq"],
        due_date=m["due_date"],
        principal=m["principal"],
        interest=m["interest"],
        outstanding={
            Component.PRINCIPAL: m["outstanding_principal"],
            Component.INTEREST: m["outstanding_interest"],
            Component.PENALTY: m["outstanding_penalty"],
            Component.FEE: m["outstanding_fee"],
        },
        interest_recognised=m["interest_recognised"],
        settled_on=m["settled_on"],
    )


def _instalment_row(loan_id: str, version: int, i: InstalmentRecord) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "version": version,
        "seq": i.seq,
        "due_date": i.due_date,
        "principal": i.principal,
        "interest": i.interest,
        "outstanding_principal": i.outstanding[Component.PRINCIPAL],
        "outstanding_interest": i.outstanding[Component.INTEREST],
        "outstanding_penalty": i.outstanding[Component.PENALTY],
        "outstanding_fee": i.outstanding[Component.FEE],
        "interest_recognised": i.interest_recognised,
        "settled_on": i.settled_on,
    }


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str) -> LoanProduct | None:
        row = (await self.session.execute(select(products).where(products.c.code == code))).first()
        return product_from_row(row._mapping) if row else None

    async def add(self, product: LoanProduct) -> bool:
        """Insert the product; False when the code is taken."""
        inserted = await self.session.scalar(
            pg_insert(products)
            .values(product_row(product))
            .on_conflict_do_nothing()
            .returning(products.c.code)
        )
        return inserted is not None


class LoanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, loan_id: str) -> LoanRecord | None:
        row = (await self.session.execute(select(loans).where(loans.c.loan_id == loan_id))).first()
        return loan_record(row) if row else None

    async def current_instalments(self, loan: LoanRecord) -> list[InstalmentRecord]:
        rows = await self.session.execute(
            select(instalments)
            .where(
                instalments.c.loan_id == loan.loan_id,
                instalments.c.version == loan.schedule_version,
            )
            .order_by(instalments.c.seq)
        )
        return [_instalment(r) for r in rows]

    async def load(self, loan_id: str) -> LoanState | None:
        """The loan and its money, with the loan row locked until the transaction ends."""
        row = (
            await self.session.execute(
                select(loans).where(loans.c.loan_id == loan_id).with_for_update()
            )
        ).first()
        if row is None:
            return None
        loan = loan_record(row)
        product_row_ = (
            await self.session.execute(select(products).where(products.c.code == loan.product_code))
        ).one()
        return LoanState(
            loan=loan,
            product=product_from_row(product_row_._mapping),
            instalments=await self.current_instalments(loan),
            payments=await self.payments(loan_id),
            charges=await self.charges(loan_id),
            allocations=await self.current_allocations(loan_id),
        )

    async def payments(self, loan_id: str) -> list[PaymentRecord]:
        rows = await self.session.execute(
            select(payments).where(payments.c.loan_id == loan_id).order_by(payments.c.receipt_order)
        )
        return [
            PaymentRecord(
                payment_id=r.payment_id,
                external_reference=r.external_reference,
                amount=r.amount,
                value_date=r.value_date,
                received_at=r.received_at,
                receipt_order=r.receipt_order,
                reversed=r.reversed,
            )
            for r in rows
        ]

    async def charges(self, loan_id: str) -> list[ChargeRecord]:
        rows = await self.session.execute(
            select(charges)
            .where(charges.c.loan_id == loan_id)
            .order_by(charges.c.business_date, charges.c.created_at, charges.c.charge_id)
        )
        return [
            ChargeRecord(
                charge_id=r.charge_id,
                seq=r.seq,
                component=Component(r.component),
                amount=r.amount,
                kind=r.kind,
                business_date=r.business_date,
            )
            for r in rows
        ]

    async def current_allocations(self, loan_id: str) -> dict[AllocationKey, AllocationResult]:
        rows = await self.session.execute(
            select(
                allocations.c.source_kind,
                allocations.c.source_id,
                allocations.c.credit,
                allocation_lines.c.seq,
                allocation_lines.c.component,
                allocation_lines.c.amount,
            )
            .select_from(allocations.outerjoin(allocation_lines))
            .where(allocations.c.loan_id == loan_id, allocations.c.current)
            .order_by(allocations.c.allocation_id, allocation_lines.c.line_no)
        )
        lines: dict[AllocationKey, list[AllocationLine]] = {}
        credit: dict[AllocationKey, int] = {}
        for r in rows:
            key = (r.source_kind, r.source_id)
            credit[key] = r.credit
            bucket = lines.setdefault(key, [])
            if r.seq is not None:
                bucket.append(AllocationLine(r.seq, Component(r.component), r.amount))
        return {k: AllocationResult(tuple(lines[k]), credit[k]) for k in credit}

    async def add_loan(self, loan: LoanRecord, schedule: Sequence[InstalmentRecord]) -> bool:
        """Insert a new loan with schedule version 1; False when the loan id is taken."""
        inserted = await self.session.scalar(
            pg_insert(loans)
            .values(
                loan_id=loan.loan_id,
                borrower_id=loan.borrower_id,
                product_code=loan.product_code,
                currency=loan.currency,
                principal=loan.principal,
                annual_rate=str(loan.annual_rate),
                disbursed_on=loan.disbursed_on,
                timezone=loan.timezone,
                status=loan.status,
                schedule_version=loan.schedule_version,
                credit_balance=loan.credit_balance,
            )
            .on_conflict_do_nothing()
            .returning(loans.c.loan_id)
        )
        if inserted is None:
            return False
        await self.add_schedule_version(
            loan,
            loan.schedule_version,
            schedule,
            reason="disbursement",
            effective=loan.disbursed_on,
        )
        return True

    async def add_schedule_version(
        self,
        loan: LoanRecord,
        version: int,
        schedule: Sequence[InstalmentRecord],
        *,
        reason: str,
        effective: date,
        plan_id: str | None = None,
    ) -> None:
        await self.session.execute(
            insert(schedule_versions).values(
                loan_id=loan.loan_id,
                version=version,
                reason=reason,
                plan_id=plan_id,
                effective_date=effective,
                annual_rate=str(loan.annual_rate),
            )
        )
        await self.session.execute(
            insert(instalments), [_instalment_row(loan.loan_id, version, i) for i in schedule]
        )

    async def save_loan_position(self, state: LoanState) -> None:
        """Write back the loan's status, credit, version and its current instalments' position."""
        loan = state.loan
        await self.session.execute(
            update(loans)
            .where(loans.c.loan_id == loan.loan_id)
            .values(
                status=loan.status,
                credit_balance=loan.credit_balance,
                schedule_version=loan.schedule_version,
                annual_rate=str(loan.annual_rate),
                settled_on=loan.settled_on,
            )
        )
        for i in state.instalments:
            await self.session.execute(
                update(instalments)
                .where(
                    instalments.c.loan_id == loan.loan_id,
                    instalments.c.version == loan.schedule_version,
                    instalments.c.seq == i.seq,
                )
                .values(
                    outstanding_principal=i.outstanding[Component.PRINCIPAL],
                    outstanding_interest=i.outstanding[Component.INTEREST],
                    outstanding_penalty=i.outstanding[Component.PENALTY],
                    outstanding_fee=i.outstanding[Component.FEE],
                    settled_on=i.settled_on,
                )
            )

    async def payment_by_reference(self, loan_id: str, reference: str) -> str | None:
        return await self.session.scalar(
            select(payments.c.payment_id).where(
                payments.c.loan_id == loan_id, payments.c.external_reference == reference
            )
        )

    async def add_payment(
        self, loan_id: str, reference: str, amount: int, value_date: date, received_at: datetime
    ) -> PaymentRecord:
        payment_id = str(uuid.uuid4())
        order = await self.session.scalar(
            insert(payments)
            .values(
                payment_id=payment_id,
                loan_id=loan_id,
                external_reference=reference,
                amount=amount,
                value_date=value_date,
                received_at=received_at,
            )
            .returning(payments.c.receipt_order)
        )
        assert order is not None
        return PaymentRecord(
            payment_id, reference, amount, value_date, received_at, order, reversed=False
        )

    async def mark_reversed(self, payment_id: str, reason: str) -> None:
        await self.session.execute(
            update(payments)
            .where(payments.c.payment_id == payment_id)
            .values(reversed=True, reversal_reason=reason)
        )

    async def add_charge(
        self,
        loan_id: str,
        *,
        seq: int,
        component: Component,
        amount: int,
        kind: str,
        business_date: date,
        source_event_id: str,
    ) -> ChargeRecord | None:
        """Book a charge once per source event id; None when it was booked before."""
        charge_id = str(uuid.uuid4())
        inserted = await self.session.scalar(
            pg_insert(charges)
            .values(
                charge_id=charge_id,
                loan_id=loan_id,
                seq=seq,
                component=component.value,
                amount=amount,
                kind=kind,
                business_date=business_date,
                source_event_id=source_event_id,
            )
            .on_conflict_do_nothing(index_elements=[charges.c.source_event_id])
            .returning(charges.c.charge_id)
        )
        if inserted is None:
            return None
        return ChargeRecord(charge_id, seq, component, amount, kind, business_date)

    async def save_allocation(
        self, loan_id: str, key: AllocationKey, result: AllocationResult | None
    ) -> None:
        """Supersede the current allocation of ``key`` (None: it no longer exists)."""
        kind, source_id = key
        latest = await self.session.scalar(
            update(allocations)
            .where(
                allocations.c.loan_id == loan_id,
                allocations.c.source_kind == kind,
                allocations.c.source_id == source_id,
                allocations.c.current,
            )
            .values(current=False)
            .returning(allocations.c.version)
        )
        if result is None:
            return
        allocation_id = await self.session.scalar(
            insert(allocations)
            .values(
                loan_id=loan_id,
                source_kind=kind,
                source_id=source_id,
                version=(latest or 0) + 1,
                credit=result.credit,
                current=True,
            )
            .returning(allocations.c.allocation_id)
        )
        if result.lines:
            await self.session.execute(
                insert(allocation_lines),
                [
                    {
                        "allocation_id": allocation_id,
                        "line_no": n,
                        "seq": line.seq,
                        "component": line.component.value,
                        "amount": line.amount,
                    }
                    for n, line in enumerate(result.lines, start=1)
                ],
            )

    async def add_journal_entries(
        self,
        loan_id: str,
        entries: Iterable[JournalEntry],
        *,
        business_date: date,
        reference: str | None = None,
    ) -> None:
        entry_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        for entry in entries:
            entry_id = str(uuid.uuid4())
            entry_rows.append(
                {
                    "entry_id": entry_id,
                    "loan_id": loan_id,
                    "currency": entry.currency,
                    "memo": entry.memo,
                    "business_date": business_date,
                    "reference": reference,
                }
            )
            line_rows.extend(
                {
                    "entry_id": entry_id,
                    "line_no": n,
                    "loan_id": loan_id,
                    "account": line.account.value,
                    "debit": line.debit,
                    "credit": line.credit,
                }
                for n, line in enumerate(entry.lines, start=1)
            )
        if entry_rows:
            await self.session.execute(insert(journal_entries), entry_rows)
            await self.session.execute(insert(journal_lines), line_rows)

    async def next_version(self, loan_id: str) -> int:
        latest = await self.session.scalar(
            select(func.max(schedule_versions.c.version)).where(
                schedule_versions.c.loan_id == loan_id
            )
        )
        return int(latest or 0) + 1
