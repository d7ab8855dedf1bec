"""The contact policy: checked before every attempt, each decision carrying its reason.

Pure domain: no clock, no database. The caller passes "now" (an aware datetime), the
borrower's contact facts and the attempts already made; ``ContactPolicy.decide`` answers
sent (go now, on this channel), deferred (until the next allowed moment), suppressed (by a
named rule) or undeliverable (a mandatory notice with no allowed channel left, for ops).

Rules (docs/notifier.md):

- quiet hours in the borrower's own timezone by jurisdiction (CN 22:00-08:00, US 21:00-08:00,
  default 21:00-08:00); an unknown timezone allows only the window allowed in every candidate
  zone of the jurisdiction; a send in quiet hours is deferred, never dropped;
- calls: at most 7 attempts per debt in any 7 consecutive local days, and 7 per person across
  debts; none within 7 days after a conversation (its day is day 1); at most 6 unanswered
  attempts per local day per number; at most 3 connected automated calls per borrower per
  day; calls the borrower starts are not counted;
- an opted-out channel is never used; a mandatory notice falls back to another allowed
  channel, or is undeliverable; no third-party contact ever.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Channel(StrEnum):
    PUSH = "push"
    SMS = "sms"
    EMAIL = "email"
    CALL = "call"


class Jurisdiction(StrEnum):
    CN = "CN"
    US = "US"
    OTHER = "other"


class CallOutcome(StrEnum):
    NO_ANSWER = "no_answer"
    ANSWERED = "answered"
    CONVERSATION = "conversation"
    WRONG_PARTY = "wrong_party"
    PROMISE_TO_PAY = "promise_to_pay"


CONNECTED = frozenset({CallOutcome.ANSWERED, CallOutcome.CONVERSATION, CallOutcome.PROMISE_TO_PAY})
CONVERSED = frozenset({CallOutcome.CONVERSATION, CallOutcome.PROMISE_TO_PAY})


class Outcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    SUPPRESSED = "suppressed"
    UNDELIVERABLE = "undeliverable"


class Rule(StrEnum):
    """The named rule behind a decision that is not an immediate send."""

    QUIET_HOURS = "quiet_hours"
    NO_COMMON_WINDOW = "no_common_window"
    OPT_OUT = "opt_out"
    NO_ADDRESS = "no_address"
    THIRD_PARTY = "third_party"
    DEBT_CALLS_7_IN_7_DAYS = "debt_calls_7_in_7_days"
    PERSON_CALLS_7_IN_7_DAYS = "person_calls_7_in_7_days"
    AFTER_CONVERSATION_7_DAYS = "after_conversation_7_days"
    UNANSWERED_PER_NUMBER_PER_DAY = "unanswered_per_number_per_day"
    ROBOT_CONNECTED_PER_DAY = "robot_connected_per_day"
    NO_ALLOWED_CHANNEL = "no_allowed_channel"
    STRATEGY_CADENCE = "strategy_cadence"
    NO_LONGER_OVERDUE = "no_longer_overdue"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local times between ``start`` and ``end`` (wrapping midnight when start > end) are quiet."""

    start: time
    end: time

    def is_quiet(self, local: time) -> bool:
        if self.start > self.end:
            return local >= self.start or local < self.end
        return self.start <= local < self.end

    def next_allowed(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The first allowed instant at or after ``moment`` in ``zone`` (an aware datetime)."""
        local = moment.astimezone(zone)
        if not self.is_quiet(local.time().replace(tzinfo=None)):
            return moment
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        # The wall-clock end of quiet hours on that local day, resolved through zoneinfo so a
        # DST change in between is honoured (08:00 EST is 13:00 UTC, 08:00 EDT 12:00 UTC).
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(moment.tzinfo)


_DEFAULT_QUIET = QuietHours(time(21, 0), time(8, 0))


def _default_quiet_hours() -> Mapping[Jurisdiction, QuietHours]:
    return {
        Jurisdiction.CN: QuietHours(time(22, 0), time(8, 0)),
        Jurisdiction.US: QuietHours(time(21, 0), time(8, 0)),
        Jurisdiction.OTHER: _DEFAULT_QUIET,
    }


def _default_candidate_zones() -> Mapping[Jurisdiction, tuple[str, ...]]:
    return {
        Jurisdiction.CN: ("Asia/Shanghai", "Asia/Urumqi"),
        Jurisdiction.US: (
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Anchorage",
            "Pacific/Honolulu",
        ),
        Jurisdiction.OTHER: ("UTC",),
    }


@dataclass(frozen=True, slots=True)
class ContactRules:
    """The configurable numbers of the policy (per portfolio); the defaults are the brief's."""

    quiet_hours: Mapping[Jurisdiction, QuietHours] = field(default_factory=_default_quiet_hours)
    default_quiet_hours: QuietHours = _DEFAULT_QUIET
    candidate_zones: Mapping[Jurisdiction, tuple[str, ...]] = field(
        default_factory=_default_candidate_zones
    )
    calls_per_window: int = 7
    window_days: int = 7
    days_after_conversation: int = 7
    unanswered_per_number_per_day: int = 6
    robot_connected_per_day: int = 3

    def quiet_for(self, jurisdiction: Jurisdiction) -> QuietHours:
        return self.quiet_hours.get(jurisdiction, self.default_quiet_hours)


@dataclass(frozen=True, slots=True)
class PastCall:
    """A call attempt already made to the borrower (any of their debts)."""

    at: datetime
    debt_id: str
    number_id: str
    outcome: CallOutcome
    automated: bool = False
    borrower_initiated: bool = False


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """One wish to contact a borrower about one debt.

    ``channels`` is the strategy's order; ``addresses`` maps each channel the borrower has to
    an opaque address id (never the number itself); ``opted_out`` the channels they refused.
    """

    borrower_id: str
    debt_id: str
    purpose: str
    now: datetime
    channels: Sequence[Channel]
    addresses: Mapping[Channel, str]
    timezone: str | None = None
    jurisdiction: Jurisdiction = Jurisdiction.OTHER
    opted_out: frozenset[Channel] = frozenset()
    mandatory: bool = False
    automated_call: bool = False
    to_third_party: bool = False
    calls: tuple[PastCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    channel: Channel | None = None
    until: datetime | None = None
    rule: Rule | None = None
    reasons: tuple[str, ...] = ()

    @property
    def sends(self) -> bool:
        return self.outcome is Outcome.SENT


def _zones(request: ContactRequest, rules: ContactRules) -> tuple[ZoneInfo, ...]:
    if request.timezone:
        try:
            return (ZoneInfo(request.timezone),)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    names = rules.candidate_zones.get(request.jurisdiction) or ("UTC",)
    return tuple(ZoneInfo(name) for name in names)


def next_allowed_moment(
    moment: datetime, quiet: QuietHours, zones: Sequence[ZoneInfo]
) -> datetime | None:
    """The first instant at or after ``moment`` allowed in every zone, or None within 3 days."""
    limit = moment + timedelta(days=3)
    current = moment
    while current <= limit:
        later = max(quiet.next_allowed(current, zone) for zone in zones)
        if later == current:
            return current
        current = later
    return None


class ContactPolicy:
    def __init__(self, rules: ContactRules | None = None) -> None:
        self.rules = rules or ContactRules()

    def decide(self, request: ContactRequest) -> Decision:
        if request.to_third_party:
            return Decision(Outcome.SUPPRESSED, rule=Rule.THIRD_PARTY, reasons=("third party",))
        zones = _zones(request, self.rules)
        candidates = list(dict.fromkeys(request.channels))
        if request.mandatory:
            candidates += [c for c in request.addresses if c not in candidates]
        reasons: list[str] = []
        first_rule: Rule | None = None
        chosen: Channel | None = None
        for channel in candidates:
            rule = self._refusal(request, channel, zones[0])
            if rule is None:
                chosen = channel
                break
            reasons.append(f"{channel}: {rule}")
            first_rule = first_rule or rule
        if chosen is None:
            if request.mandatory:
                return Decision(
                    Outcome.UNDELIVERABLE, rule=Rule.NO_ALLOWED_CHANNEL, reasons=tuple(reasons)
                )
            return Decision(
                Outcome.SUPPRESSED,
                rule=first_rule or Rule.NO_ALLOWED_CHANNEL,
                reasons=tuple(reasons),
            )
        quiet = self.rules.quiet_for(request.jurisdiction)
        allowed = next_allowed_moment(request.now, quiet, zones)
        if allowed is None:
            return Decision(
                Outcome.SUPPRESSED,
                channel=chosen,
                rule=Rule.NO_COMMON_WINDOW,
                reasons=(*reasons, "no window allowed in every candidate zone"),
            )
        if allowed != request.now:
            return Decision(
                Outcome.DEFERRED,
                channel=chosen,
                until=allowed,
                rule=Rule.QUIET_HOURS,
                reasons=(*reasons, f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M}"),
            )
        return Decision(Outcome.SENT, channel=chosen, reasons=tuple(reasons))

    def quiet_at(self, request: ContactRequest) -> bool:
        """Whether ``request.now`` lies in the quiet hours of the borrower's zone (or of any
        candidate zone of their jurisdiction): a message decided earlier and not sent yet
        must not go out at such a moment."""
        quiet = self.rules.quiet_for(request.jurisdiction)
        return next_allowed_moment(request.now, quiet, _zones(request, self.rules)) != request.now

    def _refusal(self, request: ContactRequest, channel: Channel, zone: ZoneInfo) -> Rule | None:
        if channel in request.opted_out:
            return Rule.OPT_OUT
        if channel not in request.addresses:
            return Rule.NO_ADDRESS
        if channel is Channel.CALL:
            return self._call_refusal(request, request.addresses[channel], zone)
        return None

    def _call_refusal(self, request: ContactRequest, number_id: str, zone: ZoneInfo) -> Rule | None:
        rules = self.rules
        today = request.now.astimezone(zone).date()
        counted = [c for c in request.calls if not c.borrower_initiated]

        def local_day(call: PastCall) -> date:
            return call.at.astimezone(zone).date()

        def within(days: int, calls: Iterable[PastCall]) -> list[PastCall]:
            first = today - timedelta(days=days - 1)
            return [c for c in calls if first <= local_day(c) <= today]

        if any(c.outcome in CONVERSED for c in within(rules.days_after_conversation, counted)):
            return Rule.AFTER_CONVERSATION_7_DAYS
        window = within(rules.window_days, counted)
        if sum(1 for c in window if c.debt_id == request.debt_id) >= rules.calls_per_window:
            return Rule.DEBT_CALLS_7_IN_7_DAYS
        if len(window) >= rules.calls_per_window:
            return Rule.PERSON_CALLS_7_IN_7_DAYS
        day = within(1, counted)
        unanswered = sum(
            1 for c in day if c.number_id == number_id and c.outcome is CallOutcome.NO_ANSWER
        )
        if unanswered >= rules.unanswered_per_number_per_day:
            return Rule.UNANSWERED_PER_NUMBER_PER_DAY
        if request.automated_call:
            robots = sum(1 for c in day if c.automated and c.outcome in CONNECTED)
            if robots >= rules.robot_connected_per_day:
                return Rule.ROBOT_CONNECTED_PER_DAY
        return None
