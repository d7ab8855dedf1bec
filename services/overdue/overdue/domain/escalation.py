"""Collection stages by DPD: current, reminder, early, mid, late, legal.

The ladder gives the DPD at which each stage starts. Separately, a loan becomes a
charge-off candidate at ``charge_off_candidate_dpd``; that is a flag for a human
decision, not a stage, and it does not change the stage.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from lendkit.contracts.policies import EscalationSpec, escalation_problem
from overdue.domain.invalid_policy import InvalidPolicy

_DEFAULT = EscalationSpec()


class Stage(StrEnum):
    CURRENT = "current"
    REMINDER = "reminder"
    EARLY = "early"
    MID = "mid"
    LATE = "late"
    LEGAL = "legal"

    @property
    def rank(self) -> int:
        """0 for current up to 5 for legal; higher is further escalated."""
        return list(Stage).index(self)


@dataclass(frozen=True)
class EscalationLadder:
    """DPD at which each stage starts; must be strictly ascending and start at 1 or later."""

    reminder_dpd: int = _DEFAULT.reminder_dpd
    early_dpd: int = _DEFAULT.early_dpd
    mid_dpd: int = _DEFAULT.mid_dpd
    late_dpd: int = _DEFAULT.late_dpd
    legal_dpd: int = _DEFAULT.legal_dpd
    charge_off_candidate_dpd: int = _DEFAULT.charge_off_candidate_dpd

    def __post_init__(self) -> None:
        steps = self.starts()
        for stage, dpd in steps:
            if isinstance(dpd, bool) or not isinstance(dpd, int):
                raise InvalidPolicy(f"escalation ladder: {stage} must be an int DPD, got {dpd!r}")
        problem = escalation_problem(
            [(stage.value, dpd) for stage, dpd in steps], self.charge_off_candidate_dpd
        )
        if problem:
            raise InvalidPolicy(problem)

    def starts(self) -> list[tuple[Stage, int]]:
        """``(stage, first DPD)`` for every stage after current, in order."""
        return [
            (Stage.REMINDER, self.reminder_dpd),
            (Stage.EARLY, self.early_dpd),
            (Stage.MID, self.mid_dpd),
            (Stage.LATE, self.late_dpd),
            (Stage.LEGAL, self.legal_dpd),
        ]


def stage_for(dpd: int, ladder: EscalationLadder) -> Stage:
    if dpd < 0:
        raise ValueError(f"DPD must not be negative, got {dpd}")
    stage = Stage.CURRENT
    for candidate, start in ladder.starts():
        if dpd >= start:
            stage = candidate
    return stage


def is_charge_off_candidate(dpd: int, ladder: EscalationLadder) -> bool:
    return dpd >= ladder.charge_off_candidate_dpd


@dataclass(frozen=True)
class Escalation:
    stage: Stage
    charge_off_candidate: bool


def escalation_for(dpd: int, ladder: EscalationLadder) -> Escalation:
    return Escalation(stage_for(dpd, ladder), is_charge_off_candidate(dpd, ladder))


class StageTransition(NamedTuple):
    from_stage: Stage
    to_stage: Stage

    @property
    def is_escalation(self) -> bool:
        return self.to_stage.rank > self.from_stage.rank


def stage_transition(previous: Stage, new: Stage) -> StageTransition | None:
    """``None`` when the stage did not change, else the (from, to) pair to announce."""
    if previous == new:
        return None
    return StageTransition(previous, new)


def became_charge_off_candidate(previous_dpd: int, new_dpd: int, ladder: EscalationLadder) -> bool:
    """True only on the observation that first crosses the charge-off-candidate DPD."""
    return not is_charge_off_candidate(previous_dpd, ladder) and is_charge_off_candidate(
        new_dpd, ladder
    )
