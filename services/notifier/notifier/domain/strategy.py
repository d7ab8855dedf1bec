"""Contact strategy per collection stage: versioned configuration of which channels are used,
in what order, at what cadence, and whether the stage asks the call centre for a call.

A stage is one of the escalation ladder's (``lendkit.contracts.policies.StageName``:
current, reminder, early, mid, late, legal). Each version is stored whole (``POST
/contact-strategies`` writes version N + 1; attempts record the version that decided them),
as the products' policies are published whole. Version 0 is the built-in default below.

- ``channels``: the message channels in order; a message goes by the first of them the
  borrower has (a mandatory notice falls back to the others, see ``ContactPolicy``);
  an empty tuple means the borrower's own channel priority.
- ``call``: the stage asks for a call; the call is a task for the call centre (an
  integrator), decided by the contact policy like any attempt (the call caps).
- ``cadence_days``: at most one non-urgent message about one loan in that many local days
  while the loan is in the stage (0: no limit; the digest still makes one message a day).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from notifier.domain.policy import Channel

STAGES = ("current", "reminder", "early", "mid", "late", "legal")

#: Which stage a trigger belongs to when the loan's own stage is not known yet.
PURPOSE_STAGE: Mapping[str, str] = MappingProxyType(
    {
        "upcoming_reminder": "current",
        "due_reminder": "current",
        "became_overdue": "reminder",
        "cured": "current",
    }
)

#: Purposes that never ask for a call, whatever the stage: prevention, a promise's own
#: reminder and the good news.
NO_CALL_PURPOSES = frozenset({"upcoming_reminder", "due_reminder", "promise_due", "cured"})


@dataclass(frozen=True, slots=True)
class StageStrategy:
    channels: tuple[Channel, ...] = ()
    call: bool = False
    cadence_days: int = 0

    def message_channels(self, available: tuple[Channel, ...]) -> tuple[Channel, ...]:
        """The stage's message channels the borrower has, in the strategy's order (the
        borrower's own priority order when the strategy names none)."""
        if not self.channels:
            return tuple(c for c in available if c is not Channel.CALL)
        return tuple(c for c in self.channels if c in available and c is not Channel.CALL)

    def cadence_allows(self, last_message_at: datetime | None, now: datetime) -> bool:
        """False when a message about the loan went out less than ``cadence_days`` ago."""
        if self.cadence_days <= 0 or last_message_at is None:
            return True
        return now - last_message_at >= timedelta(days=self.cadence_days)


def _default_stages() -> Mapping[str, StageStrategy]:
    calls = StageStrategy(call=True)
    return MappingProxyType(
        {
            "current": StageStrategy(),
            "reminder": StageStrategy(),
            "early": calls,
            "mid": calls,
            "late": calls,
            "legal": calls,
        }
    )


@dataclass(frozen=True, slots=True)
class ContactStrategy:
    version: int = 0
    stages: Mapping[str, StageStrategy] = field(default_factory=_default_stages)

    def for_stage(self, stage: str) -> StageStrategy:
        return self.stages.get(stage) or StageStrategy()


DEFAULT_STRATEGY = ContactStrategy()
