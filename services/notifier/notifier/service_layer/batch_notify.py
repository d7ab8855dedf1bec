"""The one decide-and-record path: triggers (or due deferred attempts) decided by the stage's
contact strategy and the contact policy, and recorded, set-based. ``handlers.notify`` (one
trigger) is a batch of one; the consumer's batch mode hands whole runs of triggers here, and
the dispatcher the deferred sends that are due (``decide_many``). Whichever way a trigger
comes, the same rules apply: the stage's channels, the strategy version and stage in the
reasons, the strategy's cadence, call tasks when the stage asks for calls, the product's
notification policy; a handful of statements per batch.

Attempts of one batch cannot change each other's decisions: messages are decided on the
profile, the hour, the opt-outs and the messages already *sent* (the cadence), and only call
outcomes (recorded elsewhere) count towards the call caps."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from lendkit.contracts import notifier
from lendkit.contracts.policies import NotificationPolicySpec
from lendkit.events import CloudEvent, new_event
from notifier.adapters.repository import AttemptState, ProductTerms
from notifier.domain.digest import is_urgent
from notifier.domain.policy import (
    Channel,
    ContactPolicy,
    ContactRequest,
    ContactRules,
    Decision,
    Jurisdiction,
    Outcome,
    PastCall,
    QuietHours,
    Rule,
)
from notifier.domain.profile import (
    CALL_TASK,
    OPT_OUT_CONFIRMATION,
    ContactProfile,
    Trigger,
    Whereabouts,
)
from notifier.domain.strategy import NO_CALL_PURPOSES, PURPOSE_STAGE, ContactStrategy, StageStrategy
from notifier.domain.templates import TEMPLATE_VERSION
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

POLICY = ContactPolicy()

#: A stage cadence's repeated contact (``handlers.remind_on_cadence``).
COLLECTION_REMINDER = "collection_reminder"

#: How far back a call task's decision counts calls (the widest call cap's window).
CALLS_LOOKBACK = timedelta(days=31)


def rules_from(spec: NotificationPolicySpec) -> ContactRules:
    """A product's notification policy as the contact policy's rules (stricter, never looser:
    the spec bounds each cap by its regulatory maximum)."""
    defaults = ContactRules()
    quiet = dict(defaults.quiet_hours)
    for q in spec.quiet_hours:
        quiet[Jurisdiction(q.jurisdiction if q.jurisdiction in ("CN", "US") else "other")] = (
            QuietHours(time.fromisoformat(q.start), time.fromisoformat(q.end))
        )
    return ContactRules(
        quiet_hours=quiet,
        calls_per_window=spec.max_call_attempts_per_7_days,
        days_after_conversation=spec.no_calls_days_after_conversation,
        unanswered_per_number_per_day=spec.max_unanswered_attempts_per_day_per_number,
        robot_connected_per_day=spec.max_connected_voice_calls_per_day,
    )


def attempt_id_of(trigger: Trigger) -> str:
    return str(uuid5(NAMESPACE_URL, trigger.trigger_key))


def call_trigger(trigger: Trigger, key: str) -> Trigger:
    return replace(trigger, trigger_key=key, context={**trigger.context, "kind": CALL_TASK})


def policy_of(terms: ProductTerms | None, parsed: dict[str, ContactPolicy]) -> ContactPolicy:
    """The contact policy of a loan's product terms (the default without a notification
    policy); each distinct policy parsed once into ``parsed``."""
    if terms is None or not terms.notification_policy:
        return POLICY
    key = json.dumps(terms.notification_policy, sort_keys=True)
    if key not in parsed:
        spec = NotificationPolicySpec.model_validate(terms.notification_policy)
        parsed[key] = ContactPolicy(rules_from(spec))
    return parsed[key]


@dataclass(slots=True)
class Facts:
    """What the decisions of one batch read, read once for the batch."""

    strategy: ContactStrategy
    profiles: dict[str, ContactProfile]
    stages: dict[str, str]
    terms: dict[str, ProductTerms]
    last_messages: dict[str, datetime]
    calls: dict[str, tuple[PastCall, ...]] = field(default_factory=dict)
    _policies: dict[str, ContactPolicy] = field(default_factory=dict)

    def stage_of(self, attempt: AttemptState) -> str:
        known = self.stages.get(attempt.loan_id or "")
        return known or PURPOSE_STAGE.get(attempt.purpose, "reminder")

    def policy_of(self, loan_id: str | None) -> ContactPolicy:
        return policy_of(self.terms.get(loan_id or ""), self._policies)

    def asks_for_call(self, attempt: AttemptState) -> bool:
        """A message trigger whose stage's strategy asks for a call, to a borrower with a
        phone (prevention and good news never ask for one)."""
        profile = self.profiles.get(attempt.borrower_id)
        return (
            attempt.context.get("kind") is None
            and attempt.purpose not in NO_CALL_PURPOSES
            and self.strategy.for_stage(self.stage_of(attempt)).call
            and profile is not None
            and any(c.channel is Channel.CALL for c in profile.channels)
        )


async def read_facts(
    uow: NotifierUnitOfWork, attempts: Sequence[AttemptState], now: datetime
) -> Facts:
    strategy = await uow.strategies.current()
    loans = {a.loan_id for a in attempts if a.loan_id}
    cadence = any(s.cadence_days > 0 for s in strategy.stages.values())
    facts = Facts(
        strategy=strategy,
        profiles=await uow.batch.profiles(a.borrower_id for a in attempts),
        stages=await uow.batch.stages_of(loans),
        terms=await uow.batch.terms_of_loans(loans),
        last_messages=await uow.batch.last_messages(loans) if cadence else {},
    )
    await read_calls(uow, facts, attempts, now)
    return facts


async def read_calls(
    uow: NotifierUnitOfWork, facts: Facts, attempts: Sequence[AttemptState], now: datetime
) -> None:
    """The past calls of the borrowers of call tasks among ``attempts`` into ``facts``."""
    borrowers = {a.borrower_id for a in attempts if a.context.get("kind") == CALL_TASK}
    borrowers -= set(facts.calls)
    if borrowers:
        found = await uow.batch.past_calls(borrowers, now - CALLS_LOOKBACK)
        facts.calls.update({b: found.get(b, ()) for b in borrowers})


def _bare_request(
    attempt: AttemptState,
    timezone: str | None,
    jurisdiction: Jurisdiction,
    now: datetime,
    opted_out: frozenset[Channel] = frozenset(),
) -> ContactRequest:
    """The policy's question for ``attempt`` at ``now`` with no channel yet: who, which
    debt, where (the zone whose quiet hours count) and what is opted out."""
    return ContactRequest(
        borrower_id=attempt.borrower_id,
        debt_id=attempt.loan_id or "",
        purpose=attempt.purpose,
        now=now,
        channels=(),
        addresses={},
        timezone=timezone,
        jurisdiction=jurisdiction,
        opted_out=opted_out,
        mandatory=attempt.mandatory,
    )


def _request(
    attempt: AttemptState, profile: ContactProfile, facts: Facts, now: datetime
) -> tuple[ContactRequest, list[str], StageStrategy | None]:
    """The policy's question for one attempt: a call task (the call channel only, with the
    calls made), an opt-out confirmation (only the channel just opted out), or a message by
    the stage's strategy; with the reasons to record and the stage's strategy."""
    kind = attempt.context.get("kind")
    by_priority = profile.by_priority()
    opted_out = frozenset(c.channel for c in profile.channels if c.opted_out)
    base = _bare_request(attempt, profile.timezone, profile.jurisdiction, now, opted_out)
    if kind == CALL_TASK:
        request = replace(
            base,
            channels=[Channel.CALL],
            addresses={c.channel: c.address_id for c in by_priority if c.channel is Channel.CALL},
            calls=facts.calls.get(attempt.borrower_id, ()),
            automated_call=attempt.context.get("automated") == "true",
            mandatory=False,
        )
        return request, ["call task"], None
    if kind == OPT_OUT_CONFIRMATION:
        channel = Channel(attempt.context["channel"])
        request = replace(
            base,
            channels=[channel],
            addresses={c.channel: c.address_id for c in by_priority if c.channel is channel},
            opted_out=opted_out - {channel},
        )
        return request, ["the one confirmation of an opt-out"], None
    stage = facts.stage_of(attempt)
    stage_strategy = facts.strategy.for_stage(stage)
    ordered = stage_strategy.message_channels(tuple(c.channel for c in by_priority))
    request = replace(
        base,
        channels=ordered[:1],
        addresses={c.channel: c.address_id for c in by_priority if c.channel is not Channel.CALL},
    )
    return request, [f"strategy v{facts.strategy.version} stage {stage}"], stage_strategy


def decide(
    attempt: AttemptState, facts: Facts, now: datetime
) -> tuple[Decision, str | None, list[str]]:
    """One attempt's decision, the address id of its channel and the notes for its reasons
    (pure: everything read is in ``facts``)."""
    profile = facts.profiles.get(attempt.borrower_id)
    if profile is None:
        decision = Decision(
            Outcome.UNDELIVERABLE if attempt.mandatory else Outcome.SUPPRESSED,
            rule=Rule.NO_ADDRESS,
            reasons=("no contact profile",),
        )
        return decision, None, []
    request, notes, stage_strategy = _request(attempt, profile, facts, now)
    if attempt.purpose == COLLECTION_REMINDER and facts.stages.get(attempt.loan_id or "") in (
        None,
        "current",
    ):
        # A cadence reminder decided again (deferred by quiet hours) after the loan was cured.
        decision = Decision(
            Outcome.SUPPRESSED, rule=Rule.NO_LONGER_OVERDUE, reasons=("the loan is current",)
        )
        return decision, None, notes
    decision = facts.policy_of(attempt.loan_id).decide(request)
    if (
        decision.outcome is not Outcome.SUPPRESSED
        and stage_strategy is not None
        and not is_urgent(attempt.purpose, attempt.mandatory)
        and not stage_strategy.cadence_allows(facts.last_messages.get(attempt.loan_id or ""), now)
    ):
        decision = Decision(
            Outcome.SUPPRESSED,
            rule=Rule.STRATEGY_CADENCE,
            reasons=(f"a message within {stage_strategy.cadence_days} days",),
        )
    address_id = None
    if decision.channel is not None:
        address_id = next(c.address_id for c in profile.channels if c.channel is decision.channel)
    return decision, address_id, notes


async def _start_many(uow: NotifierUnitOfWork, triggers: Sequence[Trigger]) -> list[AttemptState]:
    """The first rows of the triggers not decided before, as attempts (a trigger decided before,
    or twice in ``triggers``, is left out)."""
    started = await uow.batch.start_many(
        [
            {
                "attempt_id": attempt_id_of(t),
                "trigger_key": t.trigger_key,
                "borrower_id": t.borrower_id,
                "loan_id": t.loan_id,
                "purpose": t.purpose,
                "mandatory": t.mandatory,
                "context": t.context,
            }
            for t in triggers
        ]
    )
    fresh: dict[str, AttemptState] = {}
    for t in triggers:
        key = attempt_id_of(t)
        if key in started and key not in fresh:
            fresh[key] = AttemptState(
                attempt_id=key,
                trigger_key=t.trigger_key,
                borrower_id=t.borrower_id,
                loan_id=t.loan_id,
                purpose=t.purpose,
                mandatory=t.mandatory,
                state="decided",
                channel=None,
                address_id=None,
                template=None,
                template_version=None,
                context=t.context,
            )
    return list(fresh.values())


async def notify_many(
    uow: NotifierUnitOfWork, triggers: Sequence[Trigger], now: datetime
) -> dict[str, Decision]:
    """Decide and record every trigger not decided before, with the call task its stage asks
    for; the decisions made now, by trigger key (call tasks opened beside them left out)."""
    fresh = await _start_many(uow, triggers)
    if not fresh:
        return {}
    facts = await read_facts(uow, fresh, now)
    decided = await _with_calls(uow, fresh, facts, now)
    await _write(uow, decided)
    return {a.trigger_key: d for a, d in zip(fresh, decided.decisions, strict=False)}


async def decide_many(
    uow: NotifierUnitOfWork, attempts: Sequence[AttemptState], now: datetime
) -> list[Decision]:
    """Decide and record attempts already started (a deferred send due again); in order.
    A message no longer deferred opens the call task its stage asks for, as a fresh
    trigger's."""
    if not attempts:
        return []
    facts = await read_facts(uow, attempts, now)
    decided = await _with_calls(uow, attempts, facts, now)
    await _write(uow, decided)
    return decided.decisions[: len(attempts)]


