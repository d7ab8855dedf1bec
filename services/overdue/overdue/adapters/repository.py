"""The overdue service's repositories, one class per aggregate, built on the unit of work's
session (``uow.loans``, ``uow.products``, ``uow.waivers``, ``uow.history``, ``uow.days``).

Balances are replaced, never computed: every ledger event that changes what is owed
carries each open instalment's outstanding amounts after the change. After every
replacement ``oldest_unpaid_due_date`` is derived again from the instalments (the oldest
instalment with unpaid principal or contract interest; unpaid penalty or fees alone do
not keep a loan delinquent, see ``domain.cure``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.contracts.money import InstalmentBalance, InstalmentTerms
from lendkit.db import among
from lendkit.logging import get_logger
from overdue.adapters.records import (
    NOT_PUBLISHED,
    LoanDay,
    NewLoan,
    PolicyLookup,
    TrackedLoan,
    WaiverRow,
)
from overdue.adapters.tables import (
    bucket_history,
    cob_runs,
    day_markers,
    instalments,
    loan_days,
    loans,
    penalty_days,
    penalty_waivers,
    products,
    refused_products,
    stage_history,
)
from overdue.domain.arrears import Arrears, OverdueBreakdown
from overdue.domain.credit_report import CreditReportGate
from overdue.domain.penalty import CapApplied, PenaltyDay
from overdue.domain.policy import InvalidPolicy, OverduePolicy
from overdue.domain.waiver import AssessedDay, InstalmentPenalty, by_instalment

log = get_logger(__name__)


# Reads the loans table in one pass (a hash aggregate over product_code): run when a day's
# markers complete and when a product arrives, not per event.
_AWAITED_PRODUCTS = """
SELECT l.product_code
FROM (SELECT DISTINCT product_code FROM loans) AS l
WHERE NOT EXISTS (SELECT 1 FROM products AS p WHERE p.code = l.product_code)
  AND NOT EXISTS (SELECT 1 FROM refused_products AS r WHERE r.code = l.product_code)
ORDER BY l.product_code
LIMIT 100
"""


class ProductRepository:
    """Products and their overdue policies (as published by the ledger)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # policies parsed in this transaction (a batch of events reads one product's policy
        # once per event: parsing it each time was a sixth of the consumer's CPU)
        self._parsed: dict[str, OverduePolicy] = {}

    async def save(self, code: str, currency: str, policy: Mapping[str, Any]) -> None:
        self._parsed.pop(code, None)
        stmt = pg_insert(products).values(code=code, currency=currency, overdue_policy=dict(policy))
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[products.c.code],
                set_={
                    "currency": stmt.excluded.currency,
                    "overdue_policy": stmt.excluded.overdue_policy,
                    "updated_at": func.now(),
                },
            )
        )
        await self.session.execute(delete(refused_products).where(refused_products.c.code == code))

    async def record_refusal(self, code: str, reason: str) -> None:
        """The product's published policy was refused (its event is dead-lettered)."""
        stmt = pg_insert(refused_products).values(code=code, reason=reason)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[refused_products.c.code],
                set_={"reason": stmt.excluded.reason, "refused_at": func.now()},
            )
        )

    async def awaited(self) -> list[str]:
        """Products that tracked loans name but this service has neither stored nor refused:
        their ``ledger.product.published`` is still on its way (the ledger publishes a
        product before any loan on it, on another topic)."""
        query = text(_AWAITED_PRODUCTS)
        return list((await self.session.scalars(query)).all())

    async def policies_for(self, codes: Iterable[str]) -> PolicyLookup:
        """The policies of ``codes`` (products and loans travel on different topics, so a loan
        may arrive before its product; an invalid product is dead-lettered, never stored, but a
        row stored before today's schema is parsed again and may be refused)."""
        wanted = set(codes)
        rows = await self.session.execute(
            select(products.c.code, products.c.overdue_policy).where(products.c.code.in_(wanted))
        )
        found: dict[str, OverduePolicy] = {}
        missing = dict.fromkeys(wanted, NOT_PUBLISHED)
        for row in rows:
            try:
                found[row.code] = OverduePolicy.from_mapping(row.overdue_policy)
            except InvalidPolicy as exc:
                missing[row.code] = f"invalid overdue policy: {exc}"
                log.warning("stored product policy refused", product_code=row.code, reason=str(exc))
            else:
                del missing[row.code]
        unseen = [code for code, why in missing.items() if why is NOT_PUBLISHED]
        if unseen:
            refused = await self.session.execute(
                select(refused_products.c.code, refused_products.c.reason).where(
                    refused_products.c.code.in_(unseen)
                )
            )
            for row in refused:
                missing[row.code] = f"refused overdue policy: {row.reason}"
        return PolicyLookup(found, missing)

    async def policy_for(self, code: str) -> OverduePolicy | None:
        """The product's policy, or ``None`` while it has no valid one (never a default)."""
        if code in self._parsed:
            return self._parsed[code]
        found = (await self.policies_for([code])).found.get(code)
        if found is not None:
            self._parsed[code] = found
        return found


