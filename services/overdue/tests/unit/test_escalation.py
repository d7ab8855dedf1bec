"""Collection stages by DPD."""

import pytest

from overdue.domain.escalation import (
    EscalationLadder,
    Stage,
    became_charge_off_candidate,
    escalation_for,
    is_charge_off_candidate,
    stage_for,
    stage_transition,
)

pytestmark = pytest.mark.unit

LADDER = EscalationLadder()


@pytest.mark.parametrize(
    ("dpd", "stage"),
    [
        (0, Stage.CURRENT),
        (1, Stage.REMINDER),
        (3, Stage.REMINDER),
        (4, Stage.EARLY),
        (30, Stage.EARLY),
        (31, Stage.MID),
        (60, Stage.MID),
        (61, Stage.LATE),
        (90, Stage.LATE),
        (91, Stage.LEGAL),
        (500, Stage.LEGAL),
    ],
)
def test_default_ladder_stage_at_each_edge(dpd: int, stage: Stage) -> None:
    assert stage_for(dpd, LADDER) is stage


def test_charge_off_candidate_from_dpd_180_without_changing_the_stage() -> None:
    assert not is_charge_off_candidate(179, LADDER)
    assert escalation_for(180, LADDER).charge_off_candidate
    assert escalation_for(180, LADDER).stage is Stage.LEGAL
    assert became_charge_off_candidate(179, 180, LADDER)
    assert not became_charge_off_candidate(180, 181, LADDER)


def test_stage_transition_only_when_the_stage_changes() -> None:
    assert stage_transition(Stage.EARLY, Stage.EARLY) is None
    up = stage_transition(Stage.EARLY, Stage.MID)
    assert up == (Stage.EARLY, Stage.MID)
    assert up is not None
    assert up.is_escalation
    down = stage_transition(Stage.LATE, Stage.CURRENT)
    assert down is not None
    assert not down.is_escalation


def test_custom_ladder_moves_the_edges() -> None:
    ladder = EscalationLadder(reminder_dpd=2, early_dpd=8, mid_dpd=20, late_dpd=45, legal_dpd=60)
    assert stage_for(1, ladder) is Stage.CURRENT
    assert stage_for(8, ladder) is Stage.EARLY
    assert stage_for(60, ladder) is Stage.LEGAL


def test_the_published_stage_names_are_the_ladders_stages() -> None:
    from typing import get_args

    from lendkit.contracts.policies import StageName

    assert list(get_args(StageName)) == [stage.value for stage in Stage]