async def _with_calls(
    uow: NotifierUnitOfWork, attempts: Sequence[AttemptState], facts: Facts, now: datetime
) -> _Decided:
    """The attempts' decisions, then the call tasks of those not deferred whose stage asks
    for a call, started and decided. A deferred message opens its call when its deferral
    ends and it is decided again (``decide_many``), on the loan's stage at that moment: so
    the call does not depend on which topic's fact (a broken plan, the stage change of the
    same close) arrived first in the night."""
    decided = _decided(attempts, facts, now, uow.source)
    going = [
        a
        for a, d in zip(attempts, decided.decisions, strict=True)
        if d.outcome is not Outcome.DEFERRED and facts.asks_for_call(a)
    ]
    calls = await _start_many(
        uow, [call_trigger(_as_trigger(a), f"call:{a.trigger_key}") for a in going]
    )
    if calls:
        await read_calls(uow, facts, calls, now)
        decided.extend(_decided(calls, facts, now, uow.source))
    return decided


def _as_trigger(attempt: AttemptState) -> Trigger:
    return Trigger(
        trigger_key=attempt.trigger_key,
        loan_id=attempt.loan_id or "",
        borrower_id=attempt.borrower_id,
        purpose=attempt.purpose,
        mandatory=attempt.mandatory,
        context=attempt.context,
    )