# The consumer's per-event statements, built once: constructing a Core statement per call
# (columns, operators, ``excluded``) cost more CPU than PostgreSQL took to run it
# (bench/overdue_consumer.py). Their compiled forms are cached by SQLAlchemy either way.
_LOAN = select(loans).where(loans.c.loan_id == bindparam("loan_id"))
_LOAN_FOR_UPDATE = _LOAN.with_for_update()
_ARREARS_ON = select(
    func.min(instalments.c.due_date).filter(
        instalments.c.principal_minor + instalments.c.interest_minor > 0
    ),
    func.coalesce(func.sum(instalments.c.principal_minor), 0),
    func.coalesce(func.sum(instalments.c.interest_minor), 0),
    func.coalesce(func.sum(instalments.c.penalty_minor), 0),
    func.coalesce(func.sum(instalments.c.fee_minor), 0),
).where(
    instalments.c.loan_id == bindparam("loan_id"),
    instalments.c.due_date < bindparam("as_of", type_=Date),
)
_ARREARS_OF_MANY = """
    SELECT w.loan_id,
           min(i.due_date) FILTER (WHERE i.principal_minor + i.interest_minor > 0),
           coalesce(sum(i.principal_minor), 0), coalesce(sum(i.interest_minor), 0),
           coalesce(sum(i.penalty_minor), 0), coalesce(sum(i.fee_minor), 0)
    FROM unnest(CAST(:loan_ids AS text[]), CAST(:as_of AS date[])) AS w (loan_id, as_of)
    LEFT JOIN instalments i ON i.loan_id = w.loan_id AND i.due_date < w.as_of
    GROUP BY w.loan_id
"""
_UPSERT = """
    INSERT INTO instalments (loan_id, seq, due_date, principal_minor, interest_minor,
                             penalty_minor, fee_minor)
    SELECT :loan_id, b.seq, b.due_date, b.principal, b.interest, b.penalty, b.fee
    FROM unnest(CAST(:seqs AS int[]), CAST(:due_dates AS date[]), CAST(:principal AS bigint[]),
                CAST(:interest AS bigint[]), CAST(:penalty AS bigint[]), CAST(:fee AS bigint[]))
         AS b (seq, due_date, principal, interest, penalty, fee)
    ON CONFLICT (loan_id, seq) DO UPDATE SET
        due_date = EXCLUDED.due_date,
        principal_minor = EXCLUDED.principal_minor,
        interest_minor = EXCLUDED.interest_minor,
        penalty_minor = EXCLUDED.penalty_minor,
        fee_minor = EXCLUDED.fee_minor
"""
_UPSERT_BALANCES = text(_UPSERT)
# Balances naming every open instalment: the others are settled (zeroed), the named ones
# upserted, the loan's oldest unpaid due date and version set, in one statement (its parts
# touch disjoint rows, so the snapshot they share does not matter).
_REPLACE_ALL_BALANCES = text(
    f"""
    WITH settled AS (
        UPDATE instalments SET principal_minor = 0, interest_minor = 0, penalty_minor = 0,
                               fee_minor = 0
        WHERE loan_id = :loan_id AND NOT (seq = ANY(CAST(:seqs AS int[])))
    ), upserted AS ({_UPSERT})
    UPDATE loans SET oldest_unpaid_due_date = CAST(:oldest AS date),
                     ledger_version = coalesce(CAST(:loan_version AS bigint), ledger_version)
    WHERE loan_id = :loan_id
    """
)
_REFRESH_OLDEST_UNPAID = text(
    """
    UPDATE loans SET oldest_unpaid_due_date = (
        SELECT min(due_date) FROM instalments
        WHERE loan_id = :loan_id AND principal_minor + interest_minor > 0
    ),
    ledger_version = coalesce(CAST(:loan_version AS bigint), ledger_version)
    WHERE loan_id = :loan_id
    """
)


