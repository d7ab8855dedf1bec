"""An in-memory unit of work for the notifier's handlers (no database, no Kafka)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from lendkit.events import CloudEvent
from notifier.adapters.repository import AttemptState
from notifier.domain.policy import PastCall
from notifier.domain.profile import ContactProfile
from notifier.domain.strategy import DEFAULT_STRATEGY, ContactStrategy


class FakeLoans:
    def __init__(self) -> None:
        self.borrowers: dict[str, str] = {}

    async def add(self, loan_id: str, borrower_id: str, *_: Any) -> None:
        self.borrowers.setdefault(loan_id, borrower_id)

    async def borrower_of(self, loan_id: str) -> str | None:
        return self.borrowers.get(loan_id)

    async def borrowers_of(self, loan_ids: Any) -> dict[str, str]:
        return {i: self.borrowers[i] for i in loan_ids if i in self.borrowers}


class FakeProducts:
    def __init__(self) -> None:
        self.terms: dict[str, Any] = {}

    async def put(self, code: str, terms: Any) -> None:
        self.terms[code] = terms


class FakeProfiles:
    def __init__(self) -> None:
        self.profiles: dict[str, ContactProfile] = {}

    async def get(self, borrower_id: str) -> ContactProfile | None:
        return self.profiles.get(borrower_id)


class FakeAttempts:
    def __init__(self) -> None:
        self.rows: list[tuple[AttemptState, dict[str, Any]]] = []
        self.deferred: dict[str, datetime] = {}
        self.calls: tuple[PastCall, ...] = ()

    async def append(self, first: AttemptState, state: str, **fields: Any) -> None:
        self.rows.append((replace(first, state=state), fields))

    async def latest(self, attempt_id: str) -> AttemptState | None:
        rows = [s for s, _ in self.rows if s.attempt_id == attempt_id]
        return rows[-1] if rows else None


class FakeStrategies:
    def __init__(self) -> None:
        self.strategy: ContactStrategy = DEFAULT_STRATEGY

    async def current(self) -> ContactStrategy:
        return self.strategy


class FakeStages:
    def __init__(self) -> None:
        self.stages: dict[str, str] = {}

    async def set(self, loan_id: str, stage: str, on: date) -> None:
        self.stages[loan_id] = stage

    async def set_many(self, changes: Any) -> None:
        for loan_id, stage, on in changes:
            await self.set(loan_id, stage, on)


class FakeClock:
    def __init__(self) -> None:
        self.business_date: date | None = None

    async def business_day_closed(self, business_date: date, timezone: str) -> None:
        self.business_date = max(business_date, self.business_date or business_date)


class FakeBatch:
    """The set-based record over the other fakes' state (the one decide-and-record path)."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    async def start_many(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        started: set[str] = set()
        attempts = self.uow.attempts
        for r in rows:
            if any(s.trigger_key == r["trigger_key"] for s, _ in attempts.rows):
                continue
            state = AttemptState(
                r["attempt_id"],
                r["trigger_key"],
                r["borrower_id"],
                r["loan_id"],
                r["purpose"],
                r["mandatory"],
                "decided",
                None,
                None,
                None,
                None,
                r["context"],
            )
            attempts.rows.append((state, {}))
            started.add(r["attempt_id"])
        return started

    async def append_many(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            first = next(s for s, _ in self.uow.attempts.rows if s.attempt_id == r["attempt_id"])
            fields = {k: v for k, v in r.items() if k != "state"}
            self.uow.attempts.rows.append((replace(first, state=r["state"]), fields))

    async def defer_many(self, due: Sequence[tuple[str, datetime]]) -> None:
        self.uow.attempts.deferred.update(due)

    async def profiles(self, borrowers: Iterable[str]) -> dict[str, ContactProfile]:
        known = self.uow.profiles.profiles
        return {b: known[b] for b in borrowers if b in known}

    async def past_calls(
        self, borrowers: Iterable[str], since: datetime
    ) -> dict[str, tuple[PastCall, ...]]:
        return {b: self.uow.attempts.calls for b in borrowers}

    async def terms_of_loans(self, loan_ids: Iterable[str]) -> dict[str, Any]:
        terms = self.uow.products.terms
        return {loan: terms[loan] for loan in loan_ids if loan in terms}

    async def stages_of(self, loan_ids: Iterable[str]) -> dict[str, str]:
        stages = self.uow.stages.stages
        return {loan: stages[loan] for loan in loan_ids if loan in stages}

    async def last_messages(self, loan_ids: Iterable[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for s, f in self.uow.attempts.rows:
            at = f.get("occurred_at")
            if s.loan_id in loan_ids and s.state == "sent" and at is not None:
                found[s.loan_id] = max(at, found.get(s.loan_id, at))
        return found


class FakeUnitOfWork:
    source = "notifier"

    def __init__(self) -> None:
        self.loans = FakeLoans()
        self.profiles = FakeProfiles()
        self.products = FakeProducts()
        self.attempts = FakeAttempts()
        self.strategies = FakeStrategies()
        self.stages = FakeStages()
        self.clock = FakeClock()
        self.batch = FakeBatch(self)
        self.emitted: list[CloudEvent] = []
        self.committed = False

    async def emit(self, event: CloudEvent) -> None:
        self.emitted.append(event)

    async def emit_all(self, events: list[CloudEvent]) -> None:
        self.emitted.extend(events)

    async def commit(self) -> None:
        self.committed = True

    def states(self) -> list[str]:
        return [s.state for s, _ in self.attempts.rows]
