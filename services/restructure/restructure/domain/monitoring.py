"""Monitoring an active plan from the ledger's balances.

A plan is **completed** when none of its instalments is still owed (the ledger's open
instalments after a payment no longer list any plan instalment with money on it). A plan
is **broken** when one of its instalments is still owed after its due date plus the
product's ``plan_grace_days``: on business day ``D`` an instalment due on ``d`` is missed
beyond grace when ``d + grace < D``. Days past due are counted from the day after the
oldest unpaid instalment's due date (unpaid principal or contract interest; penalty or
fees alone do not make a loan late).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from lendkit.schedules import ScheduledInstalment


class Owed(Protocol):
    """What is still owed on an instalment (the read model's open instalment)."""

    @property
    def seq(self) -> int: ...
    @property
    def due_date(self) -> date: ...
    @property
    def principal_minor(self) -> int: ...
    @property
    def interest_minor(self) -> int: ...
    @property
    def total_minor(self) -> int: ...


class PlanProgress(StrEnum):
    ON_TRACK = "on_track"
    COMPLETED = "completed"
    BROKEN = "broken"


@dataclass(frozen=True)
class PlanReview:
    progress: PlanProgress
    missed_seq: int | None = None


def review_plan(
    plan: Sequence[ScheduledInstalment],
    owed: Iterable[Owed],
    on: date,
    grace_days: int,
) -> PlanReview:
    """Where a plan stands on business day ``on`` given what is still owed."""
    seqs = {i.seq for i in plan}
    still_owed = sorted(
        (o for o in owed if o.seq in seqs and o.total_minor > 0), key=lambda o: o.seq
    )
    if not still_owed:
        return PlanReview(PlanProgress.COMPLETED)
    for o in still_owed:
        if o.due_date + timedelta(days=grace_days) < on:
            return PlanReview(PlanProgress.BROKEN, o.seq)
    return PlanReview(PlanProgress.ON_TRACK)


def days_past_due(owed: Iterable[Owed], on: date) -> int:
    """Days since the oldest instalment with unpaid principal or interest fell due."""
    late = [o.due_date for o in owed if (o.principal_minor or o.interest_minor) and o.due_date < on]
    return (on - min(late)).days if late else 0
