"""An in-memory unit of work for the notifier's handlers (no database, no Kafka)."""

from __future__ import annotations

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


class FakeProducts:
    def __init__(self) -> None:
        self.terms: dict[str, Any] = {}

    async def put(self, code: str, terms: Any) -> None:
        self.terms[code] = terms

    async def terms_of_loan(self, loan_id: str) -> Any:
        return self.terms.get(loan_id)


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

    async def start(
        self,
        attempt_id: str,
        trigger_key: str,
        borrower_id: str,
        loan_id: str,
        purpose: str,
        mandatory: bool,
        context: dict[str, str],
    ) -> bool:
        if any(s.trigger_key == trigger_key for s, _ in self.rows):
            return False
        state = AttemptState(
            attempt_id,
            trigger_key,
            borrower_id,
            loan_id,
            purpose,
            mandatory,
            "decided",
            None,
            None,
            None,
            None,
            context,
        )
        self.rows.append((state, {}))
        return True

    async def append(self, first: AttemptState, state: str, **fields: Any) -> None:
        self.rows.append((replace(first, state=state), fields))

    async def defer(self, attempt_id: str, due_at: datetime) -> None:
        self.deferred[attempt_id] = due_at

    async def past_calls(self, borrower_id: str, since: datetime) -> tuple[PastCall, ...]:
        return self.calls

    async def last_message_at(self, loan_id: str) -> datetime | None:
        sent = [
            f.get("occurred_at") for s, f in self.rows if s.loan_id == loan_id and s.state == "sent"
        ]
        return max((t for t in sent if t is not None), default=None)

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

    async def stage_of(self, loan_id: str) -> str | None:
        return self.stages.get(loan_id)


class FakeClock:
    def __init__(self) -> None:
        self.business_date: date | None = None

    async def business_day_closed(self, business_date: date, timezone: str) -> None:
        self.business_date = max(business_date, self.business_date or business_date)


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
