"""Forbearance clocks (EBA): cure, then probation, and re-default.

* On activation of a plan the loan is flagged forborne on ``forborne_on``.
* A loan non-performing at that date (for example DPD > 90) is in **cure** for at least one
  year from the forbearance date; cure ends on the first observed day at or after
  ``cure_ends_on`` with no days past due.
* Then **probation** as performing for two years from the day cure ended (a performing loan
  starts in probation on the forbearance date).
* During probation, DPD > 30 or a new forbearance is a **re-default**: the loan is
  non-performing again and the clocks restart from that day (cure one year, then
  probation two years).
* A probation that runs its two years ends the forborne status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from lendkit.schedules import add_months

CURE_MONTHS = 12
PROBATION_MONTHS = 24
NON_PERFORMING_DPD = 90
PROBATION_REDEFAULT_DPD = 30


class ForbearanceStatus(StrEnum):
    CURE = "cure"  # non-performing forborne, in the cure period
    PROBATION = "probation"  # performing forborne, in probation
    EXITED = "exited"  # no longer forborne


class ForbearanceEvent(StrEnum):
    STARTED = "forbearance_started"
    CURE_ENDED = "cure_period_ended"
    PROBATION_ENDED = "probation_ended"
    RE_DEFAULTED = "re_defaulted"


@dataclass(frozen=True)
class ForbearanceClock:
    """Where a forborne loan stands, with the dates of both clocks."""

    status: ForbearanceStatus
    forborne_on: date
    cure_ends_on: date | None
    probation_starts_on: date | None
    probation_ends_on: date | None


@dataclass(frozen=True)
class Transition:
    event: ForbearanceEvent
    on: date
    clock: ForbearanceClock


def _non_performing_from(day: date, forborne_on: date) -> ForbearanceClock:
    cure_ends = add_months(day, CURE_MONTHS)
    return ForbearanceClock(
        ForbearanceStatus.CURE,
        forborne_on,
        cure_ends,
        cure_ends,
        add_months(cure_ends, PROBATION_MONTHS),
    )


def start_forbearance(on: date, dpd: int) -> ForbearanceClock:
    """The clock of a loan forborne on ``on`` with ``dpd`` days past due."""
    if dpd > NON_PERFORMING_DPD:
        return _non_performing_from(on, on)
    return ForbearanceClock(
        ForbearanceStatus.PROBATION, on, None, on, add_months(on, PROBATION_MONTHS)
    )


def observe(clock: ForbearanceClock, day: date, dpd: int) -> list[Transition]:
    """The transitions of one business day with ``dpd`` days past due (last one wins)."""
    if clock.status is ForbearanceStatus.CURE:
        if clock.cure_ends_on is not None and day >= clock.cure_ends_on and dpd == 0:
            cured = replace(
                clock,
                status=ForbearanceStatus.PROBATION,
                probation_starts_on=day,
                probation_ends_on=add_months(day, PROBATION_MONTHS),
            )
            return [Transition(ForbearanceEvent.CURE_ENDED, day, cured)]
        return []
    if clock.status is ForbearanceStatus.PROBATION:
        if dpd > PROBATION_REDEFAULT_DPD:
            return [
                Transition(
                    ForbearanceEvent.RE_DEFAULTED, day, _non_performing_from(day, clock.forborne_on)
                )
            ]
        if clock.probation_ends_on is not None and day >= clock.probation_ends_on:
            ended = replace(clock, status=ForbearanceStatus.EXITED)
            return [Transition(ForbearanceEvent.PROBATION_ENDED, day, ended)]
    return []


def new_forbearance(clock: ForbearanceClock | None, on: date, dpd: int) -> Transition:
    """Another plan activated on ``on``: a re-default during probation, else a start."""
    if clock is not None and clock.status is ForbearanceStatus.PROBATION:
        return Transition(ForbearanceEvent.RE_DEFAULTED, on, _non_performing_from(on, on))
    if clock is not None and clock.status is ForbearanceStatus.CURE:
        return Transition(ForbearanceEvent.STARTED, on, _non_performing_from(on, on))
    return Transition(ForbearanceEvent.STARTED, on, start_forbearance(on, dpd))
