"""What happened to the portfolio, from the events the platform published (pure: fed
``Seen`` events and end-of-day marks, no I/O). The report's figures are computed here."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from simulator.observer import Seen

CURRENT = "current"


@dataclass
class LoanFacts:
    loan_id: str
    borrower_id: str
    product_code: str
    currency: str
    principal_minor: int
    disbursed_on: date
    vintage: int
    interest_by_due: list[tuple[date, int]]
    principal_left: dict[int, int]
    bucket: str = CURRENT
    stage: str = "none"
    overdue_since: date | None = None
    ever_overdue: bool = False
    penalty_to_date: int = 0

    @property
    def outstanding_principal(self) -> int:
        return sum(self.principal_left.values())

    def interest_due_by(self, on: date) -> int:
        return sum(i for d, i in self.interest_by_due if d <= on)


@dataclass(frozen=True)
class CapTerms:
    annual_cost_ceiling: Decimal
    absolute_penalty_cap_minor: int | None


@dataclass
class Contact:
    loan_id: str
    message_id: str
    purpose: str
    channel: str | None
    stage: str
    outcome: str  # sent, deferred, suppressed, failed
    rule: str | None = None
    undeliverable: bool = False
    at: datetime | None = None
    #: Until when a deferred send waits (the borrower's next allowed moment).
    until: datetime | None = None
    #: The notifier's first decision (sent, deferred, suppressed): the run's own; the
    #: outcome may change later in wall-clock time (a deferred send going out).
    first_outcome: str = ""


class RunRecord:
    """Folds the run's events into per-loan state and the report's series."""

    def __init__(self, start: date, vintage_of: dict[str, int], caps: dict[str, CapTerms]):
        self.start = start
        self.vintage_of = vintage_of
        self.caps = caps
        self.loans: dict[str, LoanFacts] = {}
        self.types: Counter[str] = Counter()
        #: Re-allocations by type, apart from ``types``: whether a payment that arrives while
        #: its value date's close of business runs is booked before or after that close's
        #: charges is a matter of arrival; when before, the charge re-allocates it. The final
        #: allocation is the same either way (``allocations``).
        self.reallocations: Counter[str] = Counter()
        #: Each payment's allocation as its latest (re-)allocation has it:
        #: payment id -> (currency, component -> amount).
        self.allocations: dict[str, tuple[str, Counter[str]]] = {}
        self.reversed_payments: set[str] = set()
        self.event_ids: Counter[str] = Counter()
        self.day = 0
        self.penalty_income: dict[str, list[int]] = defaultdict(list)
        self.waivers: dict[str, list[int]] = defaultdict(list)
        self.caps_applied: Counter[str] = Counter()
        self.penalty_keys: Counter[tuple[str, int, str]] = Counter()
        self.penalty_event_ids: dict[str, tuple[str, int]] = {}
        self.bookings_by_source: Counter[str] = Counter()
        self.cap_breaches: list[str] = []
        self.contacts: dict[str, Contact] = {}
        self.contacts_today: list[Contact] = []
        self.sent_ids: Counter[str] = Counter()
        self.delivered_ids: Counter[str] = Counter()
        self.delivered_today: dict[str, set[str]] = defaultdict(set)
        self.became_overdue: set[str] = set()
        self.cured_today: set[str] = set()
        self.overdue_today: dict[str, date] = {}
        self.plan_events: Counter[str] = Counter()
        self.settled: set[str] = set()
        self.settled_today: set[str] = set()
        # per day: bucket -> (loans, outstanding principal); vintage -> (loans, overdue)
        self.buckets_by_day: list[dict[str, tuple[int, int]]] = []
        self.vintage_by_day: list[dict[int, tuple[int, int]]] = []
        self.snapshots: dict[int, dict[str, tuple[str, int]]] = {}

    # -- events -----------------------------------------------------------------------

    def _ensure_day(self, currency: str, series: dict[str, list[int]]) -> list[int]:
        row = series[currency]
        while len(row) <= self.day:
            row.append(0)
        return row

    def on_event(self, seen: Seen) -> None:
        self.event_ids[seen.id] += 1
        if self.event_ids[seen.id] > 1:
            return  # a re-delivered copy of an event already folded in (at-least-once)
        d = seen.data
        if d.get("reallocation") is True:
            self.reallocations[seen.type] += 1
        else:
            self.types[seen.type] += 1
        handler = _HANDLERS.get(seen.type.rsplit(".", 1)[0])
        if handler is not None:
            handler(self, seen, d)

    def _disbursed(self, seen: Seen, d: dict[str, Any]) -> None:
        loan_id = d["loan_id"]
        if loan_id not in self.vintage_of:
            return  # another run's loan on a shared platform
        self.loans[loan_id] = LoanFacts(
            loan_id=loan_id,
            borrower_id=d["borrower_id"],
            product_code=d["product_code"],
            currency=d["currency"],
            principal_minor=d["principal_minor"],
            disbursed_on=date.fromisoformat(d["disbursed_on"]),
            vintage=self.vintage_of[loan_id],
            interest_by_due=[
                (date.fromisoformat(i["due_date"]), i["interest_minor"]) for i in d["instalments"]
            ],
            principal_left={i["seq"]: i["principal_minor"] for i in d["instalments"]},
        )

    def _balances(self, seen: Seen, d: dict[str, Any]) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is None:
            return
        for b in d.get("balances", []):
            loan.principal_left[b["seq"]] = b["principal_minor"]

    def _allocated(self, seen: Seen, d: dict[str, Any]) -> None:
        if d["loan_id"] not in self.loans:
            return
        self._balances(seen, d)
        by_component: Counter[str] = Counter()
        for line in d["lines"]:
            by_component[line["component"]] += line["amount_minor"]
        if d.get("credit_minor"):
            by_component["credit"] += d["credit_minor"]
        self.allocations[d["payment_id"]] = (d["currency"], by_component)

    def _reversed(self, seen: Seen, d: dict[str, Any]) -> None:
        if d["loan_id"] not in self.loans:
            return
        self._balances(seen, d)
        self.reversed_payments.add(d["payment_id"])

    def allocated_totals(self) -> dict[str, dict[str, int]]:
        """What the standing (not reversed) payments paid, by currency and component, as
        their latest allocations have it."""
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for payment_id, (currency, by_component) in self.allocations.items():
            if payment_id not in self.reversed_payments:
                totals[currency].update(by_component)
        return {c: dict(sorted(v.items())) for c, v in sorted(totals.items())}

    def _rewritten(self, seen: Seen, d: dict[str, Any]) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is None:
            return
        loan.principal_left = {b["seq"]: b["principal_minor"] for b in d["balances"]}
        self.plan_events["schedule_rewritten"] += 1

    def _charge(self, seen: Seen, d: dict[str, Any]) -> None:
        if d["loan_id"] not in self.loans:
            return
        self.bookings_by_source[d["source_event_id"]] += 1
        self._balances(seen, d)

    def _overdue(self, seen: Seen, d: dict[str, Any]) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is None:
            return
        loan.bucket = d["bucket"]
        loan.overdue_since = date.fromisoformat(d["oldest_unpaid_due_date"])
        loan.ever_overdue = True
        self.became_overdue.add(loan.loan_id)
        self.overdue_today[loan.loan_id] = loan.overdue_since

    def _bucket(self, seen: Seen, d: dict[str, Any]) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is not None:
            loan.bucket = d["to_bucket"]
            if d["to_bucket"] == CURRENT:
                loan.overdue_since = None

    def _cured(self, seen: Seen, d: dict[str, Any]) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is not None:
            loan.bucket = CURRENT
            loan.overdue_since = None
            self.cured_today.add(loan.loan_id)

    def _settled(self, seen: Seen, d: dict[str, Any]) -> None:
        if d["loan_id"] in self.loans:
            self.settled.add(d["loan_id"])
            self.settled_today.add(d["loan_id"])

    def take_settled(self) -> set[str]:
        done, self.settled_today = self.settled_today, set()
        return done

    def _stage(self, seen: Seen, d: dict[str, Any]) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is not None:
            loan.stage = d["to_stage"]

    def _penalty(self, seen: Seen, d: dict[str, Any]) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is None:
            return
        on = date.fromisoformat(d["business_date"])
        self.penalty_keys[(loan.loan_id, d["seq"], d["business_date"])] += 1
        amount = int(d["amount_minor"])
        self._ensure_day(loan.currency, self.penalty_income)[self.day] += amount
        if d.get("cap_applied"):
            self.caps_applied[d["cap_applied"]] += 1
        loan.penalty_to_date += amount
        if amount > 0:
            self.penalty_event_ids[seen.id] = (loan.loan_id, d["seq"])
            self._check_caps(loan, on)

    def _check_caps(self, loan: LoanFacts, on: date) -> None:
        caps = self.caps.get(loan.product_code)
        if caps is None:
            return
        if (
            caps.absolute_penalty_cap_minor is not None
            and loan.penalty_to_date > caps.absolute_penalty_cap_minor
        ):
            self.cap_breaches.append(
                f"{loan.loan_id}: penalty {loan.penalty_to_date} over the absolute cap "
                f"{caps.absolute_penalty_cap_minor} on {on}"
            )
        elapsed = (on - loan.disbursed_on).days + 1
        num, den = caps.annual_cost_ceiling.as_integer_ratio()
        ceiling = (loan.principal_minor * num * elapsed) // (den * 365)
        cost = loan.interest_due_by(on) + loan.penalty_to_date
        if cost > ceiling:
            self.cap_breaches.append(
                f"{loan.loan_id}: interest+penalty {cost} over the annual cost ceiling "
                f"{ceiling} on {on}"
            )

    def _waived(self, seen: Seen, d: dict[str, Any]) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is not None:
            self._ensure_day(loan.currency, self.waivers)[self.day] += int(d["amount_minor"])

    def _contact(self, seen: Seen, d: dict[str, Any], outcome: str) -> None:
        loan = self.loans.get(d["loan_id"])
        if loan is None:
            return
        at = d.get("sent_at") or d.get("decided_at") or d.get("failed_at")
        moment = datetime.fromisoformat(at) if at else None
        until = (
            datetime.fromisoformat(d["until"]) if outcome == "deferred" and d.get("until") else None
        )
        known = self.contacts.get(d["message_id"])
        if known is not None:
            # A later decision on the same message (a deferred send going out, or
            # re-decided): its final outcome; the first decision stays what it was.
            known.outcome = outcome
            known.channel = d.get("channel") or known.channel
            known.rule = d.get("rule") or d.get("reason") or known.rule
            known.undeliverable = known.undeliverable or bool(d.get("undeliverable"))
            known.at = moment or known.at
            known.until = until
            return
        contact = Contact(
            loan_id=loan.loan_id,
            message_id=d["message_id"],
            purpose=d["purpose"],
            channel=d.get("channel"),
            stage=loan.stage,
            outcome=outcome,
            rule=d.get("rule") or d.get("reason"),
            undeliverable=bool(d.get("undeliverable")),
            at=moment,
            until=until,
            first_outcome=outcome,
        )
        self.contacts[d["message_id"]] = contact
        self.contacts_today.append(contact)
        if outcome in ("sent", "deferred") and d.get("channel"):
            # The borrower hears of it on the simulated day it was decided: sent now, or
            # deferred to their local daytime (the notifier's time of day is the wall
            # clock until the simulator drives it), so the behaviour never depends on the
            # hour the run happens at; a deferred send going out later is not news again.
            self.delivered_today[loan.loan_id].add(d["channel"])

    def _sent(self, seen: Seen, d: dict[str, Any]) -> None:
        self.sent_ids[d["message_id"]] += 1
        self._contact(seen, d, "sent")

    def _delivered(self, seen: Seen, d: dict[str, Any]) -> None:
        if d["loan_id"] not in self.loans:
            return
        self.delivered_ids[d["message_id"]] += 1
        self.delivered_today[d["loan_id"]].add(d["channel"])

    def _plan(self, seen: Seen, d: dict[str, Any]) -> None:
        if d.get("loan_id") in self.loans:
            self.plan_events[seen.type] += 1

    # -- days -------------------------------------------------------------------------

    def take_day(self) -> tuple[dict[str, set[str]], set[str], dict[str, date]]:
        """The day's news for the borrowers (delivered channels, cured, became overdue)."""
        news = (dict(self.delivered_today), set(self.cured_today), dict(self.overdue_today))
        self.delivered_today.clear()
        self.cured_today.clear()
        self.overdue_today.clear()
        return news

    def end_of_day(self, snapshot_every: int) -> None:
        """Record the day's bucket distribution and vintage delinquency, then move on."""
        buckets: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        vintages: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for loan in self.loans.values():
            b = buckets[loan.bucket]
            b[0] += 1
            b[1] += loan.outstanding_principal
            v = vintages[loan.vintage]
            v[0] += 1
            v[1] += loan.bucket != CURRENT
        for contact in self.contacts_today:
            # The loan's stage once the day's events are all in (the order in which two
            # topics are read within a day must not matter).
            contact.stage = self.loans[contact.loan_id].stage
        self.contacts_today.clear()
        self.buckets_by_day.append({k: (v[0], v[1]) for k, v in sorted(buckets.items())})
        self.vintage_by_day.append({k: (v[0], v[1]) for k, v in sorted(vintages.items())})
        if self.day % snapshot_every == 0:
            self.snapshots[self.day] = {
                i: (loan.bucket, loan.outstanding_principal) for i, loan in self.loans.items()
            }
        self.day += 1
        for series in (self.penalty_income, self.waivers):
            for row in series.values():
                while len(row) < self.day:
                    row.append(0)

    def final_snapshot(self) -> None:
        last = self.day - 1
        self.snapshots[last] = {
            i: (loan.bucket, loan.outstanding_principal) for i, loan in self.loans.items()
        }


_HANDLERS = {
    "ledger.loan.disbursed": RunRecord._disbursed,
    "ledger.payment.allocated": RunRecord._allocated,
    "ledger.payment.reversed": RunRecord._reversed,
    "ledger.schedule.rewritten": RunRecord._rewritten,
    "ledger.charge.booked": RunRecord._charge,
    "ledger.loan.settled": RunRecord._settled,
    "overdue.loan.became_overdue": RunRecord._overdue,
    "overdue.loan.bucket_changed": RunRecord._bucket,
    "overdue.loan.cured": RunRecord._cured,
    "overdue.loan.stage_changed": RunRecord._stage,
    "overdue.penalty.assessed": RunRecord._penalty,
    "overdue.penalty.waived": RunRecord._waived,
    "notifier.message.sent": RunRecord._sent,
    "notifier.message.delivered": RunRecord._delivered,
    "notifier.message.failed": lambda r, s, d: r._contact(s, d, "failed"),
    "notifier.message.suppressed": lambda r, s, d: r._contact(s, d, "suppressed"),
    "notifier.message.deferred": lambda r, s, d: r._contact(s, d, "deferred"),
    "restructure.plan.accepted": RunRecord._plan,
}


def local_time(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))