async def redecide_quiet(
    uow: NotifierUnitOfWork,
    queued: Sequence[AttemptState],
    whereabouts: Mapping[str, Whereabouts],
    now: datetime,
) -> set[str]:
    """Queued sends that would go out in quiet hours at ``now`` (decided before the hour
    turned: a dispatcher behind, a clock moved) decided again at ``now``: deferred to the
    next allowed moment, as a fresh trigger would be; their ids. The rest are left as they
    are. The hour is checked on the borrowers' zones and jurisdictions alone
    (``whereabouts``) and their products' rules; only the quiet ones are read in full and
    decided again."""
    if not queued:
        return set()
    terms = await uow.batch.terms_of_loans({a.loan_id for a in queued if a.loan_id})
    parsed: dict[str, ContactPolicy] = {}
    quiet = []
    for attempt in queued:
        where = whereabouts.get(attempt.borrower_id)
        if where is None:
            continue
        request = _bare_request(attempt, where.timezone, where.jurisdiction, now)
        if policy_of(terms.get(attempt.loan_id or ""), parsed).quiet_at(request):
            quiet.append(attempt)
    if quiet:
        await _record_decisions(uow, quiet, await read_facts(uow, quiet, now), now)
    return {a.attempt_id for a in quiet}


@dataclass(slots=True)
class _Decided:
    """Decisions of a batch and what recording them writes: rows, deferrals, events."""

    decisions: list[Decision] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[tuple[str, datetime]] = field(default_factory=list)
    events: list[CloudEvent] = field(default_factory=list)

    def extend(self, other: _Decided) -> None:
        self.decisions.extend(other.decisions)
        self.rows.extend(other.rows)
        self.deferred.extend(other.deferred)
        self.events.extend(other.events)


