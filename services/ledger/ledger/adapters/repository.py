"""Loading and saving loans (with instalments, payments, charges, allocations) and products."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ARRAY, Row, Text, bindparam, func, insert, select, text, update
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
    PlanBookingRecord,
)
from ledger.adapters.tables import (
    charges,
    instalments,
    journal_entries,
    journal_lines,
    loans,
    payments,
    products,
    schedule_versions,
)
from ledger.domain import (
    Account,
    AllocationLine,
    AllocationResult,
    JournalEntry,
    JournalLine,
    LedgerComponent,
    LoanProduct,
)


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


def _instalment_row(loan_id: str, version: int, i: InstalmentRecord) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "version": version,
        "seq": i.seq,
        "due_date": i.due_date,
        "principal": i.principal,
        "interest": i.interest,
        "outstanding_principal": i.outstanding[LedgerComponent.PRINCIPAL],
        "outstanding_interest": i.outstanding[LedgerComponent.INTEREST],
        "outstanding_penalty": i.outstanding[LedgerComponent.PENALTY],
        "outstanding_fee": i.outstanding[LedgerComponent.FEE],
        "interest_recognised": i.interest_recognised,
        "settled_on": i.settled_on,
    }


def _position(i: InstalmentRecord) -> tuple[object, ...]:
    o = i.outstanding
    return (
        o[LedgerComponent.PRINCIPAL],
        o[LedgerComponent.INTEREST],
        o[LedgerComponent.PENALTY],
        o[LedgerComponent.FEE],
        i.settled_on,
    )


def _loan_position(loan: LoanRecord) -> tuple[object, ...]:
    return (
        loan.status,
        loan.credit_balance,
        loan.schedule_version,
        str(loan.annual_rate),
        loan.settled_on,
    )


#: The loan row, locked, with its product (products never change: new terms, new code).
_LOCK_LOAN = (
    select(loans, *(c.label(f"p__{c.name}") for c in products.c))
    .join(products, products.c.code == loans.c.product_code)
    .where(loans.c.loan_id == bindparam("loan_id"))
    .with_for_update(of=loans)
)

#: Current instalments (JSON arrays, one per instalment), the latest dates a new payment is
#: compared with, and whether an external reference is taken. Runs after the lock.
_POSITION_COLUMNS = """
    (SELECT json_agg(json_build_array(seq, due_date, principal, interest, outstanding_principal,
                                      outstanding_interest, outstanding_penalty, outstanding_fee,
                                      interest_recognised, settled_on) ORDER BY seq)
       FROM instalments WHERE loan_id = :loan_id AND version = :version)::text AS instalments,
    (SELECT max(value_date) FROM payments
      WHERE loan_id = :loan_id AND NOT reversed) AS latest_payment,
    (SELECT max(business_date) FROM charges WHERE loan_id = :loan_id) AS latest_charge,
    EXISTS (SELECT FROM payments WHERE loan_id = :loan_id
             AND external_reference = CAST(:reference AS text)) AS reference_taken"""

#: Payments, charges (in booking order) and the current allocations with their lines.
_HISTORY_COLUMNS = """
    (SELECT json_agg(json_build_array(payment_id, external_reference, amount, value_date,
                                      received_at, receipt_order, reversed)
                     ORDER BY receipt_order)
       FROM payments WHERE loan_id = :loan_id)::text AS payments,
    (SELECT json_agg(json_build_array(charge_id, seq, component, amount, kind, business_date)
                     ORDER BY business_date, created_at, charge_id)
       FROM charges WHERE loan_id = :loan_id)::text AS charges,
    (SELECT json_agg(json_build_array(
                a.source_kind, a.source_id, a.credit,
                (SELECT coalesce(json_agg(json_build_array(l.seq, l.component, l.amount)
                                          ORDER BY l.line_no), '[]')
                   FROM allocation_lines l WHERE l.allocation_id = a.allocation_id))
            ORDER BY a.allocation_id)
       FROM allocations a WHERE a.loan_id = :loan_id AND a.current)::text AS allocations"""

_LOAD_POSITION = text(f"SELECT {_POSITION_COLUMNS}")

#: Several loans locked at once, in loan id order (two batches locking overlapping loans
#: wait for each other instead of deadlocking).
_LOCK_LOANS = (
    select(loans, *(c.label(f"p__{c.name}") for c in products.c))
    .join(products, products.c.code == loans.c.product_code)
    .where(loans.c.loan_id == func.any(bindparam("loan_ids", type_=ARRAY(Text))))
    .order_by(loans.c.loan_id)
    .with_for_update(of=loans)
)

#: The position columns of :data:`_POSITION_COLUMNS` for several loans (runs after the lock).
_LOAD_POSITIONS = text(
    """