def _arrears(oldest: date | None, principal: int, interest: int, penalty: int, fee: int) -> Arrears:
    return Arrears(
        oldest_unpaid_due_date=oldest,
        overdue=OverdueBreakdown(int(principal), int(interest), int(penalty), int(fee)),
    )


class LoanRepository:
    """The loan read model kept from the ledger's events: loans and their instalments."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, loan: NewLoan) -> bool:
        """Insert the loan; False when it is already known (a replayed disbursement)."""
        inserted = await self.session.scalar(
            pg_insert(loans)
            .values(**asdict(loan))
            .on_conflict_do_nothing()
            .returning(loans.c.loan_id)
        )
        return inserted is not None

    async def get(self, loan_id: str, *, lock: bool = False) -> TrackedLoan | None:
        query = _LOAN_FOR_UPDATE if lock else _LOAN
        row = (await self.session.execute(query, {"loan_id": loan_id})).one_or_none()
        return None if row is None else TrackedLoan.from_row(row._mapping)

    async def lock_many(self, loan_ids: Iterable[str]) -> dict[str, TrackedLoan]:
        """The loans of ``loan_ids`` this service knows, locked (in ``loan_id`` order) and read
        as they are after the lock, in one statement."""
        rows = await self.session.execute(
            select(loans)
            .where(among(loans.c.loan_id, loan_ids))
            .order_by(loans.c.loan_id)
            .with_for_update()
        )
        found = (TrackedLoan.from_row(r._mapping) for r in rows)
        return {loan.loan_id: loan for loan in found}

    async def _update(self, loan_id: str, **values: Any) -> None:
        await self.session.execute(update(loans).where(loans.c.loan_id == loan_id).values(**values))

    async def set_fees_charged(self, loan_id: str, fees_charged_minor: int) -> None:
        await self._update(loan_id, fees_charged_minor=fees_charged_minor)

    async def set_waived_to_date(self, loan_id: str, waived_to_date_minor: int) -> None:
        await self._update(loan_id, waived_to_date_minor=waived_to_date_minor)

    async def set_paused(self, loan_id: str, *, paused: bool, reason: str | None) -> None:
        await self._update(loan_id, paused=paused, pause_reason=reason)

    async def record_plan_outcome(self, loan_id: str, plan_id: str) -> None:
        await self._update(loan_id, plan_outcome_seen=plan_id)

    async def record_notice_delivered(self, loan_id: str, gate: CreditReportGate) -> None:
        """The gate's status and the notice's delivery date (the rest of the gate is kept)."""
        await self._update(
            loan_id, gate_status=gate.status.value, notice_delivered_on=gate.notice_delivered_on
        )

    async def mark_cured(
        self, loan_id: str, *, bucket: str, stage: str, gate: CreditReportGate
    ) -> None:
        """Back to ``bucket`` and ``stage`` (current), out of arrears, the gate reset."""
        await self._update(
            loan_id,
            bucket=bucket,
            stage=stage,
            in_arrears=False,
            charge_off_candidate=False,
            gate_status=gate.status.value,
            notice_due_on=gate.notice_due_on,
            notice_delivered_on=gate.notice_delivered_on,
            reportable_on=gate.reportable_on,
        )

    async def set_schedule(
        self,
        loan_id: str,
        terms: Sequence[InstalmentTerms],
        *,
        effective_date: date | None = None,
    ) -> None:
        """Record scheduled instalments (disbursement or rewrite). On a rewrite, instalments
        due on or after the effective date that the new schedule does not name are dropped."""
        if effective_date is not None:
            await self.session.execute(
                instalments.delete().where(
                    instalments.c.loan_id == loan_id,
                    instalments.c.due_date >= effective_date,
                    instalments.c.seq.not_in([t.seq for t in terms]),
                )
            )
        await self._upsert_instalments(
            [
                {
                    "loan_id": loan_id,
                    "seq": t.seq,
                    "due_date": t.due_date,
                    "scheduled_interest_minor": t.interest_minor,
                    "principal_minor": t.principal_minor,
                    "interest_minor": t.interest_minor,
                }
                for t in terms
            ],
        )

    async def _upsert_instalments(self, rows: list[dict[str, Any]]) -> None:
        """Insert the instalment rows; where an instalment exists, set the columns they carry."""
        if not rows:
            return
        stmt = pg_insert(instalments).values(rows)
        carried = [column for column in rows[0] if column not in ("loan_id", "seq")]
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[instalments.c.loan_id, instalments.c.seq],
                set_={column: stmt.excluded[column] for column in carried},
            )
        )

    async def replace_balances(
        self,
        loan_id: str,
        balances: Sequence[InstalmentBalance],
        *,
        complete: bool = True,
        loan_version: int | None = None,
    ) -> None:
        """Replace outstanding amounts. ``complete``: ``balances`` lists every open instalment,
        so any instalment it does not name is settled (zeroed). Then re-derive the oldest
        unpaid due date and record ``loan_version`` (if given) as the last applied."""
        params: dict[str, object] = {
            "loan_id": loan_id,
            "seqs": [b.seq for b in balances],
            "due_dates": [b.due_date for b in balances],
            "principal": [b.principal_minor for b in balances],
            "interest": [b.interest_minor for b in balances],
            "penalty": [b.penalty_minor for b in balances],
            "fee": [b.fee_minor for b in balances],
        }
        if complete:
            # every open instalment is named: the oldest unpaid one is among them, and the
            # three writes (disjoint rows) go in one statement
            unpaid = [b.due_date for b in balances if b.principal_minor + b.interest_minor > 0]
            params.update(oldest=min(unpaid, default=None), loan_version=loan_version)
            await self.session.execute(_REPLACE_ALL_BALANCES, params)
            return
        if balances:
            await self.session.execute(_UPSERT_BALANCES, params)
        await self.refresh_oldest_unpaid_due_date(loan_id, loan_version)

    async def refresh_oldest_unpaid_due_date(
        self, loan_id: str, loan_version: int | None = None
    ) -> None:
        await self.session.execute(
            _REFRESH_OLDEST_UNPAID, {"loan_id": loan_id, "loan_version": loan_version}
        )

    async def arrears_on(self, loan_id: str, as_of: date) -> Arrears:
        """What is past due on ``as_of``: instalments due before it with something unpaid."""
        row = (await self.session.execute(_ARREARS_ON, {"loan_id": loan_id, "as_of": as_of})).one()
        return _arrears(*row)

    async def arrears_of_many(self, as_of: Mapping[str, date]) -> dict[str, Arrears]:
        """``arrears_on`` for many loans in one statement, each on its own date."""
        if not as_of:
            return {}
        params = {"loan_ids": list(as_of), "as_of": list(as_of.values())}
        rows = await self.session.execute(text(_ARREARS_OF_MANY), params)
        return {loan_id: _arrears(*rest) for loan_id, *rest in rows}

    async def due_dates(self, loan_id: str) -> dict[int, date]:
        """Each instalment's due date, by ``seq``."""
        rows = await self.session.execute(
            select(instalments.c.seq, instalments.c.due_date).where(
                instalments.c.loan_id == loan_id
            )
        )
        return {seq: due for seq, due in rows}