def _decided(
    attempts: Sequence[AttemptState], facts: Facts, now: datetime, source: str
) -> _Decided:
    """Each attempt decided (pure), with its row, deferral and event."""
    out = _Decided()
    for attempt in attempts:
        decision, address_id, notes = decide(attempt, facts, now)
        row, event = _recorded(attempt, decision, address_id, notes, now, source)
        out.rows.append(row)
        out.decisions.append(decision)
        if decision.outcome is Outcome.DEFERRED:
            assert decision.until is not None
            out.deferred.append((attempt.attempt_id, decision.until))
        if event is not None:
            out.events.append(event)
    return out


async def _write(uow: NotifierUnitOfWork, decided: _Decided) -> None:
    await uow.batch.append_many(decided.rows)
    await uow.batch.defer_many(decided.deferred)
    await uow.emit_all(decided.events)


async def _record_decisions(
    uow: NotifierUnitOfWork, attempts: Sequence[AttemptState], facts: Facts, now: datetime
) -> list[Decision]:
    decided = _decided(attempts, facts, now, uow.source)
    await _write(uow, decided)
    return decided.decisions


def attempt_row(attempt: AttemptState, state: str, **fields: Any) -> dict[str, Any]:
    """A new row of the attempt for ``BatchRecord.append_many``: the attempt's own columns,
    the new state, and ``fields`` over them."""
    return {
        "attempt_id": attempt.attempt_id,
        "trigger_key": attempt.trigger_key,
        "borrower_id": attempt.borrower_id,
        "loan_id": attempt.loan_id,
        "purpose": attempt.purpose,
        "mandatory": attempt.mandatory,
        "channel": attempt.channel,
        "address_id": attempt.address_id,
        "template": attempt.template,
        "template_version": attempt.template_version,
        "context": attempt.context,
        "state": state,
        "provider": None,
        "reasons": [],
        "until": None,
        "occurred_at": None,
        **fields,
    }