SELECT l.loan_id,
    (SELECT json_agg(json_build_array(seq, due_date, principal, interest, outstanding_principal,
                                      outstanding_interest, outstanding_penalty, outstanding_fee,
                                      interest_recognised, settled_on) ORDER BY seq)
       FROM instalments i WHERE i.loan_id = l.loan_id AND i.version = l.version)::text
       AS instalments,
    (SELECT max(value_date) FROM payments p
      WHERE p.loan_id = l.loan_id AND NOT p.reversed) AS latest_payment,
    (SELECT max(business_date) FROM charges c WHERE c.loan_id = l.loan_id) AS latest_charge
FROM unnest(CAST(:loan_ids AS text[]), CAST(:versions AS integer[])) AS l(loan_id, version)
"""
)

#: Which (loan, external reference) pairs are taken (the unique index answers each).
_REFERENCES_TAKEN = text(
    """
SELECT p.loan_id, p.external_reference
  FROM unnest(CAST(:loan_ids AS text[]), CAST(:refs AS text[])) AS r(loan_id, ref)
  JOIN payments p ON p.loan_id = r.loan_id AND p.external_reference = r.ref
"""
)
_LOAD_HISTORY = text(f"SELECT {_HISTORY_COLUMNS}")
_LOAD_WITH_HISTORY = text(f"SELECT {_POSITION_COLUMNS}, {_HISTORY_COLUMNS}")

_JOURNAL_CTES = """
entries AS (
    INSERT INTO journal_entries (entry_id, loan_id, currency, memo, business_date, reference)
    SELECT CAST(e.id AS uuid), CAST(:loan_id AS text), e.currency, e.memo,
           CAST(:business_date AS date),
           CAST(:ref AS text)
      FROM unnest(CAST(:e_ids AS text[]), CAST(:e_currencies AS text[]),
                  CAST(:e_memos AS text[])) WITH ORDINALITY AS e(id, currency, memo, n)
     ORDER BY e.n
), journal AS (
    INSERT INTO journal_lines (entry_id, line_no, loan_id, account, debit, credit)
    SELECT CAST(j.entry_id AS uuid), j.line_no, CAST(:loan_id AS text), j.account, j.debit, j.credit
      FROM unnest(CAST(:j_entries AS text[]), CAST(:j_nos AS integer[]),
                  CAST(:j_accounts AS text[]), CAST(:j_debits AS bigint[]),
                  CAST(:j_credits AS bigint[])) AS j(entry_id, line_no, account, debit, credit)
)"""

_ADD_JOURNAL = text(f"WITH {_JOURNAL_CTES} SELECT 1")

#: Payments added since the last write (``LoanRepository.add_payment``), in the order added
#: (their ``receipt_order`` follows it).
_PAYMENTS_CTE = """
payments_added AS (
    INSERT INTO payments (payment_id, loan_id, external_reference, amount, value_date,
                          received_at)
    SELECT CAST(p.id AS uuid), p.loan_id, p.ref, p.amount, p.value_date, p.received_at
      FROM unnest(CAST(:p_ids AS text[]), CAST(:p_loans AS text[]), CAST(:p_refs AS text[]),
                  CAST(:p_amounts AS bigint[]), CAST(:p_dates AS date[]),
                  CAST(:p_received AS timestamptz[]))
           WITH ORDINALITY AS p(id, loan_id, ref, amount, value_date, received_at, n)
     ORDER BY p.n
)"""

#: Above every stored ``receipt_order`` (a bigint identity): a payment added in this
#: transaction and not yet written orders after every stored one.
PROVISIONAL_RECEIPT_ORDER = 2**62

#: A whole settlement in one statement, with the payments added before it. The superseded
#: allocation versions feed the new versions' numbers; foreign keys are checked at the end
#: of the statement.
_SAVE_SETTLEMENT = text(
    f"""
