"""Triggers -> policy -> append-only record -> send after commit, against the real database."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from lendkit.contracts import overdue
from lendkit.events import CloudEvent, new_event
from lendkit.kit_tables import outbox
from lendkit.testing import unique
from notifier.adapters.providers import (
    Failover,
    OutgoingMessage,
    Receipt,
    SandboxProvider,
    WebhookProvider,
)
from notifier.domain.policy import Channel, Jurisdiction
from notifier.service_layer import handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = "+8613812345678"
EMAIL = "borrower@example.cn"


class World:
    def __init__(self, engine: AsyncEngine) -> None:
        self.factory = async_sessionmaker(engine, expire_on_commit=False)
        self.borrower = unique("B")
        self.loan = unique("L")
        self.sandbox = SandboxProvider()

    def uow(self) -> NotifierUnitOfWork:
        return NotifierUnitOfWork(self.factory, "notifier")

    async def profile(self, language: str = "zh-CN") -> None:
        async with self.uow() as uow:
            await uow.profiles.put(
                self.borrower,
                language,
                "Asia/Shanghai",
                Jurisdiction.CN,
                [(Channel.SMS, PHONE, 1), (Channel.EMAIL, EMAIL, 2)],
            )
            await uow.commit()

    async def handle(self, handler: object, event: CloudEvent, now: datetime) -> None:
        CLOCK.pinned = now
        async with self.uow() as uow:
            await handler(uow, event)  # type: ignore[operator]
            await uow.commit()

    async def events(self) -> list[tuple[str, dict[str, object]]]:
        async with self.factory() as session:
            rows = (
                await session.execute(
                    select(outbox.c.event_type, outbox.c.payload)
                    .where(outbox.c.message_key == self.loan)
                    .order_by(outbox.c.id)
                )
            ).all()
        return [(r.event_type, json.loads(r.payload)) for r in rows]

    async def history(self) -> list[dict[str, object]]:
        async with self.uow() as uow:
            return await uow.attempts.history(loan_id=self.loan)

    def overdue_event(self) -> CloudEvent:
        return new_event(
            overdue.LoanBecameOverdue(
                loan_id=self.loan,
                borrower_id=self.borrower,
                business_date=date(2026, 5, 4),
                oldest_unpaid_due_date=date(2026, 5, 3),
                days_past_due=1,
                bucket="1-30",
                overdue_minor=123_456,
                currency="CNY",
            ),
            source="/tests/overdue",
        )

    def notice_event(self) -> CloudEvent:
        return new_event(
            overdue.CreditReportNoticeDue(
                loan_id=self.loan,
                borrower_id=self.borrower,
                business_date=date(2026, 6, 1),
                days_past_due=30,
            ),
            source="/tests/overdue",
        )


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    yield World(engine)
    CLOCK.pinned = None


def _data(payload: dict[str, object]) -> dict[str, object]:
    data = payload.get("data", payload)
    assert isinstance(data, dict)
    return data


async def test_2330_shanghai_is_deferred_sent_at_0800_once_in_chinese(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await world.profile()
    event = world.overdue_event()
    late = datetime(2026, 5, 4, 23, 30, tzinfo=SHANGHAI)
    await world.handle(handlers.on_loan_became_overdue, event, late)
    await world.handle(handlers.on_loan_became_overdue, event, late)  # the same trigger twice
    states = [r["state"] for r in await world.history()]
    assert states == ["decided", "deferred"]
    [(kind, payload)] = await world.events()
    assert kind == "notifier.message.deferred.v1"
    assert datetime.fromisoformat(str(_data(payload)["until"])) == datetime(
        2026, 5, 5, 8, 0, tzinfo=SHANGHAI
    )

    providers = {"sms": Failover([world.sandbox]), "email": Failover([world.sandbox])}
    early = await dispatch(world.uow, providers, datetime(2026, 5, 5, 7, 0, tzinfo=SHANGHAI))
    assert (early.redecided, early.sent) == (0, 0)
    result = await dispatch(world.uow, providers, datetime(2026, 5, 5, 8, 0, tzinfo=SHANGHAI))
    assert (result.redecided, result.sent) == (1, 1)
    again = await dispatch(world.uow, providers, datetime(2026, 5, 5, 8, 5, tzinfo=SHANGHAI))
    assert again.sent == 0
    [message] = world.sandbox.messages.values()
    assert message.channel == "sms" and message.address == PHONE
    assert "已逾期" in message.body and "¥1,234.56" in message.body and "退订" in message.body
    history = await world.history()
    assert [r["state"] for r in history] == ["decided", "deferred", "queued", "sent", "delivered"]
    assert history[-1]["template_version"] and history[-1]["template"] == "zh-CN/became_overdue"
    kinds = [k for k, _ in await world.events()]
    assert kinds == [
        "notifier.message.deferred.v1",
        "notifier.message.sent.v1",
        "notifier.message.delivered.v1",
    ]
    # No phone number or email address in any event or log line.
    for _, payload in await world.events():
        text = json.dumps(payload, ensure_ascii=False)
        assert PHONE not in text and EMAIL not in text
    for record in caplog.records:
        line = record.getMessage() + json.dumps(record.__dict__, default=str, ensure_ascii=False)
        assert PHONE not in line and EMAIL not in line


async def test_a_send_queued_at_2159_is_not_sent_at_2230_but_deferred_to_0800(world: World) -> None:
    """Decided (queued) just before the quiet hours, sent only once the dispatcher runs after
    they began (it was behind, or a simulated clock moved): the send is decided again at that
    moment and deferred, never made in the quiet hours."""
    await world.profile()
    await world.handle(
        handlers.on_loan_became_overdue,
        world.overdue_event(),
        datetime(2026, 5, 4, 21, 59, tzinfo=SHANGHAI),
    )
    assert [r["state"] for r in await world.history()] == ["decided", "queued"]
    providers = {"sms": Failover([world.sandbox]), "email": Failover([world.sandbox])}
    night = await dispatch(world.uow, providers, datetime(2026, 5, 4, 22, 30, tzinfo=SHANGHAI))
    assert night.sent == 0 and world.sandbox.messages == {}
    assert [r["state"] for r in await world.history()] == ["decided", "queued", "deferred"]
    morning = await dispatch(world.uow, providers, datetime(2026, 5, 5, 8, 0, tzinfo=SHANGHAI))
    assert (morning.redecided, morning.sent) == (1, 1)
    [sent] = [r for r in await world.history() if r["state"] == "sent"]
    assert sent["occurred_at"] == datetime(2026, 5, 5, 8, 0, tzinfo=SHANGHAI)


async def test_opt_out_moves_the_credit_report_notice_to_email_and_publishes_its_delivery(
    world: World,
) -> None:
    await world.profile(language="en")
    async with world.uow() as uow:
        assert await uow.profiles.opt_out(world.borrower, Channel.SMS, datetime.now(UTC))
        await uow.commit()
    await world.handle(
        handlers.on_credit_report_notice_due,
        world.notice_event(),
        datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI),
    )
    await dispatch(
        world.uow,
        {"email": Failover([world.sandbox])},
        datetime(2026, 6, 1, 10, 1, tzinfo=SHANGHAI),
    )
    [message] = world.sandbox.messages.values()
    assert message.channel == "email" and "credit bureau" in message.body and "STOP" in message.body
    delivered = [p for k, p in await world.events() if k == "notifier.message.delivered.v1"]
    assert [_data(p)["purpose"] for p in delivered] == ["credit_report_notice"]


async def test_mandatory_notice_with_every_channel_opted_out_is_recorded_undeliverable(
    world: World,
) -> None:
    await world.profile()
    async with world.uow() as uow:
        for channel in (Channel.SMS, Channel.EMAIL):
            await uow.profiles.opt_out(world.borrower, channel, datetime.now(UTC))
        await uow.commit()
    await world.handle(
        handlers.on_credit_report_notice_due,
        world.notice_event(),
        datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI),
    )
    assert [r["state"] for r in await world.history()] == ["decided", "undeliverable"]
    [(kind, payload)] = await world.events()
    assert kind == "notifier.message.suppressed.v1"
    assert (
        _data(payload)["undeliverable"] is True and _data(payload)["rule"] == "no_allowed_channel"
    )


def _flaky(failures: int | None) -> httpx.MockTransport:
    calls = {"n": 0}

    def respond(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        assert request.headers["Idempotency-Key"]
        if failures is None or calls["n"] <= failures:
            return httpx.Response(503)
        return httpx.Response(202)

    return httpx.MockTransport(respond)


async def _no_sleep(_: float) -> None:
    return None


async def test_a_provider_failing_twice_then_succeeding_gives_one_sent_message(
    world: World,
) -> None:
    await world.profile()
    client = httpx.AsyncClient(transport=_flaky(2))
    hook = WebhookProvider("hook", "http://provider.test/send", client=client, sleep=_no_sleep)
    await world.handle(
        handlers.on_loan_became_overdue,
        world.overdue_event(),
        datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI),
    )
    result = await dispatch(
        world.uow, {"sms": Failover([hook])}, datetime(2026, 5, 4, 12, 1, tzinfo=SHANGHAI)
    )
    assert (result.sent, result.failed) == (1, 0)
    assert [k for k, _ in await world.events()] == ["notifier.message.sent.v1"]
    await client.aclose()


async def test_an_always_failing_provider_fails_over_or_gives_a_failed_event(world: World) -> None:
    await world.profile()
    client = httpx.AsyncClient(transport=_flaky(None))
    hook = WebhookProvider("hook", "http://provider.test/send", client=client, sleep=_no_sleep)
    await world.handle(
        handlers.on_loan_became_overdue,
        world.overdue_event(),
        datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI),
    )
    alone = await dispatch(
        world.uow, {"sms": Failover([hook])}, datetime(2026, 5, 4, 12, 1, tzinfo=SHANGHAI)
    )
    assert (alone.sent, alone.failed) == (0, 1)
    assert [k for k, _ in await world.events()] == ["notifier.message.failed.v1"]

    other = World.__new__(World)
    other.__dict__.update(world.__dict__, loan=unique("L"), sandbox=SandboxProvider())
    await other.handle(
        handlers.on_loan_became_overdue,
        other.overdue_event(),
        datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI),
    )
    over = await dispatch(
        other.uow,
        {"sms": Failover([hook, other.sandbox])},
        datetime(2026, 5, 4, 12, 1, tzinfo=SHANGHAI),
    )
    assert (over.sent, over.failed) == (1, 0)
    assert len(other.sandbox.messages) == 1
    await client.aclose()


class _Crash(SandboxProvider):
    async def send(self, message: object) -> object:  # type: ignore[override]
        raise RuntimeError("process killed mid-send")


async def test_a_crash_between_recording_and_sending_sends_once_afterwards(world: World) -> None:
    await world.profile()
    await world.handle(
        handlers.on_loan_became_overdue,
        world.overdue_event(),
        datetime(2026, 5, 4, 12, 0, tzinfo=SHANGHAI),
    )
    with pytest.raises(RuntimeError):
        await dispatch(
            world.uow, {"sms": Failover([_Crash()])}, datetime(2026, 5, 4, 12, 1, tzinfo=SHANGHAI)
        )
    providers = {"sms": Failover([world.sandbox])}
    first = await dispatch(world.uow, providers, datetime(2026, 5, 4, 12, 2, tzinfo=SHANGHAI))
    second = await dispatch(world.uow, providers, datetime(2026, 5, 4, 12, 3, tzinfo=SHANGHAI))
    assert (first.sent, second.sent) == (1, 0)
    assert len(world.sandbox.messages) == 1


class SlowSandbox(SandboxProvider):
    """A provider that takes its time: a second dispatcher's round overlaps the first's."""

    async def send(self, message: OutgoingMessage) -> Receipt:
        await asyncio.sleep(0.3)
        return await super().send(message)


async def test_two_dispatchers_on_one_database_send_each_queued_message_once(
    world: World,
) -> None:
    """Two processes (``http_workers`` 2: each worker runs a dispatcher) dispatch the same
    queue at the same moment on two connections: one round sends, the other stands aside;
    the provider is called once and one ``sent`` is recorded."""
    await world.profile()
    await world.handle(
        handlers.on_loan_became_overdue,
        world.overdue_event(),
        datetime(2026, 5, 4, 10, 0, tzinfo=SHANGHAI),
    )
    slow = SlowSandbox()
    providers = {"sms": Failover([slow]), "email": Failover([slow])}
    at = datetime(2026, 5, 4, 10, 1, tzinfo=SHANGHAI)
    first, second = await asyncio.gather(
        dispatch(world.uow, providers, at), dispatch(world.uow, providers, at)
    )
    assert first.sent + second.sent == 1
    assert slow.calls == 1
    states = [r["state"] for r in await world.history()]
    assert states.count("sent") == 1 and states.count("delivered") == 1