def _recorded(
    attempt: AttemptState,
    decision: Decision,
    address_id: str | None,
    notes: list[str],
    now: datetime,
    source: str,
) -> tuple[dict[str, Any], CloudEvent | None]:
    """The decision's row of the record and its event (None for a queued send or a call task,
    which the call centre lists: ``GET /call-tasks``)."""
    channel = decision.channel.value if decision.channel else None
    call = attempt.context.get("kind") == CALL_TASK
    state = {
        Outcome.SENT: "task_open" if call else "queued",
        Outcome.DEFERRED: "deferred",
    }.get(decision.outcome, decision.outcome.value)
    row = attempt_row(
        attempt,
        state,
        channel=channel,
        address_id=address_id,
        rule=decision.rule.value if decision.rule else None,
        reasons=[*notes, *decision.reasons],
        template=attempt.purpose,
        template_version=TEMPLATE_VERSION,
        until=decision.until if decision.outcome is Outcome.DEFERRED else None,
    )
    loan_id = attempt.loan_id or ""
    if decision.outcome is Outcome.SENT:
        return row, None
    if decision.outcome is Outcome.DEFERRED:
        assert decision.until is not None and channel is not None
        payload: Any = notifier.MessageDeferred(
            loan_id=loan_id,
            message_id=attempt.attempt_id,
            borrower_id=attempt.borrower_id,
            purpose=attempt.purpose,
            channel=channel,
            until=decision.until,
            decided_at=now,
        )
    else:
        payload = notifier.MessageSuppressed(
            loan_id=loan_id,
            message_id=attempt.attempt_id,
            borrower_id=attempt.borrower_id,
            purpose=attempt.purpose,
            rule=(decision.rule or Rule.NO_ALLOWED_CHANNEL).value,
            undeliverable=decision.outcome is Outcome.UNDELIVERABLE,
            decided_at=now,
        )
    return row, new_event(payload, source=source)