class WaiverRepository:
    """Penalty waivers: the audit rows, what each instalment was assessed and waived, and the
    ledger's confirmation of what it booked."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def penalties_by_instalment(self, loan_id: str) -> dict[int, InstalmentPenalty]:
        """Penalty assessed per instalment and day, and waivers (the ledger's booked amount
        once it confirmed one, the amount asked until then)."""
        assessed = await self.session.execute(
            select(
                penalty_days.c.seq, penalty_days.c.business_date, penalty_days.c.booked_minor
            ).where(penalty_days.c.loan_id == loan_id, penalty_days.c.booked_minor > 0)
        )
        waived = await self.session.execute(
            select(
                penalty_waivers.c.seq,
                penalty_waivers.c.business_date,
                func.coalesce(penalty_waivers.c.booked_minor, penalty_waivers.c.amount_minor),
            ).where(penalty_waivers.c.loan_id == loan_id)
        )
        return by_instalment(
            [(r[0], r[1], int(r[2])) for r in assessed], [(r[0], r[1], int(r[2])) for r in waived]
        )

    async def penalty_days_since(self, loan_id: str, since: date) -> list[AssessedDay]:
        rows = await self.session.execute(
            select(
                penalty_days.c.business_date,
                penalty_days.c.seq,
                penalty_days.c.base_minor,
                penalty_days.c.booked_minor,
            )
            .where(penalty_days.c.loan_id == loan_id, penalty_days.c.business_date >= since)
            .order_by(penalty_days.c.business_date)
        )
        return [AssessedDay(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def waived_days(self, loan_id: str, waived_by: str) -> set[tuple[int, date]]:
        """``(seq, business date)`` of the loan's waivers by ``waived_by``."""
        rows = await self.session.execute(
            select(penalty_waivers.c.seq, penalty_waivers.c.business_date).where(
                penalty_waivers.c.loan_id == loan_id, penalty_waivers.c.waived_by == waived_by
            )
        )
        return {(seq, on) for seq, on in rows}

    async def add(self, rows: Sequence[WaiverRow]) -> None:
        await self.session.execute(insert(penalty_waivers), [asdict(r) for r in rows])

    async def confirm(self, event_id: str, booked_minor: int) -> int | None:
        """Record what the ledger booked for the waiver sent as ``event_id``; returns the
        amount that was asked (None: not a waiver of ours, or already confirmed)."""
        asked: int | None = await self.session.scalar(
            update(penalty_waivers)
            .where(penalty_waivers.c.event_id == event_id, penalty_waivers.c.booked_minor.is_(None))
            .values(booked_minor=booked_minor)
            .returning(penalty_waivers.c.amount_minor)
        )
        return asked

    async def waived_by(self, loan_id: str, on: date) -> int:
        """Penalty waived with a business date on or before ``on`` (as booked, or as asked
        until the ledger confirmed)."""
        total = await self.session.scalar(
            select(
                func.coalesce(
                    func.sum(
                        func.coalesce(
                            penalty_waivers.c.booked_minor, penalty_waivers.c.amount_minor
                        )
                    ),
                    0,
                )
            ).where(penalty_waivers.c.loan_id == loan_id, penalty_waivers.c.business_date <= on)
        )
        return int(total or 0)


