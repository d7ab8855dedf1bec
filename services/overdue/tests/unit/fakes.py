"""An in-memory overdue unit of work: the handlers and commands run on it as on the real one
(``OverdueUnitOfWork``), each fake repository answering like its PostgreSQL twin in
``overdue.adapters.repository``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from lendkit.contracts.money import InstalmentBalance, InstalmentTerms
from lendkit.testing.fakes import FakeRepository, FakeUnitOfWork
from overdue.adapters.records import (
    NOT_PUBLISHED,
    LoanDay,
    NewLoan,
    PolicyLookup,
    TrackedLoan,
    WaiverRow,
)
from overdue.domain.arrears import Arrears, OverdueBreakdown
from overdue.domain.credit_report import CreditReportGate
from overdue.domain.penalty import PenaltyDay, PenaltyState
from overdue.domain.policy import InvalidPolicy, OverduePolicy
from overdue.domain.waiver import AssessedDay, InstalmentPenalty, by_instalment
from overdue.settings import Settings


@dataclass
class Instalment:
    due_date: date
    scheduled_interest_minor: int = 0
    principal_minor: int = 0
    interest_minor: int = 0
    penalty_minor: int = 0
    fee_minor: int = 0


class FakeProducts:
    def __init__(self, loans: dict[str, TrackedLoan]) -> None:
        self.rows: dict[str, tuple[str, dict[str, Any]]] = {}
        self.refused: dict[str, str] = {}
        self._loans = loans

    async def save(self, code: str, currency: str, policy: Mapping[str, Any]) -> None:
        self.rows[code] = (currency, dict(policy))
        self.refused.pop(code, None)

    async def record_refusal(self, code: str, reason: str) -> None:
        self.refused[code] = reason

    async def awaited(self) -> list[str]:
        named = {loan.product_code for loan in self._loans.values()}
        return sorted(named - self.rows.keys() - self.refused.keys())

    async def policies_for(self, codes: Iterable[str]) -> PolicyLookup:
        wanted = set(codes)
        found: dict[str, OverduePolicy] = {}
        missing = dict.fromkeys(wanted, NOT_PUBLISHED)
        for code in wanted & self.rows.keys():
            try:
                found[code] = OverduePolicy.from_mapping(self.rows[code][1])
            except InvalidPolicy as exc:
                missing[code] = f"invalid overdue policy: {exc}"
            else:
                del missing[code]
        for code in wanted & self.refused.keys() - self.rows.keys():
            missing[code] = f"refused overdue policy: {self.refused[code]}"
        return PolicyLookup(found, missing)

    async def policy_for(self, code: str) -> OverduePolicy | None:
        return (await self.policies_for([code])).found.get(code)


class FakeLoans(FakeRepository[str, TrackedLoan]):
    def __init__(self) -> None:
        super().__init__(key=lambda loan: loan.loan_id)
        self.instalments: dict[str, dict[int, Instalment]] = {}

    async def add(self, loan: NewLoan) -> bool:
        if loan.loan_id in self.rows:
            return False
        self.add_row(
            TrackedLoan(
                loan_id=loan.loan_id,
                borrower_id=loan.borrower_id,
                product_code=loan.product_code,
                currency=loan.currency,
                principal_minor=loan.principal_minor,
                disbursed_on=loan.disbursed_on,
                oldest_unpaid_due_date=None,
                bucket="current",
                stage="current",
                in_arrears=False,
                charge_off_candidate=False,
                paused=False,
                pause_reason=None,
                penalty=PenaltyState(),
                fees_charged_minor=0,
                gate=CreditReportGate(),
                ledger_version=loan.ledger_version,
            )
        )
        self.instalments[loan.loan_id] = {}
        return True

    def add_row(self, loan: TrackedLoan) -> None:
        FakeRepository.add(self, loan)

    async def get(self, key: str, *, lock: bool = False) -> TrackedLoan | None:
        return self.rows.get(key)

    def _change(self, loan_id: str, **changes: Any) -> None:
        self.rows[loan_id] = replace(self.rows[loan_id], **changes)

    async def set_fees_charged(self, loan_id: str, fees_charged_minor: int) -> None:
        self._change(loan_id, fees_charged_minor=fees_charged_minor)

    async def set_waived_to_date(self, loan_id: str, waived_to_date_minor: int) -> None:
        penalty = replace(self.rows[loan_id].penalty, waived_to_date_minor=waived_to_date_minor)
        self._change(loan_id, penalty=penalty)

    async def set_paused(self, loan_id: str, *, paused: bool, reason: str | None) -> None:
        self._change(loan_id, paused=paused, pause_reason=reason)

    async def record_plan_outcome(self, loan_id: str, plan_id: str) -> None:
        self._change(loan_id, plan_outcome_seen=plan_id)

    async def record_notice_delivered(self, loan_id: str, gate: CreditReportGate) -> None:
        old = self.rows[loan_id].gate
        self._change(
            loan_id,
            gate=replace(old, status=gate.status, notice_delivered_on=gate.notice_delivered_on),
        )

    async def mark_cured(
        self, loan_id: str, *, bucket: str, stage: str, gate: CreditReportGate
    ) -> None:
        self._change(
            loan_id,
            bucket=bucket,
            stage=stage,
            in_arrears=False,
            charge_off_candidate=False,
            gate=gate,
        )

    async def set_schedule(
        self,
        loan_id: str,
        terms: Sequence[InstalmentTerms],
        *,
        effective_date: date | None = None,
    ) -> None:
        rows = self.instalments[loan_id]
        named = {t.seq for t in terms}
        if effective_date is not None:
            for seq in [s for s, i in rows.items() if i.due_date >= effective_date]:
                if seq not in named:
                    del rows[seq]
        for t in terms:
            row = rows.setdefault(t.seq, Instalment(t.due_date))
            row.due_date = t.due_date
            row.scheduled_interest_minor = t.interest_minor
            row.principal_minor = t.principal_minor
            row.interest_minor = t.interest_minor

    async def replace_balances(
        self,
        loan_id: str,
        balances: Sequence[InstalmentBalance],
        *,
        complete: bool = True,
        loan_version: int | None = None,
    ) -> None:
        rows = self.instalments[loan_id]
        if complete:
            named = {b.seq for b in balances}
            for seq, row in rows.items():
                if seq not in named:
                    row.principal_minor = row.interest_minor = 0
                    row.penalty_minor = row.fee_minor = 0
        for b in balances:
            row = rows.setdefault(b.seq, Instalment(b.due_date))
            row.due_date = b.due_date
            row.principal_minor = b.principal_minor
            row.interest_minor = b.interest_minor
            row.penalty_minor = b.penalty_minor
            row.fee_minor = b.fee_minor
        await self.refresh_oldest_unpaid_due_date(loan_id, loan_version)

    async def refresh_oldest_unpaid_due_date(
        self, loan_id: str, loan_version: int | None = None
    ) -> None:
        unpaid = [
            i.due_date
            for i in self.instalments[loan_id].values()
            if i.principal_minor + i.interest_minor > 0
        ]
        version = self.rows[loan_id].ledger_version if loan_version is None else loan_version
        self._change(
            loan_id, oldest_unpaid_due_date=min(unpaid, default=None), ledger_version=version
        )

    async def arrears_on(self, loan_id: str, as_of: date) -> Arrears:
        past = [i for i in self.instalments[loan_id].values() if i.due_date < as_of]
        return Arrears(
            oldest_unpaid_due_date=min(
                (i.due_date for i in past if i.principal_minor + i.interest_minor > 0),
                default=None,
            ),
            overdue=OverdueBreakdown(
                sum(i.principal_minor for i in past),
                sum(i.interest_minor for i in past),
                sum(i.penalty_minor for i in past),
                sum(i.fee_minor for i in past),
            ),
        )

    async def due_dates(self, loan_id: str) -> dict[int, date]:
        return {seq: i.due_date for seq, i in self.instalments[loan_id].items()}


class FakeWaivers:
    def __init__(self) -> None:
        #: (loan_id, day) of each penalty day close of business assessed
        self.penalty_days: list[tuple[str, AssessedDay]] = []
        self.rows: list[WaiverRow] = []
        self.booked: dict[str, int] = {}

    def _amount(self, row: WaiverRow) -> int:
        return self.booked.get(row.event_id, row.amount_minor)

    async def penalties_by_instalment(self, loan_id: str) -> dict[int, InstalmentPenalty]:
        return by_instalment(
            [
                (d.seq, d.on, d.booked_minor)
                for lid, d in self.penalty_days
                if lid == loan_id and d.booked_minor > 0
            ],
            [(r.seq, r.business_date, self._amount(r)) for r in self.rows if r.loan_id == loan_id],
        )

    async def penalty_days_since(self, loan_id: str, since: date) -> list[AssessedDay]:
        days = [d for lid, d in self.penalty_days if lid == loan_id and d.on >= since]
        return sorted(days, key=lambda d: d.on)

    async def waived_days(self, loan_id: str, waived_by: str) -> set[tuple[int, date]]:
        return {
            (r.seq, r.business_date)
            for r in self.rows
            if r.loan_id == loan_id and r.waived_by == waived_by
        }

    async def add(self, rows: Sequence[WaiverRow]) -> None:
        self.rows.extend(rows)

    async def confirm(self, event_id: str, booked_minor: int) -> int | None:
        for row in self.rows:
            if row.event_id == event_id and event_id not in self.booked:
                self.booked[event_id] = booked_minor
                return row.amount_minor
        return None

    async def waived_by(self, loan_id: str, on: date) -> int:
        return sum(
            self._amount(r) for r in self.rows if r.loan_id == loan_id and r.business_date <= on
        )


class FakeHistory:
    def __init__(self) -> None:
        self.bucket_changes: list[tuple[str, date, str, str, int]] = []
        self.stage_changes: list[tuple[str, date, str, str, int]] = []
        self.loan_days: dict[tuple[str, date], LoanDay] = {}

    async def add_bucket_change(
        self, loan_id: str, on: date, from_bucket: str, to_bucket: str, dpd: int
    ) -> None:
        self.bucket_changes.append((loan_id, on, from_bucket, to_bucket, dpd))

    async def add_stage_change(
        self, loan_id: str, on: date, from_stage: str, to_stage: str, dpd: int
    ) -> None:
        self.stage_changes.append((loan_id, on, from_stage, to_stage, dpd))

    async def loan_days_since(self, loan_id: str, since: date) -> list[tuple[date, LoanDay]]:
        return [
            (on, d) for (lid, on), d in self.loan_days.items() if lid == loan_id and on >= since
        ]

    async def revise_loan_days(
        self, loan_id: str, revised: Sequence[tuple[date, OverdueBreakdown | None]]
    ) -> None:
        for on, o in revised:
            if o is None or o.principal_minor + o.interest_minor == 0:
                self.loan_days.pop((loan_id, on), None)
            elif (loan_id, on) in self.loan_days:
                self.loan_days[loan_id, on] = replace(self.loan_days[loan_id, on], overdue=o)

    async def arrears_recorded(self, loan_id: str, on: date) -> Arrears | None:
        day = self.loan_days.get((loan_id, on))
        return (
            None
            if day is None
            else Arrears(oldest_unpaid_due_date=day.oldest_unpaid_due_date, overdue=day.overdue)
        )

    async def penalty_days_until(self, loan_id: str, as_of: date) -> list[PenaltyDay]:
        return []


class FakeBusinessDays:
    def __init__(self) -> None:
        self.markers: set[tuple[date, int]] = set()
        self.partitions: dict[date, int] = {}
        self.closed: set[date] = set()

    async def record_marker(self, business_date: date, partition: int, partitions: int) -> int:
        self.markers.add((business_date, partition))
        self.partitions[business_date] = partitions
        return sum(1 for day, _ in self.markers if day == business_date)

    async def is_closed(self, on: date) -> bool:
        return on in self.closed

    async def lock_markers(self) -> None:
        pass

    async def latest_complete_unclosed(self) -> date | None:
        last = max(self.closed, default=date.min)
        complete = [
            day
            for day, partitions in self.partitions.items()
            if day > last and sum(1 for d, _ in self.markers if d == day) >= partitions
        ]
        return max(complete, default=None)

    async def latest(self) -> date | None:
        return max(self.closed, default=None)


class FakeOverdueUnitOfWork(FakeUnitOfWork):
    source = "overdue-test"

    def __init__(self) -> None:
        super().__init__()
        self.settings = Settings()
        self.loans = FakeLoans()
        self.products = FakeProducts(self.loans.rows)
        self.waivers = FakeWaivers()
        self.history = FakeHistory()
        self.days = FakeBusinessDays()
