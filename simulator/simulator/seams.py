"""Behaviours that go through the restructure service and the notifier's call centre and
clock routes: a hardship borrower asking for a plan and accepting one, a promise to pay, call
outcomes a call centre reports, and the notifier's simulated time of day.

Each is chosen from the service's OpenAPI at the start of a run. Without its route a behaviour
is skipped: the borrower's intention is still counted (the report says "not sent: the service
has no route") and the report's section is present but empty of platform data.

Routes (``services/restructure/restructure/entrypoints/api.py``, ``docs/notifier.md``):

- ``POST /loans/{loan_id}/hardship-requests`` ``{"reason"}`` (the borrower): every plan type
  quoted, each eligible quote an offer; ``POST /offers/{offer_id}/accept`` (Idempotency-Key)
  makes the plan and sends its exact schedule to the ledger.
- ``POST /loans/{loan_id}/promises`` ``{"promised_on", "amount_minor"}`` (the borrower).
- ``POST /clock`` (admin) ``{"business_date", "time_of_day"}``: the notifier's simulated now.
- ``GET /call-tasks`` and ``POST /call-tasks/{call_id}/outcome`` (the call centre, service).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lendkit.auth import Role
from simulator.client import Platform, PlatformError

HARDSHIP_REQUESTS = "/loans/{loan_id}/hardship-requests"
ACCEPT_OFFER = "/offers/{offer_id}/accept"
PROMISES = "/loans/{loan_id}/promises"
CALL_TASKS = "/call-tasks"
CALL_OUTCOMES = "/call-tasks/{call_id}/outcome"
NOTIFIER_CLOCK = "/clock"

#: Which plan a hardship borrower accepts: the first open offer in this order (plans that
#: rewrite the schedule first: they are what the ledger books and the invariant compares).
PLAN_PREFERENCE = (
    "term_extension",
    "re_amortisation",
    "payment_holiday",
    "rate_reduction",
    "penalty_waiver",
    "discounted_settlement",
    "promise_to_pay",
)


@dataclass(frozen=True)
class AcceptedPlan:
    """A plan the simulation accepted: the quote the borrower saw and the plan made."""

    loan_id: str
    plan_type: str
    quote: dict[str, Any]
    plan: dict[str, Any] | None


def choose_offer(hardship: dict[str, Any]) -> dict[str, Any] | None:
    """The open offer a hardship borrower accepts (``PLAN_PREFERENCE``), or None."""
    open_offers: dict[str, dict[str, Any]] = {
        o["plan_type"]: o
        for o in hardship.get("options", [])
        if o.get("eligible") and o.get("offer_id") and o.get("offer_status") == "open"
    }
    for plan_type in PLAN_PREFERENCE:
        if plan_type in open_offers:
            return open_offers[plan_type]
    return None


@dataclass
class Seams:
    platform: Platform
    skipped: dict[str, str] = field(default_factory=dict)
    accepted: list[AcceptedPlan] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    #: The notifier's simulated now, as last set by ``time_of_day``.
    clock_now: datetime | None = None

    def __post_init__(self) -> None:
        for name, service, path in (
            ("restructure_requests", "restructure", HARDSHIP_REQUESTS),
            ("promises", "restructure", PROMISES),
            ("call_outcomes", "notifier", CALL_OUTCOMES),
            ("notifier_time_of_day", "notifier", NOTIFIER_CLOCK),
        ):
            if not self.platform.has(service, path):
                self.skipped[name] = f"{service} has no {path} route"

    def has(self, name: str) -> bool:
        return name not in self.skipped

    async def ask_plan(self, loan_id: str, borrower_id: str, today: date) -> Any:
        """Request a plan, accept the preferred open offer; the accepted plan or the
        hardship answer (no offer open), None without the route."""
        if not self.has("restructure_requests"):
            return None
        hardship = await self.platform.call(
            "restructure",
            "POST",
            HARDSHIP_REQUESTS.format(loan_id=loan_id),
            role=Role.BORROWER,
            borrower_id=borrower_id,
            json={"reason": "hardship (simulated): income fell"},
            idempotency_key=f"plan-{loan_id}-{today}",
        )
        offer = choose_offer(hardship)
        if offer is None:
            self.refused.append(loan_id)
            return hardship
        try:
            accepted = await self.platform.call(
                "restructure",
                "POST",
                ACCEPT_OFFER.format(offer_id=offer["offer_id"]),
                role=Role.BORROWER,
                borrower_id=borrower_id,
                idempotency_key=f"accept-{offer['offer_id']}",
            )
        except PlatformError:  # 409: the loan changed since the quote; counted, not fatal
            self.refused.append(loan_id)
            return hardship
        self.accepted.append(
            AcceptedPlan(loan_id, offer["plan_type"], offer.get("quote") or {}, accepted["plan"])
        )
        return accepted

    async def promise(self, loan_id: str, borrower_id: str, amount: int, on: date) -> Any:
        if not self.has("promises") or amount <= 0:
            return None
        return await self.platform.call(
            "restructure",
            "POST",
            PROMISES.format(loan_id=loan_id),
            role=Role.BORROWER,
            borrower_id=borrower_id,
            json={"amount_minor": amount, "promised_on": on.isoformat()},
            idempotency_key=f"promise-{loan_id}-{on}",
        )

    async def time_of_day(self, today: date, at: str) -> Any:
        """The notifier's simulated now: ``today`` at ``at`` (HH:MM, business zone)."""
        if not self.has("notifier_time_of_day"):
            return None
        clock = await self.platform.call(
            "notifier",
            "POST",
            NOTIFIER_CLOCK,
            role=Role.ADMIN,
            json={"business_date": today.isoformat(), "time_of_day": at},
            idempotency_key=f"clock-{today}-{at}",
        )
        self.clock_now = datetime.fromisoformat(clock["now"])
        return clock

    async def answer_calls(self, outcome_of: Any) -> int:
        """The call centre works the open call tasks: ``outcome_of(task)`` answers the
        outcome body (or None to leave the task). The number of outcomes reported."""
        if not self.has("call_outcomes"):
            return 0
        tasks = await self.platform.paged("notifier", CALL_TASKS, role=Role.SERVICE)
        done = 0
        for task in tasks:
            body = outcome_of(task)
            if body is None:
                continue
            await self.platform.call(
                "notifier",
                "POST",
                CALL_OUTCOMES.format(call_id=task["call_id"]),
                role=Role.SERVICE,
                json=body,
                idempotency_key=f"outcome-{task['call_id']}",
                ok=(200, 201, 409),
            )
            done += 1
        return done
