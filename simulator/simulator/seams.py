"""Behaviours that need routes some services may not have yet: a hardship borrower asking the
restructure service for a plan, a promise to pay registered there, call outcomes a call
centre reports to the notifier, and the notifier's simulated time of day.

Each is chosen from the service's OpenAPI at the start of a run. Without its route a behaviour
is skipped: the borrower's intention is still counted (the report says "not sent: the service
has no route") and the report's section is present but empty of platform data. When the
routes land, the paths below and the bodies in these methods are the one place to adjust.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lendkit.auth import Role
from simulator.client import Platform

RESTRUCTURE_REQUESTS = "/loans/{loan_id}/restructure-requests"
PROMISES = "/loans/{loan_id}/promises"
CALL_OUTCOMES = "/contact-attempts/{attempt_id}/call-outcome"
NOTIFIER_TIME_OF_DAY = "/simulated-clock"


@dataclass
class Seams:
    platform: Platform
    skipped: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, service, path in (
            ("restructure_requests", "restructure", RESTRUCTURE_REQUESTS),
            ("promises", "restructure", PROMISES),
            ("call_outcomes", "notifier", CALL_OUTCOMES),
            ("notifier_time_of_day", "notifier", NOTIFIER_TIME_OF_DAY),
        ):
            if not self.platform.has(service, path):
                self.skipped[name] = f"{service} has no {path} route"

    def has(self, name: str) -> bool:
        return name not in self.skipped

    async def ask_plan(self, loan_id: str, borrower_id: str, today: date) -> Any:
        if not self.has("restructure_requests"):
            return None
        return await self.platform.call(
            "restructure",
            "POST",
            RESTRUCTURE_REQUESTS.format(loan_id=loan_id),
            role=Role.BORROWER,
            borrower_id=borrower_id,
            json={"reason": "hardship", "requested_on": today.isoformat()},
            idempotency_key=f"plan-{loan_id}-{today}",
        )

    async def promise(self, loan_id: str, borrower_id: str, amount: int, on: date) -> Any:
        if not self.has("promises"):
            return None
        return await self.platform.call(
            "restructure",
            "POST",
            PROMISES.format(loan_id=loan_id),
            role=Role.BORROWER,
            borrower_id=borrower_id,
            json={"amount_minor": amount, "promised_date": on.isoformat()},
            idempotency_key=f"promise-{loan_id}-{on}",
        )