WITH {_PAYMENTS_CTE}, superseded AS (
    UPDATE allocations a SET current = false
      FROM unnest(CAST(:sup_kinds AS text[]), CAST(:sup_ids AS text[])) AS s(kind, id)
     WHERE a.loan_id = :loan_id AND a.current AND a.source_kind = s.kind AND a.source_id = s.id
    RETURNING a.source_kind, a.source_id, a.version
), added AS (
    INSERT INTO allocations (loan_id, source_kind, source_id, version, credit, current)
    SELECT CAST(:loan_id AS text), n.kind, n.id, coalesce(s.version, 0) + 1, n.credit, true
      FROM unnest(CAST(:new_kinds AS text[]), CAST(:new_ids AS text[]),
                  CAST(:new_credits AS bigint[])) WITH ORDINALITY AS n(kind, id, credit, o)
      LEFT JOIN superseded s ON s.source_kind = n.kind AND s.source_id = n.id
     ORDER BY n.o
    RETURNING allocation_id, source_kind, source_id
), allocation_lines_added AS (
    INSERT INTO allocation_lines (allocation_id, line_no, seq, component, amount)
    SELECT added.allocation_id, l.line_no, l.seq, l.component, l.amount
      FROM unnest(CAST(:l_kinds AS text[]), CAST(:l_ids AS text[]), CAST(:l_nos AS integer[]),
                  CAST(:l_seqs AS integer[]), CAST(:l_components AS text[]),
                  CAST(:l_amounts AS bigint[])) AS l(kind, id, line_no, seq, component, amount)
      JOIN added ON added.source_kind = l.kind AND added.source_id = l.id
), {_JOURNAL_CTES}, positions AS (
    UPDATE instalments i
       SET outstanding_principal = u.principal, outstanding_interest = u.interest,
           outstanding_penalty = u.penalty, outstanding_fee = u.fee, settled_on = u.settled_on
      FROM unnest(CAST(:i_seqs AS integer[]), CAST(:i_principal AS bigint[]),
                  CAST(:i_interest AS bigint[]), CAST(:i_penalty AS bigint[]),
                  CAST(:i_fee AS bigint[]), CAST(:i_settled AS date[]))
           AS u(seq, principal, interest, penalty, fee, settled_on)
     WHERE i.loan_id = :loan_id AND i.version = :version AND i.seq = u.seq
)
UPDATE loans
   SET status = :status, credit_balance = :credit_balance, schedule_version = :version,
       annual_rate = :annual_rate, settled_on = CAST(:settled_on AS date)
 WHERE loan_id = :loan_id AND CAST(:loan_changed AS boolean)
