"""One simulation: set up products, borrowers and loans through REST, then day by day let the
borrowers act, close the business day, wait until the platform has consumed everything, and
read what it published. At the end: invariants and the report."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lendkit.auth import Role
from simulator.behaviour import (
    Act,
    BorrowerPlan,
    LoanView,
    decide,
    draw,
    portfolio,
    reversal_day,
    vintage_of,
)
from simulator.client import Platform
from simulator.config import SimulationConfig
from simulator.gateway import PaymentOrder, gateway_for
from simulator.observer import Observer
from simulator.record import CapTerms, RunRecord
from simulator.seams import Seams
from simulator.settle import Settler
from simulator.target import PlatformTarget

ROLL_WINDOW_DAYS = 30


@dataclass
class Timings:
    """Where the wall time went: the platform answering requests and doing the day's work
    (close of business), the simulator's own work, waiting for consumer lag to reach 0."""

    setup: float = 0.0
    platform_requests: float = 0.0
    close_of_business: float = 0.0
    waiting_for_lag: float = 0.0
    reading_events: float = 0.0
    invariants: float = 0.0
    total: float = 0.0
    days: list[dict[str, float]] = field(default_factory=list)
    #: waiting_for_lag split by what held the day (``simulator.settle.Settled.blocked_by``)
    waiting_by_hop: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def simulator(self) -> float:
        return max(
            self.total - self.platform_requests - self.close_of_business - self.waiting_for_lag,
            0.0,
        )


@dataclass
class Tallies:
    """What the borrowers did (the simulator's side, beside what the platform recorded)."""

    acts: Counter[str] = field(default_factory=Counter)
    payments: int = 0
    paid_minor: Counter[str] = field(default_factory=Counter)
    reversals: int = 0
    promises_made: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    plans_asked: int = 0
    plans_sent: int = 0
    plans_accepted: int = 0
    call_outcomes: int = 0


ProgressHook = Callable[[int, dict[str, Any]], None]


