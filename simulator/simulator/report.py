"""The run's report: ``results`` (the same for the same seed, config and start day: compared
by the tests), ``wall_clock`` (figures that depend on when the run happened, such as the
notifier's sent-now versus deferred-to-daytime split while its time of day is the wall
clock), ``timings`` and the invariants.

The figure functions are pure: they take the record's series and return plain data."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from simulator.record import CURRENT, Contact

if TYPE_CHECKING:
    from simulator.invariants import Invariant
    from simulator.runner import Simulation

BUCKET_ORDER = ("current", "1-30", "31-60", "61-90", "91-120", "120+")


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


def ordered_buckets(names: Iterable[str]) -> list[str]:
    names = set(names)
    known = [b for b in BUCKET_ORDER if b in names]
    return known + sorted(names - set(known))


def bucket_distribution(days: list[dict[str, tuple[int, int]]]) -> dict[str, Any]:
    """Per day and bucket: loans and outstanding principal."""
    names = ordered_buckets({b for d in days for b in d})
    return {
        "buckets": names,
        "loans": {b: [d.get(b, (0, 0))[0] for d in days] for b in names},
        "principal_minor": {b: [d.get(b, (0, 0))[1] for d in days] for b in names},
    }


def roll_rates(
    snapshots: Mapping[int, Mapping[str, tuple[str, int]]],
) -> dict[str, Any]:
    """Roll-rate matrices between consecutive snapshots (summed over windows): from a
    loan's bucket at a window's start to its bucket at the window's end, by count and by
    outstanding principal at the start. Loans disbursed during a window join at the next."""
    days = sorted(snapshots)
    count: dict[str, Counter[str]] = defaultdict(Counter)
    balance: dict[str, Counter[str]] = defaultdict(Counter)
    for lo, hi in pairwise(days):
        start, end = snapshots[lo], snapshots[hi]
        for loan_id, (bucket, principal) in start.items():
            to = end.get(loan_id, (bucket, 0))[0]
            count[bucket][to] += 1
            balance[bucket][to] += principal
    names = ordered_buckets(set(count) | {b for row in count.values() for b in row})

    def matrix(m: dict[str, Counter[str]]) -> dict[str, Any]:
        return {
            "values": {a: {b: m[a][b] for b in names} for a in names},
            "rates": {a: {b: _rate(m[a][b], sum(m[a].values())) for b in names} for a in names},
        }

    return {
        "windows": [[a, b] for a, b in pairwise(days)],
        "buckets": names,
        "by_count": matrix(count),
        "by_balance": matrix(balance),
    }


def cure_rates(snapshots: Mapping[int, Mapping[str, tuple[str, int]]]) -> list[dict[str, Any]]:
    """Per window: of the loans delinquent at its start, the share current at its end."""
    days = sorted(snapshots)
    out = []
    for lo, hi in pairwise(days):
        start, end = snapshots[lo], snapshots[hi]
        late = [i for i, (b, _) in start.items() if b != CURRENT]
        cured = sum(1 for i in late if end.get(i, (CURRENT, 0))[0] == CURRENT)
        out.append(
            {
                "from_day": lo,
                "to_day": hi,
                "delinquent": len(late),
                "cured": cured,
                "cure_rate": _rate(cured, len(late)),
            }
        )
    return out


def vintage_curves(
    by_day: list[dict[int, tuple[int, int]]], vintage_days: int
) -> dict[str, list[float | None]]:
    """Per vintage (disbursement week): share of its loans past due, by days on book
    (counted from the vintage's first day)."""
    vintages = sorted({v for d in by_day for v in d})
    curves: dict[str, list[float | None]] = {}
    for v in vintages:
        first = v * vintage_days
        curves[f"week {v + 1}"] = [
            _rate(by_day[day][v][1], by_day[day][v][0]) if v in by_day[day] else None
            for day in range(first, len(by_day))
        ]
    return curves


def contacts(items: Iterable[Contact]) -> dict[str, Any]:
    """The notifier's first decision on each message: attempted (sent now or deferred to
    the borrower's daytime), by channel, purpose and the loan's escalation stage that day;
    suppressed by rule."""
    items = list(items)
    attempted = [c for c in items if c.first_outcome in ("sent", "deferred", "failed")]
    suppressed = [c for c in items if c.first_outcome == "suppressed"]
    return {
        "attempted": len(attempted),
        "by_channel": dict(sorted(Counter(c.channel or "none" for c in attempted).items())),
        "by_purpose": dict(sorted(Counter(c.purpose for c in attempted).items())),
        "by_stage": dict(sorted(Counter(c.stage for c in attempted).items())),
        "suppressed": len(suppressed),
        "suppressed_by_rule": dict(
            sorted(
                Counter(
                    ("undeliverable" if c.undeliverable else c.rule or "?") for c in suppressed
                ).items()
            )
        ),
    }


def right_party_contact(items: Iterable[Contact], delivered: Mapping[str, int]) -> dict[str, Any]:
    """Right-party contact: an attempt that reached the borrower's own address (the
    provider's delivery receipt). Calls need the call centre's outcome (a conversation with
    the borrower), which the notifier records once it has the call-outcome route; until
    then a delivered call counts as reached."""
    tried = [c for c in items if c.outcome in ("sent", "failed")]
    reached = [c for c in tried if delivered.get(c.message_id)]
    by_channel = {}
    for ch in sorted({c.channel or "none" for c in tried}):
        t = [c for c in tried if (c.channel or "none") == ch]
        r = [c for c in t if delivered.get(c.message_id)]
        by_channel[ch] = {"attempts": len(t), "reached": len(r), "rate": _rate(len(r), len(t))}
    return {
        "attempts": len(tried),
        "reached": len(reached),
        "rate": _rate(len(reached), len(tried)),
        "by_channel": by_channel,
    }


def digest(results: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(results, sort_keys=True).encode()).hexdigest()


def build_report(sim: Simulation, invariants: list[Invariant]) -> dict[str, Any]:
    cfg, rec, t = sim.config, sim.record, sim.tallies
    dates = [(sim.start + timedelta(days=d)).isoformat() for d in range(cfg.days)]
    all_contacts = list(rec.contacts.values())
    portfolio: Counter[str] = Counter()
    for p in sim.plans.values():
        portfolio[f"product:{p.product.code}"] += 1
        portfolio[f"currency:{p.currency}"] += 1
        portfolio[f"zone:{p.region.timezone}"] += 1
        portfolio[f"language:{p.region.language}"] += 1
        portfolio[f"archetype:{p.archetype.value}"] += 1
    platform_types = {k: v for k, v in sorted(rec.types.items()) if not k.startswith("notifier.")}
    restructure_available = sim.seams.has("restructure_requests")
    results: dict[str, Any] = {
        "run": {
            "seed": cfg.seed,
            "loans": cfg.loans,
            "days": cfg.days,
            "start_date": sim.start.isoformat(),
            "config_digest": digest(cfg.model_dump(mode="json")),
        },
        "dates": dates,
        "portfolio": dict(sorted(portfolio.items())),
        "behaviour": {
            "acts": dict(sorted(t.acts.items())),
            "payments": t.payments,
            "paid_minor": dict(sorted(t.paid_minor.items())),
            "reversals": t.reversals,
        },
        "events": platform_types,
        "allocations_minor": rec.allocated_totals(),
        "bucket_distribution": bucket_distribution(rec.buckets_by_day),
        "roll_rates": roll_rates(rec.snapshots),
        "cure_rate": cure_rates(rec.snapshots),
        "platform_roll_rates": sim.platform_roll_rates,
        "vintage_curves": vintage_curves(rec.vintage_by_day, cfg.vintage_days),
        "penalties": {
            "income_minor": {c: list(v) for c, v in sorted(rec.penalty_income.items())},
            "waived_minor": {c: list(v) for c, v in sorted(rec.waivers.items())},
            "caps_applied": dict(sorted(rec.caps_applied.items())),
        },
        "contacts": contacts(all_contacts),
        "promises": {
            "source": "restructure service"
            if sim.seams.has("promises")
            else "the simulated borrowers (not registered: "
            + sim.seams.skipped.get("promises", "")
            + ")",
            "made": t.promises_made,
            "kept": t.promises_kept,
            "broken": t.promises_broken,
            "kept_rate": _rate(t.promises_kept, t.promises_kept + t.promises_broken),
        },
        "restructuring": {
            "available": restructure_available,
            "skipped": sim.seams.skipped.get("restructure_requests"),
            "asked": t.plans_asked,
            "sent": t.plans_sent,
            "plans_accepted_by_borrowers": t.plans_accepted,
            "no_open_offer": len(sim.seams.refused),
            "accepted": sum(
                v for k, v in rec.plan_events.items() if k.startswith("restructure.plan.accepted")
            ),
            "schedules_rewritten": rec.plan_events.get("schedule_rewritten", 0),
            "completed": 0,
            "broken": 0,
            "uptake_rate": None,
            "completion_rate": None,
            "break_rate": None,
        },
    }
    accepted = results["restructuring"]["accepted"]
    if t.plans_asked:
        results["restructuring"]["uptake_rate"] = _rate(accepted, t.plans_asked)
    outcomes = Counter(c.outcome for c in all_contacts)
    wall_clock = {
        "note": "the notifier's time of day is the wall clock: whether an attempt went out at "
        "once or waited for the borrower's daytime depends on when the run happened",
        "contact_outcomes": dict(sorted(outcomes.items())),
        "right_party_contact": right_party_contact(all_contacts, rec.delivered_ids),
        "reallocations": {
            "note": "a payment that arrives while the close of business of its value date "
            "runs is booked before or after that close's charges, as it happens to arrive; "
            "booked before, the charge re-allocates it. The final allocations are the same "
            "either way (results.allocations_minor); re-allocations by reversals and "
            "back-dated payments are counted here too",
            "by_type": dict(sorted(rec.reallocations.items())),
        },
        "notifier_events": {
            k: v for k, v in sorted(rec.types.items()) if k.startswith("notifier.")
        },
        "platform_bucket_summary": sim.platform_summary,
    }
    tm = sim.timings
    days = tm.days
    total_events = sum(int(d.get("events", 0)) for d in days)
    timings = {
        "wall_seconds": round(tm.total, 3),
        "setup_seconds": round(tm.setup, 3),
        "platform_requests_seconds": round(tm.platform_requests, 3),
        "close_of_business_seconds": round(tm.close_of_business, 3),
        "waiting_for_lag_seconds": round(tm.waiting_for_lag, 3),
        "reading_events_seconds": round(tm.reading_events, 3),
        "invariants_seconds": round(tm.invariants, 3),
        "simulator_seconds": round(tm.simulator, 3),
        "loan_days_per_second": round(cfg.loans * cfg.days / tm.total, 1) if tm.total else None,
        "events_per_second": round(total_events / tm.total, 1) if tm.total else None,
        "per_day": [{k: round(v, 4) for k, v in d.items()} for d in days],
        "requests": {
            k: {"count": n, "seconds": round(sim.platform.stats.seconds[k], 3)}
            for k, n in sorted(sim.platform.stats.count.items())
        },
        "waiting_by_hop_seconds": {
            k: round(v, 3) for k, v in sorted(tm.waiting_by_hop.items(), key=lambda kv: -kv[1])
        },
        "payment_gateway": sim.gateway.name,
        "note": "platform_requests: wall time of the days' borrower phases (disbursements, "
        "reads of what is owed, payments, reversals: concurrent REST calls, so the platform "
        "answering them); "
        "close_of_business: the ledger's answer to the close; waiting_for_lag: until every "
        "consumer group's lag and every outbox is 0 (waiting_by_hop_seconds: each poll charged "
        "to what still held the day: lag:<service> its consumer group behind, "
        "outbox:<service> its relay not yet published, notifier:queued sends not yet made, "
        "check the confirming reads); simulator: the rest (its own work, "
        "reading events, invariants, setup)",
    }
    return {
        "results": results,
        "results_digest": digest(results),
        "invariants": [i.as_dict() for i in invariants],
        "invariants_passed": all(i.passed for i in invariants),
        "skipped_behaviours": dict(sim.seams.skipped),
        "notes": list(sim.notes),
        "wall_clock": wall_clock,
        "timings": timings,
    }