def _loan_day(r: Any) -> LoanDay:
    return LoanDay(
        r.loan_id,
        r.oldest_unpaid_due_date,
        r.dpd,
        r.bucket,
        r.stage,
        OverdueBreakdown(
            int(r.overdue_principal_minor),
            int(r.overdue_interest_minor),
            int(r.overdue_penalty_minor),
            int(r.overdue_fee_minor),
        ),
    )


class HistoryRepository:
    """What happened to a loan day by day: bucket and stage transitions, the days close of
    business found it past due (``loan_days``) and the penalty days it assessed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_bucket_change(
        self, loan_id: str, on: date, from_bucket: str, to_bucket: str, dpd: int
    ) -> None:
        await self.session.execute(
            insert(bucket_history).values(
                loan_id=loan_id,
                business_date=on,
                from_bucket=from_bucket,
                to_bucket=to_bucket,
                dpd=dpd,
            )
        )

    async def add_stage_change(
        self, loan_id: str, on: date, from_stage: str, to_stage: str, dpd: int
    ) -> None:
        await self.session.execute(
            insert(stage_history).values(
                loan_id=loan_id, business_date=on, from_stage=from_stage, to_stage=to_stage, dpd=dpd
            )
        )

    async def loan_days_since(self, loan_id: str, since: date) -> list[tuple[date, LoanDay]]:
        rows = await self.session.execute(
            select(loan_days).where(
                loan_days.c.loan_id == loan_id, loan_days.c.business_date >= since
            )
        )
        return [(r.business_date, _loan_day(r)) for r in rows]

    async def revise_loan_days(
        self, loan_id: str, revised: Sequence[tuple[date, OverdueBreakdown | None]]
    ) -> None:
        """Set the recorded past-due amounts of these days (``None``: not past due after all)."""
        gone = [on for on, o in revised if o is None or o.principal_minor + o.interest_minor == 0]
        if gone:
            await self.session.execute(
                delete(loan_days).where(
                    loan_days.c.loan_id == loan_id, loan_days.c.business_date.in_(gone)
                )
            )
        for on, o in revised:
            if o is None or on in gone:
                continue
            await self.session.execute(
                update(loan_days)
                .where(loan_days.c.loan_id == loan_id, loan_days.c.business_date == on)
                .values(
                    overdue_principal_minor=o.principal_minor,
                    overdue_interest_minor=o.interest_minor,
                    overdue_penalty_minor=o.penalty_minor,
                    overdue_fee_minor=o.fees_minor,
                )
            )

    async def arrears_recorded(self, loan_id: str, on: date) -> Arrears | None:
        """The loan's arrears as the close of ``on`` recorded them (None: not past due then)."""
        row = (
            await self.session.execute(
                select(loan_days).where(
                    loan_days.c.loan_id == loan_id, loan_days.c.business_date == on
                )
            )
        ).first()
        if row is None:
            return None
        day = _loan_day(row)
        return Arrears(oldest_unpaid_due_date=day.oldest_unpaid_due_date, overdue=day.overdue)

    async def penalty_days_until(self, loan_id: str, as_of: date) -> list[PenaltyDay]:
        """The loan's penalty days on or before ``as_of``, oldest first."""
        rows = await self.session.execute(
            select(penalty_days)
            .where(penalty_days.c.loan_id == loan_id, penalty_days.c.business_date <= as_of)
            .order_by(penalty_days.c.business_date)
        )
        return [
            PenaltyDay(
                on=r.business_date,
                dpd=r.dpd,
                base_minor=r.base_minor,
                rate=Decimal(r.rate),
                exact=Decimal(r.exact),
                booked_minor=r.booked_minor,
                cap_applied=None if r.cap_applied is None else CapApplied(r.cap_applied),
                forgone_minor=r.forgone_minor,
            )
            for r in rows
        ]


