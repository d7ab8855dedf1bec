"""The behaviour model: who the borrowers are and what each does on a business day.

Pure: no I/O. Every draw comes from its own ``random.Random`` seeded by a string naming the
run's seed, the borrower and the question (``"42/L00017/day 12/pay"``), so a decision never
depends on the order in which others were drawn: the same seed gives the same portfolio and
the same decisions, whatever the concurrency of the run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from simulator.config import ProductSpec, RegionSpec, SimulationConfig

CHANNEL_ORDER = ("push", "sms", "email", "call")


class Archetype(StrEnum):
    ON_TIME = "on_time"
    FORGETFUL = "forgetful"
    HARDSHIP = "hardship"
    PROMISER = "promiser"
    DEFAULTER = "defaulter"


def draw(seed: int, *parts: object) -> random.Random:
    """The random stream for one question; a string seed hashes the same in every process."""
    return random.Random("/".join([str(seed), *map(str, parts)]))  # noqa: S311 - simulation


def _weighted(rng: random.Random, items: list[tuple[str, float]]) -> str:
    total = sum(w for _, w in items)
    point = rng.random() * total
    for name, weight in items:
        point -= weight
        if point < 0:
            return name
    return items[-1][0]


@dataclass(frozen=True)
class BorrowerPlan:
    """One borrower and their one loan, as the portfolio generator drew them."""

    index: int
    borrower_id: str
    loan_id: str
    archetype: Archetype
    product: ProductSpec
    region: RegionSpec
    channels: tuple[str, ...]
    principal_minor: int
    disbursed_day: int  # simulated day index of the disbursement

    @property
    def currency(self) -> str:
        return self.product.currency


def portfolio(config: SimulationConfig, tag: str) -> list[BorrowerPlan]:
    """The run's borrowers and loans; ``tag`` makes their ids unique on a shared platform."""
    products = [(p.code, p.weight) for p in config.products]
    by_code = {p.code: p for p in config.products}
    regions = [(str(i), r.weight) for i, r in enumerate(config.regions)]
    archetypes = list(config.archetypes.weights().items())
    plans = []
    for i in range(config.loans):
        rng = draw(config.seed, "borrower", i)
        product = by_code[_weighted(rng, products)]
        region = config.regions[int(_weighted(rng, regions))]
        archetype = Archetype(_weighted(rng, archetypes))
        if rng.random() < config.no_channel:
            channels: tuple[str, ...] = ()
        else:
            channels = tuple(
                c for c in CHANNEL_ORDER if rng.random() < config.channels.get(c, 0.0)
            ) or ("sms",)
        low, high = product.principal
        principal = rng.randint(low, high) * 100
        plans.append(
            BorrowerPlan(
                index=i,
                borrower_id=f"{tag}-B{i:06d}",
                loan_id=f"{tag}-L{i:06d}",
                archetype=archetype,
                product=product,
                region=region,
                channels=channels,
                principal_minor=principal,
                disbursed_day=rng.randrange(config.disbursement_days),
            )
        )
    return plans


@dataclass
class LoanView:
    """What the borrower knows of their loan (from the platform's answers and messages)."""

    due_dates: list[date]
    #: What the schedule asks on each due date (principal + interest), as the app shows it.
    due_amounts: dict[date, int] = field(default_factory=dict)
    #: The oldest unpaid due date while the overdue service says the loan is overdue.
    overdue_since: date | None = None
    #: Channels of messages delivered to the borrower since they last acted.
    delivered: set[str] = field(default_factory=set)
    promise_due: date | None = None
    promised_for: date | None = None  # the delinquency (overdue_since) a promise was made for
    asked_plan: bool = False
    settled: bool = False


class Act(StrEnum):
    PAY_IN_FULL = "pay_in_full"
    PAY_PART = "pay_part"
    PROMISE = "promise"
    ASK_PLAN = "ask_plan"
    BREAK_PROMISE = "break_promise"


@dataclass(frozen=True)
class Decision:
    act: Act
    share: float = 1.0
    promise_date: date | None = None
    kept: bool | None = None  # for a payment on a promise's day: a promise kept


def decide(
    config: SimulationConfig, plan: BorrowerPlan, view: LoanView, today: date, day: int
) -> Decision | None:
    """What the borrower does today, or None. ``day`` is the simulated day's index."""
    if view.settled:
        return None
    due_today = today in view.due_dates
    overdue_days = (today - view.overdue_since).days if view.overdue_since else 0
    if not due_today and view.overdue_since is None and view.promise_due is None:
        return None
    rng = draw(config.seed, plan.loan_id, day, "act")
    a = config.archetypes
    match plan.archetype:
        case Archetype.ON_TIME:
            if due_today or view.overdue_since is not None:
                return Decision(Act.PAY_IN_FULL)
        case Archetype.FORGETFUL:
            chance = a.forgetful.pay_on_due if due_today else a.forgetful.pay_daily
            if view.overdue_since is not None:
                chance += max(
                    (a.forgetful.reminder_boost.get(c, 0.0) for c in view.delivered), default=0.0
                )
            if rng.random() < min(chance, 1.0):
                return Decision(Act.PAY_IN_FULL)
        case Archetype.HARDSHIP:
            h = a.hardship
            late_enough = view.overdue_since is not None and overdue_days >= h.asks_plan_after_dpd
            if late_enough and not view.asked_plan:
                return Decision(Act.ASK_PLAN)
            roll = rng.random()
            if roll < h.pay_daily:
                return Decision(Act.PAY_IN_FULL)
            if roll < h.pay_daily + h.partial_daily:
                return Decision(Act.PAY_PART, share=h.partial_share)
        case Archetype.PROMISER:
            p = a.promiser
            if view.promise_due is not None and today >= view.promise_due:
                kept = draw(config.seed, plan.loan_id, view.promise_due, "keep").random()
                if kept < p.keeps_promise:
                    return Decision(Act.PAY_IN_FULL, kept=True)
                return Decision(Act.BREAK_PROMISE, kept=False)
            if (
                view.overdue_since is not None
                and overdue_days >= p.promise_after_dpd
                and view.promised_for != view.overdue_since
                and view.promise_due is None
            ):
                return Decision(Act.PROMISE, promise_date=today + timedelta(days=p.promise_in_days))
            if rng.random() < p.pay_daily:
                return Decision(Act.PAY_IN_FULL)
        case Archetype.DEFAULTER:
            if rng.random() < a.defaulter.pay_daily:
                return Decision(Act.PAY_IN_FULL)
    return None


def reversal_day(config: SimulationConfig, loan_id: str, day: int) -> int | None:
    """The day a payment made on ``day`` is charged back, or None (most are not)."""
    rng = draw(config.seed, loan_id, day, "reversal")
    if rng.random() >= config.reversals.share:
        return None
    low, high = config.reversals.after_days
    return day + rng.randint(low, high)


def vintage_of(config: SimulationConfig, plan: BorrowerPlan) -> int:
    return plan.disbursed_day // config.vintage_days
