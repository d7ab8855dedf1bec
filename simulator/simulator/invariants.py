"""The invariants every run checks at its end; a failed one fails the run with its list.

Sources, per check: ``rest`` (the services' own API), ``events`` (what the platform
published during the run, read from Kafka), ``database`` (the services' databases, read
only, where no route answers the question for the whole book), ``broker`` (Kafka offsets).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from simulator.record import RunRecord, local_time

if TYPE_CHECKING:
    from simulator.runner import Simulation

MAX_LISTED = 20
BECAME_OVERDUE_NOTICE = "became_overdue"
NO_CHANNEL = "no_allowed_channel"
DEFAULT_QUIET = (time(21, 0), time(8, 0))

LEDGER_POSITION = """
SELECT i.loan_id, i.seq, i.outstanding_principal AS principal, i.outstanding_interest AS interest,
       i.outstanding_penalty AS penalty, i.outstanding_fee AS fee
FROM instalments i JOIN loans l ON l.loan_id = i.loan_id AND i.version = l.schedule_version
WHERE l.loan_id LIKE $1
"""
OVERDUE_POSITION = """
SELECT loan_id, seq, principal_minor AS principal, interest_minor AS interest,
       penalty_minor AS penalty, fee_minor AS fee
FROM instalments WHERE loan_id LIKE $1
"""
PAYMENT_DUPLICATES = """
SELECT external_reference, count(*) AS n FROM payments WHERE loan_id LIKE $1
GROUP BY external_reference HAVING count(*) > 1 ORDER BY 1 LIMIT 20
"""
PAYMENTS_BOOKED = "SELECT count(*) FROM payments WHERE loan_id LIKE $1"


@dataclass
class Invariant:
    name: str
    source: str
    passed: bool
    checked: int
    failures: list[str] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _result(name: str, source: str, checked: int, failures: list[str], note: str = "") -> Invariant:
    listed = failures[:MAX_LISTED]
    if len(failures) > MAX_LISTED:
        listed.append(f"... and {len(failures) - MAX_LISTED} more")
    return Invariant(name, source, not failures, checked, listed, note)


def notices_given(
    record: RunRecord, time_of_day_driven: bool, clock_end: datetime | None = None
) -> tuple[list[str], int, str]:
    """Every loan that became overdue got its notice (sent) or an undeliverable record.
    A notice deferred to the borrower's daytime counts as pending when it comes after the
    run: the notifier's time of day is the wall clock (no simulated time-of-day route), or
    it waits until after ``clock_end``, the last moment the run set the notifier's clock
    to (a loan overdue at the last close, its notice deferred to the next morning)."""
    by_loan: dict[str, list[str]] = {}
    after_run: set[str] = set()
    for c in record.contacts.values():
        if c.purpose == BECAME_OVERDUE_NOTICE:
            if c.outcome == "deferred" and (
                not time_of_day_driven or (c.until and clock_end and c.until > clock_end)
            ):
                after_run.add(c.loan_id)
            # The notifier's record that it could not reach the borrower: flagged
            # undeliverable (a mandatory notice), or no channel the policy allows.
            undeliverable = c.undeliverable or c.rule == NO_CHANNEL
            state = "undeliverable" if undeliverable else c.outcome
            by_loan.setdefault(c.loan_id, []).append(state)
    failures, pending = [], 0
    for loan_id in sorted(record.became_overdue):
        states = by_loan.get(loan_id, [])
        if "sent" in states or "undeliverable" in states:
            continue
        if loan_id in after_run:
            pending += 1
            continue
        failures.append(f"{loan_id}: became overdue, notice {states or 'never attempted'}")
    note = ""
    if pending:
        why = (
            "on the notifier's simulated clock, after the run's last moment"
            if time_of_day_driven
            else "on the wall clock (the notifier has no simulated time-of-day route)"
        )
        note = f"{pending} notice(s) deferred to the borrower's local daytime {why}"
    return failures, len(record.became_overdue), note


def quiet_hours_of(published: dict[str, Any]) -> dict[str, tuple[time, time]]:
    out = {}
    for q in published.get("notification_policy", {}).get("quiet_hours", []):
        out[q["jurisdiction"]] = (time.fromisoformat(q["start"]), time.fromisoformat(q["end"]))
    return out


def in_quiet(local: time, window: tuple[time, time]) -> bool:
    start, end = window
    return (start <= local or local < end) if start > end else (start <= local < end)


def quiet_hour_contacts(sim: Simulation) -> tuple[list[str], int]:
    failures, checked = [], 0
    for c in sim.record.contacts.values():
        if c.outcome != "sent" or c.at is None:
            continue
        checked += 1
        plan = sim.plans[c.loan_id]
        code = sim.product_codes[plan.product.code]
        windows = quiet_hours_of(sim.product_policies[code])
        window = windows.get(plan.region.jurisdiction, DEFAULT_QUIET)
        local = local_time(c.at, plan.region.timezone)
        if in_quiet(local.time().replace(tzinfo=None), window):
            failures.append(
                f"{c.loan_id}: {c.channel} {c.purpose} at {local.isoformat()} "
                f"({plan.region.timezone}, quiet {window[0]}-{window[1]})"
            )
    return failures, checked


def effects_once(record: RunRecord) -> tuple[list[str], int]:
    failures = [
        f"penalty assessed {n} times for {loan} instalment {seq} on {day}"
        for (loan, seq, day), n in record.penalty_keys.items()
        if n > 1
    ]
    for event_id, (loan, seq) in record.penalty_event_ids.items():
        booked = record.bookings_by_source.get(event_id, 0)
        if booked != 1:
            failures.append(f"penalty {event_id} ({loan} #{seq}) booked {booked} times")
    failures += [f"message {m} sent {n} times" for m, n in record.sent_ids.items() if n > 1]
    checked = len(record.penalty_keys) + len(record.penalty_event_ids) + len(record.sent_ids)
    return failures, checked


async def _positions(sim: Simulation, like: str) -> tuple[list[str], int]:
    ledger = await asyncpg.connect(sim.target.databases["ledger"])
    overdue = await asyncpg.connect(sim.target.databases["overdue"])
    try:
        left = {
            (r["loan_id"], r["seq"]): tuple(r)[2:]
            for r in await ledger.fetch(LEDGER_POSITION, like)
        }
        right = {
            (r["loan_id"], r["seq"]): tuple(r)[2:]
            for r in await overdue.fetch(OVERDUE_POSITION, like)
        }
    finally:
        await ledger.close()
        await overdue.close()
    failures = []
    for key in sorted(set(left) | set(right)):
        if left.get(key) != right.get(key):
            failures.append(
                f"{key[0]} #{key[1]}: ledger (principal, interest, penalty, fee) "
                f"{left.get(key)} vs overdue {right.get(key)}"
            )
    return failures, len({k[0] for k in left})


async def _payments(sim: Simulation, like: str) -> tuple[list[str], int]:
    ledger = await asyncpg.connect(sim.target.databases["ledger"])
    try:
        dupes = await ledger.fetch(PAYMENT_DUPLICATES, like)
        booked = int(await ledger.fetchval(PAYMENTS_BOOKED, like))
    finally:
        await ledger.close()
    failures = [f"payment {r['external_reference']} booked {r['n']} times" for r in dupes]
    if booked != sim.tallies.payments:
        failures.append(
            f"the gateway sent {sim.tallies.payments} payments, the ledger has {booked}"
        )
    return failures, booked


async def dead_letters(sim: Simulation) -> tuple[list[str], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=sim.target.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        failures = []
        topics = [sim.target.dead_letter_topic(s) for s in sim.settler.groups]
        parts = [TopicPartition(t, 0) for t in topics]
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            start = sim.dead_letter_starts.get(tp.topic, 0)
            if ends[tp] > start:
                consumer.assign([tp])
                consumer.seek(tp, start)
                batch = await consumer.getmany(tp, timeout_ms=2000, max_records=MAX_LISTED)
                for r in batch.get(tp, []):
                    h = {k: v.decode(errors="replace") for k, v in r.headers}
                    failures.append(
                        f"{tp.topic}@{r.offset}: {h.get('dlt_reason', '?')} "
                        f"({h.get('dlt_error_type', '?')}) key {r.key!r}"
                    )
                failures += [f"{tp.topic}: {ends[tp] - start} dead letter(s) in all"]
        return failures, len(parts)
    finally:
        await consumer.stop()


def _rows(instalments: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [
        (str(i["due_date"]), int(i["principal_minor"]), int(i["interest_minor"]))
        for i in instalments
    ]


async def plan_schedules(sim: Simulation) -> tuple[list[str], int]:
    """Every accepted plan that rewrites the schedule: the quote the borrower accepted (the
    restructure service's offer), the plan it made (``POST /offers/{id}/accept``) and the
    ledger's schedule for the loan (``GET /loans/{id}``: its last instalments, the plan's
    part; the instalments settled before the plan stay as they were) are the same
    instalments: due date, principal, interest."""
    failures: list[str] = []
    checked = 0
    for accepted in sim.seams.accepted:
        quote = accepted.quote
        if not quote.get("rewrites_schedule") or accepted.plan is None:
            continue
        checked += 1
        quoted = _rows(quote["instalments"])
        planned = _rows(accepted.plan["instalments"])
        loan = await sim.platform.call("ledger", "GET", f"/loans/{accepted.loan_id}")
        booked = _rows(loan["schedule"])[-len(quoted) :] if quoted else []
        if planned != quoted:
            failures.append(
                f"{accepted.loan_id} {accepted.plan_type}: plan {planned} != quote {quoted}"
            )
        if booked != quoted:
            failures.append(
                f"{accepted.loan_id} {accepted.plan_type}: ledger schedule {booked} != quote {quoted}"
            )
    return failures, checked


async def check_invariants(sim: Simulation) -> list[Invariant]:
    like = f"{sim.tag}-%"
    out: list[Invariant] = []
    rec = await sim.platform.call("ledger", "GET", "/reconciliation")
    mine = [m for m in rec["mismatches"] if m["loan_id"].startswith(sim.tag)]
    out.append(
        _result(
            "ledger journal balances and reconciles for every loan",
            "rest: GET /reconciliation",
            rec["loans"],
            ([] if rec["debits_minor"] == rec["credits_minor"] else ["debits != credits"])
            + [
                f"{m['loan_id']}: {m['balance']} journal {m['journal_minor']} vs tables {m['tables_minor']}"
                for m in mine
            ],
        )
    )
    failures, checked = await _positions(sim, like)
    out.append(
        _result(
            "overdue read model equals the ledger's position for every loan",
            "database (read only): ledger.instalments vs overdue.instalments",
            checked,
            failures,
        )
    )
    failures, checked, note = notices_given(
        sim.record, sim.seams.has("notifier_time_of_day"), sim.seams.clock_now
    )
    out.append(
        _result(
            "every loan that became overdue got its notice or an undeliverable record",
            "events: overdue.loan.became_overdue vs notifier.message.*",
            checked,
            failures,
            note,
        )
    )
    failures, checked = quiet_hour_contacts(sim)
    out.append(
        _result(
            "no contact attempt in quiet hours in the borrower's zone",
            "events: notifier.message.sent (sent_at) and the product's quiet hours",
            checked,
            failures,
        )
    )
    out.append(
        _result(
            "no penalty broke a cap (annual cost ceiling, absolute cap)",
            "events: overdue.penalty.assessed against ledger.loan.disbursed terms",
            len(sim.record.penalty_keys),
            list(sim.record.cap_breaches),
        )
    )
    failures, checked = effects_once(sim.record)
    pay_failures, booked = await _payments(sim, like)
    out.append(
        _result(
            "no effect twice (penalties, bookings, messages, payments)",
            "events (penalties, charge bookings, messages); database (read only): ledger.payments",
            checked + booked,
            failures + pay_failures,
        )
    )
    lags = await sim.settler.lags()
    out.append(
        _result(
            "every consumer group's lag is 0",
            "broker: lendkit.ops.lag",
            len(lags),
            [f"{g}: lag {n}" for g, n in lags.items() if n],
        )
    )
    failures, checked = await plan_schedules(sim)
    out.append(
        _result(
            "every accepted plan's ledger schedule equals its quote",
            "REST: restructure offers' quotes and accepted plans; ledger GET /loans/{id}",
            checked,
            failures,
            ""
            if sim.seams.has("restructure_requests")
            else "no plans: " + sim.seams.skipped["restructure_requests"],
        )
    )
    failures, checked = await dead_letters(sim)
    out.append(
        _result(
            "dead-letter topics empty", "broker: <group>.dlt since the run began", checked, failures
        )
    )
    return out