_COMPLETE_UNCLOSED = """
SELECT m.business_date
FROM day_markers AS m
WHERE m.business_date > coalesce(
    (SELECT max(business_date) FROM cob_runs WHERE finished_at IS NOT NULL), '-infinity'::date
)
GROUP BY m.business_date
HAVING count(*) >= max(m.partitions)
ORDER BY m.business_date DESC
LIMIT 1
"""

_MARKER_LOCK = 0x6F7665726475  # "overdu": one marker transaction at a time


class BusinessDayRepository:
    """The ledger's close-of-business markers and this service's closed days."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_marker(self, business_date: date, partition: int, partitions: int) -> int:
        """Record one partition's marker for ``business_date`` (one marker transaction at a
        time: a transaction-scoped advisory lock) and return how many partitions' markers are
        recorded for that date (READ COMMITTED: after the lock, the count sees the other
        markers' commits)."""
        session = self.session
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MARKER_LOCK})
        await session.execute(
            pg_insert(day_markers)
            .values(business_date=business_date, partition=partition, partitions=partitions)
            .on_conflict_do_nothing()
        )
        seen = await session.scalar(
            select(func.count()).where(day_markers.c.business_date == business_date)
        )
        return int(seen or 0)

    async def lock_markers(self) -> None:
        """Wait for, then hold until commit, the lock every marker transaction takes."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MARKER_LOCK}
        )

    async def latest_complete_unclosed(self) -> date | None:
        """The last date after the last finished close whose markers are all recorded (a
        close that waited for products), or None."""
        found: date | None = await self.session.scalar(text(_COMPLETE_UNCLOSED))
        return found

    async def is_closed(self, on: date) -> bool:
        """Whether close of business finished for ``on``."""
        finished = await self.session.scalar(
            select(cob_runs.c.finished_at.is_not(None)).where(cob_runs.c.business_date == on)
        )
        return bool(finished)

    async def latest(self) -> date | None:
        """The last date close of business ran for."""
        latest: date | None = await self.session.scalar(select(func.max(cob_runs.c.business_date)))
        return latest
