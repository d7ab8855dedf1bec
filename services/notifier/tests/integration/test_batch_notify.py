"""The one decide-and-record path (``batch_notify``): the consumer's batch mode writes the same
record and events as ``handlers.notify`` one trigger at a time (a batch of one), over every
kind of decision; the same trigger twice (in one batch, or again later) is one attempt; and a
batch applies the stage's strategy (channels, version in the reasons, call tasks, cadence)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from lendkit.contracts import overdue
from lendkit.events import CloudEvent, new_event
from lendkit.kit_tables import outbox
from lendkit.testing import unique
from notifier.adapters.providers import Failover, SandboxProvider
from notifier.adapters.tables import contact_attempts
from notifier.domain.policy import Channel, Jurisdiction
from notifier.domain.profile import Trigger
from notifier.service_layer import handlers
from notifier.service_layer.batch_notify import notify_many
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

DEFAULT_SPEC = {
    "stages": {
        "current": {},
        "reminder": {},
        **{s: {"call": True} for s in ("early", "mid", "late", "legal")},
    }
}
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=SHANGHAI)
COMPARED = ("purpose", "mandatory", "state", "channel", "address_id", "rule", "reasons", "until")
COMPARED += ("template", "template_version", "context", "borrower_id", "loan_id")


async def _borrowers(uow: NotifierUnitOfWork) -> list[str]:
    """Profiles that give every kind of decision at noon in Shanghai."""
    sms_ok, night_zone, sms_out, all_out, none = (unique("B") for _ in range(5))
    await uow.profiles.put(sms_ok, "en", "Asia/Shanghai", Jurisdiction.CN, [(Channel.SMS, "a", 1)])
    await uow.profiles.put(  # 21:00 in Los Angeles (US quiet hours): deferred
        night_zone, "en", "America/Los_Angeles", Jurisdiction.US, [(Channel.SMS, "b", 1)]
    )
    for b in (sms_out, all_out):
        await uow.profiles.put(
            b,
            "zh-CN",
            None,
            Jurisdiction.CN,
            [(Channel.SMS, f"{b}s", 1), (Channel.EMAIL, f"{b}e", 2)],
        )
    await uow.profiles.opt_out(sms_out, Channel.SMS, NOON)
    await uow.profiles.opt_out(all_out, Channel.SMS, NOON)
    await uow.profiles.opt_out(all_out, Channel.EMAIL, NOON)
    return [sms_ok, night_zone, sms_out, all_out, none]


def _triggers(tag: str, borrowers: list[str]) -> list[Trigger]:
    return [
        Trigger(
            trigger_key=f"{purpose}:{tag}:{b}",
            loan_id=f"L-{b}",
            borrower_id=b,
            purpose=purpose,
            mandatory=purpose == "credit_report_notice",
            context={
                "loan_id": f"L-{b}",
                "amount": "¥1.00",
                "days": "30",
                "help_url": "https://help.example/loans",
            },
        )
        for b in borrowers
        for purpose in ("became_overdue", "credit_report_notice")
    ]


async def _record(engine: AsyncEngine, keys: list[str]) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(contact_attempts)
            .where(contact_attempts.c.trigger_key.in_(keys))
            .order_by(contact_attempts.c.trigger_key, contact_attempts.c.id)
        )
        found = [dict(r._mapping) for r in rows]
    return [
        {**{k: r[k] for k in COMPARED}, "key": r["trigger_key"].split(":", 2)[2]} for r in found
    ]


async def _events(engine: AsyncEngine, loans: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.message_key, outbox.c.event_type, outbox.c.payload)
            .where(outbox.c.message_key.in_(loans))
            .order_by(outbox.c.id)
        )
        out = []
        for key, kind, payload in rows:
            raw = json.loads(payload)
            data = dict(raw.get("data", raw))
            data.pop("message_id")
            out.append((key, kind, data))
    return sorted(out, key=lambda e: (e[0], e[1], json.dumps(e[2], sort_keys=True)))


async def test_batch_and_one_at_a_time_write_the_same_record_and_events(
    engine: AsyncEngine,
) -> None:
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with NotifierUnitOfWork(factory, "notifier") as uow:
        borrowers = await _borrowers(uow)
        await uow.commit()
    one, many = _triggers("one", borrowers), _triggers("many", borrowers)
    async with NotifierUnitOfWork(factory, "notifier") as uow:
        for t in one:
            await handlers.notify(uow, t, NOON)
        await uow.commit()
    single_events = await _events(engine, [t.loan_id for t in one])
    async with NotifierUnitOfWork(factory, "notifier") as uow:
        assert len(await notify_many(uow, many + many[:3], NOON)) == len(many)  # duplicates: once
        await uow.commit()
    all_events = await _events(engine, [t.loan_id for t in one])

    single = await _record(engine, [t.trigger_key for t in one])
    batch = await _record(engine, [t.trigger_key for t in many])
    assert batch == single
    assert {r["state"] for r in single} >= {"queued", "deferred", "undeliverable", "suppressed"}
    # The batch added exactly the events the one-at-a-time path wrote, once more.
    doubled = sorted(
        single_events + single_events, key=lambda e: (e[0], e[1], json.dumps(e[2], sort_keys=True))
    )
    assert all_events == doubled

    async with NotifierUnitOfWork(factory, "notifier") as uow:
        assert await notify_many(uow, many, NOON) == {}  # decided before: nothing new
        await uow.commit()
    assert await _record(engine, [t.trigger_key for t in many]) == batch


async def test_a_message_whose_template_cannot_render_fails_alone(engine: AsyncEngine) -> None:
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with NotifierUnitOfWork(factory, "notifier") as uow:
        [ok, *_] = await _borrowers(uow)
        await uow.commit()
    good, bad = _triggers("render", [ok])[0], _triggers("poison", [ok])[0]
    bad = replace(bad, context={"loan_id": bad.loan_id})  # no amount, days, help_url
    async with NotifierUnitOfWork(factory, "notifier") as uow:
        assert len(await notify_many(uow, [bad, good], NOON)) == 2
        await uow.commit()
    sandbox = SandboxProvider()
    await dispatch(
        lambda: NotifierUnitOfWork(factory, "notifier"), {"sms": Failover([sandbox])}, NOON
    )
    assert [r["state"] for r in await _record(engine, [good.trigger_key])] == [
        "decided",
        "queued",
        "sent",
        "delivered",
    ]
    poisoned = await _record(engine, [bad.trigger_key])
    assert [r["state"] for r in poisoned] == ["decided", "queued", "failed"]
    assert poisoned[-1]["reasons"] == ["template: UndefinedError"]


def _overdue(loan_id: str, borrower_id: str, on: date) -> CloudEvent:
    return new_event(
        overdue.LoanBecameOverdue(
            loan_id=loan_id,
            borrower_id=borrower_id,
            business_date=on,
            oldest_unpaid_due_date=on - timedelta(days=4),
            days_past_due=4,
            bucket="1-30",
            overdue_minor=10_000,
            currency="CNY",
        ),
        source="/tests",
    )


async def test_a_batch_applies_the_stage_strategy_its_calls_and_its_cadence(
    engine: AsyncEngine,
) -> None:
    """Strategy v(new): early stage by email first, a call, at most one message in 3 days.
    Two loans in the early stage, one run of overdue facts through the consumer's batch
    handler: each message goes by email with the version in its reasons, and each loan gets a
    call task; once sent, the next day's facts are suppressed by the cadence (1 < 3 days)."""
    factory = async_sessionmaker(engine, expire_on_commit=False)
    borrower = unique("B")
    loans = [f"L-{borrower}-{n}" for n in (1, 2)]
    spec = {"stages": {"early": {"channels": ["email", "sms"], "call": True, "cadence_days": 3}}}
    async with NotifierUnitOfWork(factory, "notifier") as uow:
        await uow.profiles.put(
            borrower,
            "en",
            "Asia/Shanghai",
            Jurisdiction.CN,
            [
                (Channel.SMS, f"{borrower}s", 1),
                (Channel.EMAIL, f"{borrower}e", 2),
                (Channel.CALL, f"{borrower}c", 3),
            ],
        )
        for loan in loans:
            await uow.stages.set(loan, "early", date(2026, 6, 1))
        version = await uow.strategies.add(spec, "test")
        await uow.commit()
    try:
        CLOCK.pinned = NOON
        async with NotifierUnitOfWork(factory, "notifier") as uow:
            first_day = [_overdue(loan, borrower, date(2026, 6, 1)) for loan in loans]
            await handlers.on_loans_became_overdue(uow, first_day)
            await uow.commit()
        rows = await _record(engine, await _keys(engine, loans))
        messages = [r for r in rows if r["state"] == "queued"]
        assert [(r["loan_id"], r["channel"]) for r in messages] == [(lo, "email") for lo in loans]
        assert all(r["reasons"][0] == f"strategy v{version} stage early" for r in messages)
        tasks = [r for r in rows if r["state"] == "task_open"]
        assert sorted((r["loan_id"], r["channel"]) for r in tasks) == [(lo, "call") for lo in loans]

        sandbox = SandboxProvider()
        uows = lambda: NotifierUnitOfWork(factory, "notifier")  # noqa: E731
        await dispatch(uows, {"email": Failover([sandbox])}, NOON)
        CLOCK.pinned = NOON + timedelta(days=1)
        async with NotifierUnitOfWork(factory, "notifier") as uow:
            next_day = [_overdue(loan, borrower, date(2026, 6, 2)) for loan in loans]
            await handlers.on_loans_became_overdue(uow, next_day)
            await uow.commit()
        later = await _record(engine, await _keys(engine, loans))
        decided_next = [
            r
            for r in later
            if r["purpose"] == "became_overdue"
            and r["context"].get("kind") is None
            and r["context"]["business_date"] == "2026-06-02"
            and r["state"] != "decided"
        ]
        assert [(r["state"], r["rule"]) for r in decided_next] == [
            ("suppressed", "strategy_cadence")
        ] * 2
    finally:
        CLOCK.pinned = None
        async with NotifierUnitOfWork(factory, "notifier") as uow:
            await uow.strategies.add(DEFAULT_SPEC, "test")
            await uow.commit()


async def _keys(engine: AsyncEngine, loans: list[str]) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(contact_attempts.c.trigger_key).where(contact_attempts.c.loan_id.in_(loans))
        )
        return sorted({r[0] for r in rows})
