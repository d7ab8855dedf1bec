"""Restoring a loan's original terms when its restructuring plan breaks.

A product whose restructure policy says ``on_break: restore_original_terms`` gives the
borrower the plan's concessions only while the plan is kept. When it breaks, the loan goes
back to the schedule version in force before the plan: its due dates, amounts and rate.
Everything the plan's booking did is undone, and nothing a payment did is lost:

- every charge the plan booked (the ``transfer`` of unpaid penalty, fees and recognised
  interest onto the first new instalment, what it ``capitalised`` or ``waived``) is
  reversed by an opposite ``restored`` row dated the plan's booking, so those amounts are
  owed again on the instalments they came from, from the day they left them (the replay
  allocates the payments made under the plan to them in the original order). The plan
  closed an instalment's interest by reducing its contract amount, which the restored
  instalment owes again, so that transfer leg is not reversed. The waivers are reinstated: a plan's waiver is a concession
  conditional on performance (the brief is silent; this is what a lender does, and what
  the policy's name says), and capitalised amounts go back from principal to their
  receivables;
- every journal entry the plan booked is reversed (capitalised amounts back from
  ``LOAN_PRINCIPAL`` to the receivables, waived income reinstated, capitalised or added
  deferred interest reversed);
- interest the plan's own instalments recognised is reversed (those instalments are gone),
  and the original instalments' interest due by the restore date but never recognised (the
  plan had replaced them) is recognised now;
- charges booked on the plan's instalments while it ran (a penalty for a missed plan
  instalment) move to the first original instalment the plan replaced (``landing``);
- the caller replays every payment on the restored schedule (``replay_loan``), so what was
  paid stays paid, allocated in the original terms' order, and arrears and days past due
  follow from the original due dates.

Not done here: the penalty the original terms would have accrued while the plan ran (the
overdue service paused and assessed none on the original instalments); the overdue service
assesses from the restore on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from ledger.domain.component import LedgerComponent
from ledger.domain.journal import JournalEntry, interest_due_entry

RESTORED = "restored"


@dataclass(frozen=True)
class ScheduledInstalment:
    """An instalment of a schedule version: its contract amounts and whether its interest
    was recognised in the journal."""

    seq: int
    due_date: date
    principal: int
    interest: int
    interest_recognised: bool = False


@dataclass(frozen=True)
class ChargeLine:
    """A charge row: signed ``amount`` of ``component`` on instalment ``seq``."""

    seq: int
    component: LedgerComponent
    amount: int
    kind: str = ""
    #: When it is booked (None: on the restore date).
    business_date: date | None = None


@dataclass(frozen=True)
class Restoration:
    """What restoring books: the original instalments (contract amounts; ``recognised``
    says whose interest is recognised after the restore), the charge rows and the journal
    entries."""

    instalments: tuple[ScheduledInstalment, ...]
    charges: tuple[ChargeLine, ...]
    entries: tuple[JournalEntry, ...]
    landing: int


def _landing(original: Sequence[ScheduledInstalment], plan_charges: Iterable[ChargeLine]) -> int:
    """The first original instalment the plan replaced: the lowest seq a transfer left."""
    seqs = {i.seq for i in original}
    outs = [c.seq for c in plan_charges if c.amount < 0 and c.seq in seqs and c.kind == "transfer"]
    return min(outs, default=max(seqs))


def _closed_interest(c: ChargeLine, seqs: set[int]) -> bool:
    """A transfer of recognised interest off an original instalment: the plan closed the
    instalment at its paid interest (its contract amount), which the restored instalment
    owes again; the row itself reduced no charge (``net_charges``), so it is not reversed."""
    return c.component is LedgerComponent.INTEREST and c.amount < 0 and c.seq in seqs


def restoration(
    original: Sequence[ScheduledInstalment],
    current: Sequence[ScheduledInstalment],
    charges: Iterable[ChargeLine],
    plan_charges: Sequence[ChargeLine],
    plan_entries: Iterable[JournalEntry],
    *,
    on: date,
    plan_date: date,
    currency: str,
) -> Restoration:
    """The booking that puts the loan back on ``original`` (the version before the plan)
    on ``on``. ``current``: the plan's schedule version; ``charges``: every charge row of
    the loan; ``plan_charges`` and ``plan_entries``: those the plan's booking made."""
    seqs = {i.seq for i in original}
    landing = _landing(original, plan_charges)
    rows = [
        ChargeLine(c.seq, c.component, -c.amount, RESTORED, plan_date)
        for c in plan_charges
        if not _closed_interest(c, seqs)
    ]
    net: dict[tuple[int, LedgerComponent], int] = defaultdict(int)
    for c in [*charges, *rows]:
        net[(c.seq, c.component)] += c.amount
    for (seq, component), amount in sorted(net.items(), key=lambda kv: (kv[0][0], kv[0][1].value)):
        if seq not in seqs and amount:
            rows += [
                ChargeLine(seq, component, -amount, RESTORED),
                ChargeLine(landing, component, amount, RESTORED),
            ]
    entries = [e.reversed(f"restore: reversal of {e.memo}") for e in plan_entries]
    entries += [
        interest_due_entry(i.interest, currency).reversed(
            f"restore: interest of plan instalment {i.seq} reversed"
        )
        for i in current
        if i.seq not in seqs and i.interest_recognised and i.interest > 0
    ]
    restored: list[ScheduledInstalment] = []
    for i in original:
        recognise = not i.interest_recognised and i.due_date <= on and i.interest > 0
        if recognise:
            entries.append(interest_due_entry(i.interest, currency))
        restored.append(
            ScheduledInstalment(
                i.seq,
                i.due_date,
                i.principal,
                i.interest,
                i.interest_recognised or (i.due_date <= on and i.interest > 0),
            )
        )
    return Restoration(tuple(restored), tuple(rows), tuple(entries), landing)
