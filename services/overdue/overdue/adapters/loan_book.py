"""The loan read model kept from the ledger's events: loans, instalments, products.

Balances are replaced, never computed: every ledger event that changes what is owed
carries each open instalment's outstanding amounts after the change. After every
replacement ``oldest_unpaid_due_date`` is derived again from the instalments (the oldest
instalment with unpaid principal or contract interest; unpaid penalty or fees alone do
not keep a loan delinquent, see ``domain.cure``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.contracts.money import InstalmentBalance, InstalmentTerms
from lendkit.logging import get_logger
from overdue.adapters.tables import instalments, loans, products
from overdue.domain.arrears import Arrears, OverdueBreakdown
from overdue.domain.credit_report import CreditReportGate, GateStatus
from overdue.domain.penalty import LoanTerms, PenaltyState
from overdue.domain.policy import InvalidPolicy, OverduePolicy

log = get_logger(__name__)


@dataclass(frozen=True)
class LoanRecord:
    """One ``loans`` row, with the domain values it holds."""

    loan_id: str
    borrower_id: str
    product_code: str
    currency: str
    principal_minor: int
    disbursed_on: date
    oldest_unpaid_due_date: date | None
    bucket: str
    stage: str
    in_arrears: bool
    charge_off_candidate: bool
    paused: bool
    pause_reason: str | None
    penalty: PenaltyState
    fees_charged_minor: int
    gate: CreditReportGate
    ledger_version: int | None = None
    """The ledger's ``loan_version`` of the last balances applied."""

    def is_stale(self, loan_version: int | None) -> bool:
        """Whether a ledger event of ``loan_version`` is older than what was applied (an
        event without a version, published before versions existed, never is)."""
        return (
            loan_version is not None
            and self.ledger_version is not None
            and loan_version < self.ledger_version
        )

    @property
    def terms(self) -> LoanTerms:
        return LoanTerms(self.principal_minor, self.disbursed_on)

    @classmethod
    def from_row(cls, row: Any) -> LoanRecord:
        """``row``: a mapping by column name (an asyncpg record or a SQLAlchemy row mapping)."""
        return cls(
            loan_id=row["loan_id"],
            borrower_id=row["borrower_id"],
            product_code=row["product_code"],
            currency=row["currency"],
            principal_minor=row["principal_minor"],
            disbursed_on=row["disbursed_on"],
            oldest_unpaid_due_date=row["oldest_unpaid_due_date"],
            bucket=row["bucket"],
            stage=row["stage"],
            in_arrears=row["in_arrears"],
            charge_off_candidate=row["charge_off_candidate"],
            paused=row["paused"],
            pause_reason=row["pause_reason"],
            penalty=PenaltyState(
                last_accrued_on=row["last_accrued_on"],
                cumulative_exact=Decimal(row["cumulative_exact"]),
                assessed_to_date_minor=row["assessed_to_date_minor"],
                waived_to_date_minor=row["waived_to_date_minor"],
            ),
            fees_charged_minor=row["fees_charged_minor"],
            gate=CreditReportGate(
                status=GateStatus(row["gate_status"]),
                notice_due_on=row["notice_due_on"],
                notice_delivered_on=row["notice_delivered_on"],
                reportable_on=row["reportable_on"],
            ),
            ledger_version=row["ledger_version"],
        )


# Products ----------------------------------------------------------------------------


async def save_product(
    session: AsyncSession, code: str, currency: str, policy: Mapping[str, Any]
) -> None:
    stmt = insert(products).values(code=code, currency=currency, overdue_policy=dict(policy))
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[products.c.code],
            set_={
                "currency": stmt.excluded.currency,
                "overdue_policy": stmt.excluded.overdue_policy,
                "updated_at": func.now(),
            },
        )
    )


class PolicyLookup(NamedTuple):
    """Each product asked for: its overdue policy when the product was published with a valid
    one (``found``), else why not (``missing``: product code -> reason). A product without a
    valid policy never gets a default one: its loans are blocked until it arrives."""

    found: dict[str, OverduePolicy]
    missing: dict[str, str]


NOT_PUBLISHED = "product not published (no valid ledger.product.published.v1 received)"


