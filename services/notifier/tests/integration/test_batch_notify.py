"""The set-based decide-and-record path (the consumer's batch mode) writes the same record and
events as ``handlers.notify`` one trigger at a time, over every kind of decision; and the
same trigger twice (in one batch, or again later) is one attempt."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from lendkit.kit_tables import outbox
from lendkit.testing import unique
from notifier.adapters.providers import Failover, SandboxProvider
from notifier.adapters.tables import contact_attempts
from notifier.domain.policy import Channel, Jurisdiction
from notifier.domain.profile import Trigger
from notifier.service_layer import handlers
from notifier.service_layer.batch_notify import notify_many
from notifier.service_layer.dispatch import dispatch
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

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
        assert await notify_many(uow, many + many[:3], NOON) == len(many)  # duplicates: once
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
        assert await notify_many(uow, many, NOON) == 0  # decided before: nothing new
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
        assert await notify_many(uow, [bad, good], NOON) == 2
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