"""
)


def _journal_params(entries: Iterable[JournalEntry]) -> dict[str, list[Any]]:
    params: dict[str, list[Any]] = {
        k: []
        for k in (
            "e_ids",
            "e_currencies",
            "e_memos",
            "j_entries",
            "j_nos",
            "j_accounts",
            "j_debits",
            "j_credits",
        )
    }
    for entry in entries:
        entry_id = str(uuid.uuid4())
        params["e_ids"].append(entry_id)
        params["e_currencies"].append(entry.currency)
        params["e_memos"].append(entry.memo)
        for n, line in enumerate(entry.lines, start=1):
            params["j_entries"].append(entry_id)
            params["j_nos"].append(n)
            params["j_accounts"].append(line.account.value)
            params["j_debits"].append(line.debit)
            params["j_credits"].append(line.credit)
    return params


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def _instalment_json(v: list[Any]) -> InstalmentRecord:
    return InstalmentRecord(
        seq=v[0],
        due_date=date.fromisoformat(v[1]),
        principal=v[2],
        interest=v[3],
        outstanding={
            LedgerComponent.PRINCIPAL: v[4],
            LedgerComponent.INTEREST: v[5],
            LedgerComponent.PENALTY: v[6],
            LedgerComponent.FEE: v[7],
        },
        interest_recognised=v[8],
        settled_on=_day(v[9]),
    )


def _state(locked: Row[Any], loan: LoanRecord, money: Row[Any]) -> LoanState:
    """A loan's state (without history) from its locked row (with the product's columns)
    and its position columns."""
    m = locked._mapping
    return LoanState(
        loan=loan,
        product=product_from_row({c.name: m[f"p__{c.name}"] for c in products.c}),
        instalments=[_instalment_json(i) for i in orjson.loads(money.instalments or "[]")],
        history_loaded=False,
        latest_payment_date=money.latest_payment,
        latest_charge_date=money.latest_charge,
    )


def _fill_history(state: LoanState, row: Row[Any]) -> None:
    """Payments, charges and current allocations from the JSON columns of a load."""
    state.payments = [
        PaymentRecord(
            payment_id=p[0],
            external_reference=p[1],
            amount=p[2],
            value_date=date.fromisoformat(p[3]),
            received_at=datetime.fromisoformat(p[4]),
            receipt_order=p[5],
            reversed=p[6],
        )
        for p in orjson.loads(row.payments or "[]")
    ]
    state.charges = [
        ChargeRecord(
            charge_id=c[0],
            seq=c[1],
            component=LedgerComponent(c[2]),
            amount=c[3],
            kind=c[4],
            business_date=date.fromisoformat(c[5]),
        )
        for c in orjson.loads(row.charges or "[]")
    ]
    state.allocations = {
        (a[0], a[1]): AllocationResult(
            tuple(
                AllocationLine(seq, LedgerComponent(component), amount)
                for seq, component, amount in a[3]
            ),
            a[2],
        )
        for a in orjson.loads(row.allocations or "[]")
    }
    state.history_loaded = True


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
    """One transaction's access to loans. It remembers the positions it loaded or wrote
    (loan row, instalment outstanding amounts), so a save writes only what changed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._stored_loans: dict[str, tuple[object, ...]] = {}
        self._stored_positions: dict[tuple[str, int, int], tuple[object, ...]] = {}
        #: Payments added and not yet written (see :meth:`add_payment`).
        self._pending_payments: list[tuple[str, str, str, int, date, datetime]] = []
        self._flushed_payments = 0

    async def get(self, loan_id: str) -> LoanRecord | None:
        row = (await self.session.execute(select(loans).where(loans.c.loan_id == loan_id))).first()
        return loan_record(row) if row else None

    async def load(
        self, loan_id: str, *, history: bool = True, reference: str | None = None
    ) -> LoanState | None:
        """The loan and its money, with the loan row locked until the transaction ends.

        Two round trips: the lock (with the product), then everything else in one query
        (it must come after the lock, to see what the previous lock holder committed).
        ``history=False`` leaves out payments, charges and allocations (see
        :meth:`load_history`). ``reference``: also answer whether a payment with this
        external reference exists (:attr:`LoanState.reference_taken`).
        """
        row = (await self.session.execute(_LOCK_LOAN, {"loan_id": loan_id})).first()
        if row is None:
            return None
        loan = loan_record(row)
        money = (
            await self.session.execute(
                _LOAD_WITH_HISTORY if history else _LOAD_POSITION,
                {"loan_id": loan_id, "version": loan.schedule_version, "reference": reference},
            )
        ).one()
        state = _state(row, loan, money)
        state.reference_taken = money.reference_taken
        if history:
            _fill_history(state, money)
        self._remember(state)
        return state

    async def load_many(self, loan_ids: Sequence[str]) -> dict[str, LoanState]:
        """Several loans as :meth:`load` with ``history=False`` (without
        ``reference_taken``), each row locked until the transaction ends, in two round trips
        whatever their number. Loans that do not exist are missing from the answer."""
        ids = sorted(set(loan_ids))
        if not ids:
            return {}
        locked = (await self.session.execute(_LOCK_LOANS, {"loan_ids": ids})).all()
        records = [(row, loan_record(row)) for row in locked]
        money = {
            m.loan_id: m
            for m in await self.session.execute(
                _LOAD_POSITIONS,
                {
                    "loan_ids": [loan.loan_id for _, loan in records],
                    "versions": [loan.schedule_version for _, loan in records],
                },
            )
        }
        states = {}
        for row, loan in records:
            state = states[loan.loan_id] = _state(row, loan, money[loan.loan_id])
            self._remember(state)
        return states

    async def references_taken(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (loan id, external reference) pairs of ``pairs`` a payment already has."""
        wanted = list(pairs)
        if not wanted:
            return set()
        rows = await self.session.execute(
            _REFERENCES_TAKEN,
            {"loan_ids": [p[0] for p in wanted], "refs": [p[1] for p in wanted]},
        )
        return {(r.loan_id, r.external_reference) for r in rows}

    async def load_history(self, state: LoanState) -> None:
        """Payments, charges and current allocations of a loan loaded without them."""
        if not state.history_loaded:
            await self._write_pending_payments()
            row = (await self.session.execute(_LOAD_HISTORY, {"loan_id": state.loan.loan_id})).one()
            _fill_history(state, row)

    def _remember(self, state: LoanState) -> None:
        """What the database holds for this loan's position, so saves write only changes."""
        loan = state.loan
        self._stored_loans[loan.loan_id] = _loan_position(loan)
        for i in state.instalments:
            self._stored_positions[(loan.loan_id, loan.schedule_version, i.seq)] = _position(i)

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
        reference: str | None = None,
    ) -> None:
        await self.session.execute(
            insert(schedule_versions).values(
                loan_id=loan.loan_id,
                version=version,
                reason=reason,
                plan_id=plan_id,
                effective_date=effective,
                annual_rate=str(loan.annual_rate),
                reference=reference,
            )
        )
        await self.session.execute(
            insert(instalments), [_instalment_row(loan.loan_id, version, i) for i in schedule]
        )
        for i in schedule:
            self._stored_positions[(loan.loan_id, version, i.seq)] = _position(i)

    async def add_payment(
        self, loan_id: str, reference: str, amount: int, value_date: date, received_at: datetime
    ) -> PaymentRecord:
        """A new payment. Its row is written by the next :meth:`save_settlement` (every
        payment is settled right after it is added), in the same statement: one round trip
        less a payment. Until then its ``receipt_order`` is provisional: above every stored
        one and increasing with each payment added, as the stored ones will be (a replay in
        this transaction orders it as it will be ordered)."""
        payment_id = str(uuid.uuid4())
        self._pending_payments.append(
            (payment_id, loan_id, reference, amount, value_date, received_at)
        )
        order = PROVISIONAL_RECEIPT_ORDER + len(self._pending_payments) + self._flushed_payments
        return PaymentRecord(
            payment_id, reference, amount, value_date, received_at, order, reversed=False
        )

    def _payment_params(self) -> dict[str, list[Any]]:
        pending, self._pending_payments = self._pending_payments, []
        self._flushed_payments += len(pending)
        return {
            "p_ids": [p[0] for p in pending],
            "p_loans": [p[1] for p in pending],
            "p_refs": [p[2] for p in pending],
            "p_amounts": [p[3] for p in pending],
            "p_dates": [p[4] for p in pending],
            "p_received": [p[5] for p in pending],
        }

    async def _write_pending_payments(self) -> None:
        """Write added payments now (before reading payments back)."""
        if self._pending_payments:
            await self.session.execute(
                text(f"WITH {_PAYMENTS_CTE} SELECT 1"), self._payment_params()
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
        component: LedgerComponent,
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

    async def add_journal_entries(
        self,
        loan_id: str,
        entries: Iterable[JournalEntry],
        *,
        business_date: date,
        reference: str | None = None,
    ) -> None:
        """Entries and their lines in one statement."""
        params = _journal_params(list(entries))
        if params["e_ids"]:
            await self.session.execute(
                _ADD_JOURNAL,
                {**params, "loan_id": loan_id, "business_date": business_date, "ref": reference},
            )

    async def save_settlement(
        self,
        state: LoanState,
        allocations: Mapping[AllocationKey, AllocationResult | None],
        entries: Sequence[JournalEntry],
        *,
        business_date: date,
    ) -> None:
        """Write a settlement in one statement: supersede the current allocation of each key
        in ``allocations`` (None: it no longer exists) with a new version and its lines, add
        the journal entries, and write back the instalment positions and the loan row where
        they differ from what the database holds."""
        loan = state.loan
        version = loan.schedule_version
        new = [(k, r) for k, r in allocations.items() if r is not None]
        lines = [
            (kind, source_id, n, line)
            for (kind, source_id), r in new
            for n, line in enumerate(r.lines, start=1)
        ]
        changed = [
            i
            for i in state.instalments
            if self._stored_positions.get((loan.loan_id, version, i.seq)) != _position(i)
        ]
        loan_changed = self._stored_loans.get(loan.loan_id) != _loan_position(loan)
        if not (allocations or entries or changed or loan_changed or self._pending_payments):
            return
        await self.session.execute(
            _SAVE_SETTLEMENT,
            {
                "loan_id": loan.loan_id,
                "business_date": business_date,
                "ref": None,
                "sup_kinds": [kind for kind, _ in allocations],
                "sup_ids": [source_id for _, source_id in allocations],
                "new_kinds": [kind for (kind, _), _ in new],
                "new_ids": [source_id for (_, source_id), _ in new],
                "new_credits": [r.credit for _, r in new],
                "l_kinds": [x[0] for x in lines],
                "l_ids": [x[1] for x in lines],
                "l_nos": [x[2] for x in lines],
                "l_seqs": [x[3].seq for x in lines],
                "l_components": [x[3].component.value for x in lines],
                "l_amounts": [x[3].amount for x in lines],
                **_journal_params(entries),
                **self._payment_params(),
                "version": version,
                "i_seqs": [i.seq for i in changed],
                "i_principal": [i.outstanding[LedgerComponent.PRINCIPAL] for i in changed],
                "i_interest": [i.outstanding[LedgerComponent.INTEREST] for i in changed],
                "i_penalty": [i.outstanding[LedgerComponent.PENALTY] for i in changed],
                "i_fee": [i.outstanding[LedgerComponent.FEE] for i in changed],
                "i_settled": [i.settled_on for i in changed],
                "loan_changed": loan_changed,
                "status": loan.status,
                "credit_balance": loan.credit_balance,
                "annual_rate": str(loan.annual_rate),
                "settled_on": loan.settled_on,
            },
        )
        self._remember(state)

    async def plan_booking(self, loan_id: str, plan_id: str) -> PlanBookingRecord | None:
        """The plan's first schedule version, the version before it, and the charges and
        journal entries its booking made (None when no version was booked for the plan)."""
        sv = schedule_versions.c
        booked = (
            await self.session.execute(
                select(
                    sv.version,
                    sv.effective_date,
                    sv.reference,
                    select(func.max(sv.version))
                    .where(sv.loan_id == loan_id, sv.plan_id == plan_id)
                    .scalar_subquery()
                    .label("last_version"),
                )
                .where(sv.loan_id == loan_id, sv.plan_id == plan_id)
                .order_by(sv.version)
                .limit(1)
            )
        ).first()
        if booked is None:
            return None
        before = (
            await self.session.execute(
                select(sv.version, sv.annual_rate)
                .where(sv.loan_id == loan_id, sv.version < booked.version)
                .order_by(sv.version.desc())
                .limit(1)
            )
        ).one()
        ic = instalments.c
        rows = (
            await self.session.execute(
                select(ic.seq, ic.due_date, ic.principal, ic.interest, ic.interest_recognised)
                .where(ic.loan_id == loan_id, ic.version == before.version)
                .order_by(ic.seq)
            )
        ).all()
        original = []
        for r in rows:
            record = InstalmentRecord.new(r.seq, r.due_date, r.principal, r.interest)
            record.interest_recognised = r.interest_recognised
            original.append(record)
        plan_charges: list[ChargeRecord] = []
        entries: list[JournalEntry] = []
        if booked.reference is not None:
            plan_charges = await self.charges_booked_as(loan_id, f"{booked.reference}:")
            je, jl = journal_entries.c, journal_lines.c
            lines = (
                await self.session.execute(
                    select(je.entry_id, je.currency, je.memo, jl.account, jl.debit, jl.credit)
                    .join(journal_lines, jl.entry_id == je.entry_id)
                    .where(je.loan_id == loan_id, je.reference == booked.reference)
                    .order_by(je.entry_no, jl.line_no)
                )
            ).all()
            grouped: dict[str, list[Any]] = {}
            for line in lines:
                grouped.setdefault(str(line.entry_id), []).append(line)
            entries = [
                JournalEntry(
                    ls[0].currency,
                    tuple(JournalLine(Account(x.account), x.debit, x.credit) for x in ls),
                    ls[0].memo,
                )
                for ls in grouped.values()
            ]
        return PlanBookingRecord(
            plan_id=plan_id,
            version=booked.version,
            effective_date=booked.effective_date,
            reference=booked.reference,
            original_version=before.version,
            original=original,
            original_rate=Decimal(before.annual_rate),
            charges=plan_charges,
            entries=entries,
            last_version=booked.last_version,
        )

    async def charges_booked_as(self, loan_id: str, prefix: str) -> list[ChargeRecord]:
        """The loan's charges whose source id starts with ``prefix``, oldest first."""
        cc = charges.c
        rows = await self.session.execute(
            select(cc.charge_id, cc.seq, cc.component, cc.amount, cc.kind, cc.business_date)
            .where(cc.loan_id == loan_id, cc.source_event_id.startswith(prefix, autoescape=True))
            .order_by(cc.business_date, cc.created_at, cc.charge_id)
        )
        return [
            ChargeRecord(
                str(c.charge_id),
                c.seq,
                LedgerComponent(c.component),
                c.amount,
                c.kind,
                c.business_date,
            )
            for c in rows
        ]

    async def next_version(self, loan_id: str) -> int:
        latest = await self.session.scalar(
            select(func.max(schedule_versions.c.version)).where(
                schedule_versions.c.loan_id == loan_id
            )
        )
        return int(latest or 0) + 1