async def policies_for(session: AsyncSession, codes: Iterable[str]) -> PolicyLookup:
    """The policies of ``codes`` (products and loans travel on different topics, so a loan
    may arrive before its product; an invalid product is dead-lettered, never stored, but a
    row stored before today's schema is parsed again and may be refused)."""
    wanted = set(codes)
    rows = await session.execute(
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
    return PolicyLookup(found, missing)


async def policy_for(session: AsyncSession, code: str) -> OverduePolicy | None:
    """The product's policy, or ``None`` while it has no valid one (never a default)."""
    return (await policies_for(session, [code])).found.get(code)


# Loans -------------------------------------------------------------------------------


async def add_loan(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert the loan; False when it is already known (a replayed disbursement)."""
    inserted = await session.scalar(
        insert(loans).values(**values).on_conflict_do_nothing().returning(loans.c.loan_id)
    )
    return inserted is not None


async def load_loan(
    session: AsyncSession, loan_id: str, *, lock: bool = False
) -> LoanRecord | None:
    query = select(loans).where(loans.c.loan_id == loan_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).one_or_none()
    return None if row is None else LoanRecord.from_row(row._mapping)


async def update_loan(session: AsyncSession, loan_id: str, **values: Any) -> None:
    await session.execute(update(loans).where(loans.c.loan_id == loan_id).values(**values))


# Instalments -------------------------------------------------------------------------


async def set_schedule(
    session: AsyncSession,
    loan_id: str,
    terms: Sequence[InstalmentTerms],
    *,
    effective_date: date | None = None,
) -> None:
    """Record scheduled instalments (disbursement or rewrite). On a rewrite, instalments
    due on or after the effective date that the new schedule does not name are dropped."""
    if effective_date is not None:
        await session.execute(
            instalments.delete().where(
                instalments.c.loan_id == loan_id,
                instalments.c.due_date >= effective_date,
                instalments.c.seq.not_in([t.seq for t in terms]),
            )
        )
    await _upsert_instalments(
        session,
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


async def _upsert_instalments(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert the instalment rows; where an instalment exists, set the columns they carry."""
    if not rows:
        return
    stmt = insert(instalments).values(rows)
    carried = [column for column in rows[0] if column not in ("loan_id", "seq")]
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[instalments.c.loan_id, instalments.c.seq],
            set_={column: stmt.excluded[column] for column in carried},
        )
    )


async def replace_balances(
    session: AsyncSession,
    loan_id: str,
    balances: Sequence[InstalmentBalance],
    *,
    complete: bool = True,
    loan_version: int | None = None,
) -> None:
    """Replace outstanding amounts. ``complete``: ``balances`` lists every open instalment,
    so any instalment it does not name is settled (zeroed). Then re-derive the oldest
    unpaid due date and record ``loan_version`` (if given) as the last applied."""
    if complete:
        await session.execute(
            update(instalments)
            .where(
                instalments.c.loan_id == loan_id,
                instalments.c.seq.not_in([b.seq for b in balances]),
            )
            .values(principal_minor=0, interest_minor=0, penalty_minor=0, fee_minor=0)
        )
    await _upsert_instalments(
        session,
        [
            {
                "loan_id": loan_id,
                "seq": b.seq,
                "due_date": b.due_date,
                "principal_minor": b.principal_minor,
                "interest_minor": b.interest_minor,
                "penalty_minor": b.penalty_minor,
                "fee_minor": b.fee_minor,
            }
            for b in balances
        ],
    )
    await refresh_oldest_unpaid_due_date(session, loan_id, loan_version)


async def refresh_oldest_unpaid_due_date(
    session: AsyncSession, loan_id: str, loan_version: int | None = None
) -> None:
    await session.execute(
        text(
            """
            UPDATE loans SET oldest_unpaid_due_date = (
                SELECT min(due_date) FROM instalments
                WHERE loan_id = :loan_id AND principal_minor + interest_minor > 0
            ),
            ledger_version = coalesce(CAST(:loan_version AS bigint), ledger_version)
            WHERE loan_id = :loan_id
            """
        ),
        {"loan_id": loan_id, "loan_version": loan_version},
    )


async def arrears_on(session: AsyncSession, loan_id: str, as_of: date) -> Arrears:
    """What is past due on ``as_of``: instalments due before it with something unpaid."""
    past_due = and_(instalments.c.loan_id == loan_id, instalments.c.due_date < as_of)
    row = (
        await session.execute(
            select(
                func.min(instalments.c.due_date).filter(
                    instalments.c.principal_minor + instalments.c.interest_minor > 0
                ),
                func.coalesce(func.sum(instalments.c.principal_minor), 0),
                func.coalesce(func.sum(instalments.c.interest_minor), 0),
                func.coalesce(func.sum(instalments.c.penalty_minor), 0),
                func.coalesce(func.sum(instalments.c.fee_minor), 0),
            ).where(past_due)
        )
    ).one()
    oldest, principal, interest, penalty, fee = row
    return Arrears(
        oldest_unpaid_due_date=oldest,
        overdue=OverdueBreakdown(int(principal), int(interest), int(penalty), int(fee)),
    )


async def oldest_seq_with(session: AsyncSession, loan_id: str, component: str) -> int | None:
    """The oldest instalment with something of ``component`` outstanding."""
    column = instalments.c[f"{component}_minor"]
    seq: int | None = await session.scalar(
        select(func.min(instalments.c.seq)).where(instalments.c.loan_id == loan_id, column > 0)
    )
    return seq