class Simulation:
    def __init__(
        self,
        config: SimulationConfig,
        target: PlatformTarget,
        progress: ProgressHook | None = None,
        gateway: str = "auto",
    ) -> None:
        self.config = config
        self.target = target
        self.progress = progress
        self.gateway_choice = gateway
        self.timings = Timings()
        self.tallies = Tallies()
        self.notes: list[str] = []
        self.platform = Platform(target, config.concurrency)
        self.start = config.start_date
        self.views: dict[str, LoanView] = {}
        self.product_codes: dict[str, str] = {}
        self.product_policies: dict[str, dict[str, Any]] = {}
        self.reversals_due: dict[int, list[tuple[str, str]]] = {}
        self.platform_summary: list[dict[str, Any]] = []
        self.platform_roll_rates: list[dict[str, Any]] = []

    # -- helpers ----------------------------------------------------------------------

    async def _timed(self, bucket: str, work: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        try:
            return await work
        finally:
            setattr(
                self.timings, bucket, getattr(self.timings, bucket) + time.perf_counter() - started
            )

    async def _gather(self, coros: list[Awaitable[Any]]) -> list[Any]:
        return list(await asyncio.gather(*coros)) if coros else []

    # -- setup ------------------------------------------------------------------------

    async def _clock(self) -> None:
        clock = await self.platform.call("ledger", "GET", "/business-clock")
        if not clock["simulated"]:
            raise RuntimeError(
                "the ledger runs on the wall clock: start it with LEDGER_SIMULATED_CLOCK=true"
            )
        last = clock["last_closed_day"]
        if last is None:
            eve = self.start - timedelta(days=1)
            await self._close(eve)
        elif date.fromisoformat(last) >= self.start:
            moved = date.fromisoformat(last) + timedelta(days=1)
            self.notes.append(
                f"the platform's clock had closed {last}: the run starts on {moved} instead of "
                f"{self.start} (a fresh platform starts on the configured day)"
            )
            self.start = moved

    async def _products(self, tag: str) -> None:
        for p in self.config.products:
            code = f"{p.code}-{tag}"
            self.product_codes[p.code] = code
            body = {
                "code": code,
                "currency": p.currency,
                "annual_rate": str(p.annual_rate),
                "term": p.term,
                "frequency": p.frequency,
                "schedule_type": p.schedule_type,
            }
            if p.absolute_penalty_cap_minor is not None:
                body["overdue_policy"] = {
                    "absolute_penalty_cap_minor": p.absolute_penalty_cap_minor
                }
            published = await self.platform.call(
                "ledger",
                "POST",
                "/products",
                role=Role.ADMIN,
                json=body,
                idempotency_key=f"product-{code}",
            )
            self.product_policies[code] = published

    def _caps(self) -> dict[str, CapTerms]:
        caps = {}
        for code, published in self.product_policies.items():
            policy = published["overdue_policy"]
            caps[code] = CapTerms(
                Decimal(str(policy["annual_cost_ceiling"])),
                policy.get("absolute_penalty_cap_minor"),
            )
        return caps

    async def _disburse(self, plan: BorrowerPlan, today: date) -> None:
        region = plan.region
        await self.platform.call(
            "notifier",
            "POST",
            f"/borrowers/{plan.borrower_id}/contact-profile",
            role=Role.SERVICE,
            json={
                "language": region.language,
                "timezone": region.timezone,
                "jurisdiction": region.jurisdiction,
                "channels": [
                    {"channel": c, "address": _address(plan, c), "priority": 10 * (i + 1)}
                    for i, c in enumerate(plan.channels)
                ],
            },
            idempotency_key=f"profile-{plan.borrower_id}",
        )
        loan = await self.platform.call(
            "ledger",
            "POST",
            "/loans",
            role=Role.OPS,
            json={
                "loan_id": plan.loan_id,
                "borrower_id": plan.borrower_id,
                "product_code": self.product_codes[plan.product.code],
                "principal_minor": plan.principal_minor,
                "disbursed_on": today.isoformat(),
                "timezone": region.timezone,
            },
            idempotency_key=f"loan-{plan.loan_id}",
        )
        due_amounts: dict[date, int] = {}
        for i in loan["instalments"]:
            on = date.fromisoformat(i["due_date"])
            due_amounts[on] = due_amounts.get(on, 0) + i["principal_minor"] + i["interest_minor"]
        self.views[plan.loan_id] = LoanView(due_dates=sorted(due_amounts), due_amounts=due_amounts)

    # -- a day ------------------------------------------------------------------------

    async def _owed(self, plan: BorrowerPlan) -> int:
        owed = await self.platform.call(
            "ledger",
            "GET",
            f"/loans/{plan.loan_id}/owed",
            role=Role.BORROWER,
            borrower_id=plan.borrower_id,
        )
        return int(owed["total_minor"])

    async def _act(self, plan: BorrowerPlan, today: date, day: int) -> PaymentOrder | None:
        view = self.views[plan.loan_id]
        decision = decide(self.config, plan, view, today, day)
        if decision is None:
            return None
        self.tallies.acts[f"{plan.archetype.value}:{decision.act.value}"] += 1
        match decision.act:
            case Act.PROMISE:
                assert decision.promise_date is not None
                view.promise_due = decision.promise_date
                view.promised_for = view.overdue_since
                self.tallies.promises_made += 1
                if self.seams.has("promises"):
                    owed = await self._owed(plan)
                    await self.seams.promise(
                        plan.loan_id, plan.borrower_id, owed, decision.promise_date
                    )
                return None
            case Act.BREAK_PROMISE:
                view.promise_due = None
                self.tallies.promises_broken += 1
                return None
            case Act.ASK_PLAN:
                view.asked_plan = True
                self.tallies.plans_asked += 1
                answer = await self.seams.ask_plan(plan.loan_id, plan.borrower_id, today)
                if answer is not None:
                    self.tallies.plans_sent += 1
                    if answer.get("plan") is not None:
                        self.tallies.plans_accepted += 1
                return None
        if decision.kept:
            view.promise_due = None
            self.tallies.promises_kept += 1
        if (
            view.overdue_since is None
            and today in view.due_amounts
            and decision.act is Act.PAY_IN_FULL
        ):
            # Paying today's instalment on time: the amount the app's schedule shows.
            owed = view.due_amounts[today]
        else:
            owed = await self._owed(plan)  # late: what is owed now, penalties included
        if owed <= 0:
            return None
        amount = owed if decision.act is Act.PAY_IN_FULL else max(int(owed * decision.share), 1)
        return PaymentOrder(plan.loan_id, amount, today, f"pay-{plan.loan_id}-{day}")

    async def _reverse(self, loan_id: str, payment_id: str, today: date) -> None:
        await self.platform.call(
            "ledger",
            "POST",
            f"/loans/{loan_id}/payments/{payment_id}/reversal",
            role=Role.OPS,
            json={"reason": "chargeback (simulated)", "business_date": today.isoformat()},
            idempotency_key=f"reversal-{payment_id}",
        )
        self.tallies.reversals += 1

    async def _close(self, day: date) -> None:
        await self.platform.call(
            "ledger",
            "POST",
            "/close-of-business",
            role=Role.OPS,
            json={"business_date": day.isoformat()},
            idempotency_key=f"cob-{self.target.namespace}{day}",
        )

    async def _day(
        self, day: int, plans_by_day: dict[int, list[BorrowerPlan]], active: list[BorrowerPlan]
    ) -> None:
        today = self.start + timedelta(days=day)
        marks: dict[str, float] = {}
        t0 = time.perf_counter()
        await self.seams.time_of_day(today, "08:00")  # the morning: deferred sends go out
        new = plans_by_day.get(day, [])
        await self._gather([self._disburse(p, today) for p in new])
        active.extend(new)
        await self._gather(
            [self._reverse(loan, paid, today) for loan, paid in self.reversals_due.pop(day, [])]
        )
        orders = [o for o in await self._gather([self._act(p, today, day) for p in active]) if o]
        results = await self.gateway.send(orders) if orders else []
        for r in results:
            if r.payment_id is None:
                raise RuntimeError(f"payment refused: {r.order} {r.error}")
            self.tallies.payments += 1
            plan_currency = self.currency_of[r.order.loan_id]
            self.tallies.paid_minor[plan_currency] += r.order.amount_minor
            back = reversal_day(self.config, r.order.loan_id, day)
            if back is not None and back < self.config.days:
                self.reversals_due.setdefault(back, []).append((r.order.loan_id, r.payment_id))
        t1 = time.perf_counter()
        marks["borrowers"] = t1 - t0
        self.timings.platform_requests += t1 - t0
        # The day's payments settle (their cures and notices decided) before the evening: a
        # daytime notice's first decision (sent now, or deferred to the morning) must not
        # depend on how fast the platform caught up (a restarted service, a slow machine).
        daytime = await self._timed("waiting_for_lag", self.settler.wait())
        for hop, seconds in daytime.blocked_by.items():
            self.timings.waiting_by_hop[hop] += seconds
        await self.seams.time_of_day(today, "23:30")  # the evening: the night's sends wait
        t1b = time.perf_counter()
        await self._timed("close_of_business", self._close(today))
        t2 = time.perf_counter()
        settled = await self._timed("waiting_for_lag", self.settler.wait())
        for hop, seconds in settled.blocked_by.items():
            self.timings.waiting_by_hop[hop] += seconds
        t3 = time.perf_counter()
        self.tallies.call_outcomes += await self.seams.answer_calls(
            lambda task: self._call_outcome(task, today)
        )
        read = await self._timed("reading_events", self.observer.catch_up())
        delivered, cured, overdue = self.record.take_day()
        for loan_id, channels in delivered.items():
            if loan_id in self.views:
                self.views[loan_id].delivered = set(channels)
        for loan_id, since in overdue.items():
            if loan_id in self.views:
                self.views[loan_id].overdue_since = since
        for loan_id in cured:
            if loan_id in self.views:
                self.views[loan_id].overdue_since = None
        for loan_id in self.record.take_settled():
            if loan_id in self.views:
                self.views[loan_id].settled = True
        self.record.end_of_day(ROLL_WINDOW_DAYS)
        summary = await self.platform.call(
            "overdue",
            "GET",
            "/portfolio/summary",
            params={"as_of": today.isoformat()},
            ok=(200, 409),
        )
        self.platform_summary.append(summary if summary and "buckets" in summary else {})
        marks.update(close=t2 - t1b, settle=t3 - t2, events=read, total=time.perf_counter() - t0)
        self.timings.days.append(marks)
        if self.progress is not None:
            self.progress(
                day,
                {
                    "today": today.isoformat(),
                    "events": read,
                    "day_seconds": marks["total"],
                    "payments": len(results),
                    "lags": settled.lag_by_group,
                },
            )

    def _call_outcome(self, task: dict[str, Any], today: date) -> dict[str, Any] | None:
        """The call centre's outcome of an open call task (seeded by loan and day)."""
        roll = draw(self.config.seed, task.get("loan_id"), today, "call").random()
        if roll < 0.4:
            return {"outcome": "no_answer", "automated": False}
        if roll < 0.9:
            return {"outcome": "answered", "automated": False}
        return {"outcome": "wrong_party", "automated": False}

    # -- the run ----------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        from simulator.invariants import check_invariants  # the end-of-run checks
        from simulator.report import build_report

        started = time.perf_counter()
        await self.platform.discover()
        self.seams = Seams(self.platform)
        self.gateway = gateway_for(self.platform, self.gateway_choice)
        await self._clock()
        tag = self.tag = f"S{self.config.seed}-{self.start:%Y%m%d}"
        plans = portfolio(self.config, tag)
        self.plans = {p.loan_id: p for p in plans}
        self.currency_of = {p.loan_id: p.currency for p in plans}
        self.settler = Settler(self.target)
        await self.settler.start()
        self.observer = Observer(self.target, lambda seen: self.record.on_event(seen))
        await self.observer.start()
        self.dead_letter_starts = await self.observer.offsets(
            [self.target.dead_letter_topic(s) for s in self.settler.groups]
        )
        try:
            await self._products(tag)
            self.record = RunRecord(
                self.start,
                {p.loan_id: vintage_of(self.config, p) for p in plans},
                self._caps(),
            )
            self.timings.setup = time.perf_counter() - started
            plans_by_day: dict[int, list[BorrowerPlan]] = {}
            for p in plans:
                plans_by_day.setdefault(p.disbursed_day, []).append(p)
            active: list[BorrowerPlan] = []
            for day in range(self.config.days):
                await self._day(day, plans_by_day, active)
            self.record.final_snapshot()
            await self._platform_rates()
            t = time.perf_counter()
            invariants = await check_invariants(self)
            self.timings.invariants = time.perf_counter() - t
        finally:
            await self.observer.stop()
            await self.settler.close()
            await self.platform.close()
        self.timings.total = time.perf_counter() - started
        return build_report(self, invariants)

    async def _platform_rates(self) -> None:
        """The overdue service's own roll-rate matrices and cure rates, per window."""
        for lo in range(0, self.config.days - 1, ROLL_WINDOW_DAYS):
            hi = min(lo + ROLL_WINDOW_DAYS, self.config.days - 1)
            params = {
                "from": (self.start + timedelta(days=lo)).isoformat(),
                "to": (self.start + timedelta(days=hi)).isoformat(),
            }
            rolls = await self.platform.call(
                "overdue", "GET", "/portfolio/roll-rates", params=params, ok=(200, 404, 422)
            )
            cure = await self.platform.call(
                "overdue", "GET", "/portfolio/cure-rate", params=params, ok=(200, 404, 422)
            )
            self.platform_roll_rates.append(
                {
                    "from_day": lo,
                    "to_day": hi,
                    "counts": (rolls or {}).get("counts"),
                    "cure_rate": (cure or {}).get("cure_rate"),
                }
            )


def _address(plan: BorrowerPlan, channel: str) -> str:
    n = plan.index
    return {
        "sms": f"+1555{n:07d}",
        "call": f"+1555{n:07d}",
        "email": f"b{n}@example.test",
        "push": f"push-token-{plan.borrower_id}",
    }[channel]
