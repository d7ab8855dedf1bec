"""Triggers of one day as one message (a digest, the urgent notice alone), the prevention line
on an upcoming reminder, the per-stage strategy as versioned configuration, and the simulated
clock (REST, persisted, surviving a restart). Against the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from lendkit.app import create_service_app
from lendkit.consumer import Batchable
from lendkit.contracts import ledger, overdue, restructure
from lendkit.events import CloudEvent, new_event
from lendkit.runtime import ServiceRuntime
from lendkit.testing import unique
from notifier.adapters.providers import Failover, SandboxProvider
from notifier.bootstrap import create_runtime
from notifier.domain.policy import Channel, Jurisdiction
from notifier.entrypoints.api import router
from notifier.entrypoints.consumers import CONSUMERS
from notifier.service_layer import handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch
from notifier.service_layer.unit_of_work import NotifierUnitOfWork
from notifier.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
Runtime = ServiceRuntime[NotifierUnitOfWork]
DEFAULT_SPEC = {
    "stages": {
        "current": {},
        "reminder": {},
        **{s: {"call": True} for s in ("early", "mid", "late", "legal")},
    }
}


def _runtime(database_url: str) -> Runtime:
    return create_runtime(
        Settings(database_url=database_url, run_consumers=False, run_outbox_relay=False)
    )


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    runtime = _runtime(database_url)
    await runtime.start(background=False)
    try:
        yield runtime
    finally:
        CLOCK.pinned = None
        CLOCK.simulated = None
        await runtime.stop()


def client(runtime: Runtime, role: str) -> httpx.AsyncClient:
    app = create_service_app(runtime, title="notifier (test)", description="", routers=[router])
    token = runtime.tokens.issue(f"{role}-1", [role])
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": unique("k")},
    )


async def setup(runtime: Runtime, language: str = "en") -> tuple[str, str]:
    borrower, loan = unique("B"), unique("L")
    async with runtime.uow() as uow:
        await uow.profiles.put(
            borrower,
            language,
            "Asia/Shanghai",
            Jurisdiction.CN,
            [(Channel.SMS, "+8613700000000", 1), (Channel.EMAIL, "x@example.cn", 2)],
        )
        await uow.loans.add(loan, borrower, "P", "CNY", "Asia/Shanghai")
        await uow.commit()
    return borrower, loan


async def handle(runtime: Runtime, handler: Any, event: CloudEvent) -> None:
    async with runtime.uow() as uow:
        await handler(uow, event)
        await uow.commit()


async def publish_product(runtime: Runtime, code: str, penalty_rate: str, report_dpd: int) -> None:
    """``ledger.product.published`` for a CNY product with its penalty rate per day and the
    DPD at which credit reporting starts (what a prevention reminder states)."""
    product = ledger.ProductPublished(
        code=code,
        currency="CNY",
        annual_rate="0.12",
        day_count="actual/365",
        term=3,
        frequency="monthly",
        schedule_type="annuity",
        rounding="half_even",
        allocation_strategy="oldest_first",
        allocation_components=["penalty", "fee", "interest", "principal"],
        reminder_days_before=[3],
        overdue_policy={"penalty_daily_rate": penalty_rate, "credit_report_notice_dpd": report_dpd},
    )
    await handle(runtime, handlers.on_product_published, new_event(product, source="/t"))


def overdue_facts(loan: str, borrower: str, day: date) -> list[tuple[Any, CloudEvent]]:
    return [
        (
            handlers.on_loan_became_overdue,
            new_event(
                overdue.LoanBecameOverdue(
                    loan_id=loan,
                    borrower_id=borrower,
                    business_date=day,
                    oldest_unpaid_due_date=day - timedelta(days=1),
                    days_past_due=1,
                    bucket="1-30",
                    overdue_minor=12_345,
                    currency="CNY",
                ),
                source="/tests/overdue",
            ),
        ),
        (
            handlers.on_stage_changed,
            new_event(
                overdue.StageChanged(
                    loan_id=loan,
                    business_date=day,
                    from_stage="current",
                    to_stage="reminder",
                    days_past_due=1,
                ),
                source="/tests/overdue",
            ),
        ),
    ]


async def history(runtime: Runtime, loan: str) -> list[dict[str, Any]]:
    async with runtime.uow() as uow:
        return await uow.attempts.history(loan_id=loan)


async def test_several_triggers_of_one_day_are_one_message_the_urgent_notice_goes_alone(
    runtime: Runtime,
) -> None:
    borrower, loan = await setup(runtime)
    day = date(2026, 6, 1)
    CLOCK.pinned = datetime(2026, 6, 1, 23, 30, tzinfo=SHANGHAI)  # the night's close of business
    facts = overdue_facts(loan, borrower, day)
    facts.append(
        (
            handlers.on_credit_report_notice_due,
            new_event(
                overdue.CreditReportNoticeDue(
                    loan_id=loan, borrower_id=borrower, business_date=day, days_past_due=30
                ),
                source="/tests/overdue",
            ),
        )
    )
    for handler, event in facts:
        await handle(runtime, handler, event)
    sandbox = SandboxProvider()
    await dispatch(
        runtime.uow,
        {"sms": Failover([sandbox])},
        datetime(2026, 6, 2, 8, 0, tzinfo=SHANGHAI),
    )
    mine = {r["attempt_id"] for r in await history(runtime, loan)}
    # (Other tests' sends due by then go out too: only this loan's are looked at.)
    messages = [m for m in sandbox.messages.values() if m.attempt_id in mine]
    assert len(messages) == 2  # the digest of two, the notice alone
    [digest] = [m for m in messages if m.purpose != "credit_report_notice"]
    assert digest.body.startswith("Your loan updates today:")
    assert "overdue by 1 days" in digest.body and "collection stage reminder" in digest.body
    assert digest.body.count("Reply STOP to opt out.") == 1
    [notice] = [m for m in messages if m.purpose == "credit_report_notice"]
    assert "credit bureau" in notice.body
    sent = [r for r in await history(runtime, loan) if r["state"] == "sent"]
    assert sorted(("digest of 2" in r["reasons"]) for r in sent) == [False, True, True]


async def test_an_upcoming_reminder_says_what_a_missed_payment_costs(runtime: Runtime) -> None:
    borrower, loan = await setup(runtime, language="zh-CN")
    code = unique("P")
    async with runtime.uow() as uow:
        await uow.loans.add(loan + "-2", borrower, code, "CNY", "Asia/Shanghai")
        await uow.commit()
    await publish_product(runtime, code, "0.0005", 15)
    CLOCK.pinned = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
    upcoming = ledger.RepaymentUpcoming(
        loan_id=loan + "-2",
        borrower_id=borrower,
        seq=1,
        due_date=date(2026, 6, 4),
        days_before=3,
        amount_due_minor=100_050,
        currency="CNY",
        business_date=date(2026, 6, 1),
    )
    await handle(runtime, handlers.on_repayment_upcoming, new_event(upcoming, source="/t"))
    sandbox = SandboxProvider()
    await dispatch(runtime.uow, {"sms": Failover([sandbox])}, CLOCK.pinned)
    mine = {r["attempt_id"] for r in await history(runtime, loan + "-2")}
    [message] = [m for m in sandbox.messages.values() if m.attempt_id in mine]
    assert message.purpose == "upcoming_reminder"
    # 0.0005 a day is 0.05 %; reported after 15 days overdue; the amount in Chinese format.
    assert "每日 0.05%" in message.body and "逾期 15 天后将报送征信" in message.body
    assert "¥1,000.50" in message.body and "2026-06-04" in message.body


async def test_a_strategy_version_orders_channels_sets_a_cadence_and_is_recorded(
    runtime: Runtime,
) -> None:
    borrower, loan = await setup(runtime)
    spec = {"stages": {"reminder": {"channels": ["email", "sms"], "cadence_days": 3}}}
    try:
        async with client(runtime, "admin") as admin:
            made = await admin.post("/contact-strategies", json=spec)
            assert made.status_code == 201, made.text
            version = made.json()["version"]
            bad = await admin.post(
                "/contact-strategies",
                json={"stages": {"reminder": {"channels": ["sms", "sms"]}}},
                headers={"Idempotency-Key": unique("k")},
            )
            assert bad.status_code == 422
            current = (await admin.get("/contact-strategies/current")).json()
            assert current["version"] == version
            assert current["stages"]["reminder"]["channels"] == ["email", "sms"]
        async with client(runtime, "ops") as ops:
            denied = await ops.post("/contact-strategies", json=spec)
            assert denied.status_code == 403
        CLOCK.pinned = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
        [(handler, event), _] = overdue_facts(loan, borrower, date(2026, 6, 1))
        await handle(runtime, handler, event)
        sandbox = SandboxProvider()
        await dispatch(runtime.uow, {"email": Failover([sandbox])}, CLOCK.pinned)
        mine = {r["attempt_id"] for r in await history(runtime, loan)}
        [message] = [m for m in sandbox.messages.values() if m.attempt_id in mine]
        assert message.channel == "email"
        queued = [r for r in await history(runtime, loan) if r["state"] == "queued"]
        assert f"strategy v{version} stage reminder" in queued[0]["reasons"]
        # Two days later another overdue fact: within the stage's cadence of 3 days.
        CLOCK.pinned = datetime(2026, 6, 3, 10, 0, tzinfo=SHANGHAI)
        [(handler, event), _] = overdue_facts(loan, borrower, date(2026, 6, 3))
        await handle(runtime, handler, event)
        last = (await history(runtime, loan))[-1]
        assert (last["state"], last["rule"]) == ("suppressed", "strategy_cadence")
    finally:
        async with client(runtime, "admin") as admin:
            assert (await admin.post("/contact-strategies", json=DEFAULT_SPEC)).status_code == 201


async def test_the_simulated_clock_is_set_by_rest_persisted_and_drives_deferred_sends(
    runtime: Runtime, database_url: str
) -> None:
    borrower, loan = await setup(runtime)
    try:
        async with client(runtime, "ops") as ops:
            denied = await ops.post("/clock", json={"time_of_day": "23:30"})
            assert denied.status_code == 403
        # The platform closed 2026-06-01 (ledger.business_day.closed): the clock's date.
        closed = ledger.BusinessDayClosed(business_date=date(2026, 6, 1), partition=0, partitions=1)
        await handle(runtime, handlers.on_business_day_closed, new_event(closed, source="/t"))
        async with client(runtime, "admin") as admin:
            night = await admin.post("/clock", json={"time_of_day": "23:30"})
            assert night.status_code == 200, night.text
            assert datetime.fromisoformat(night.json()["now"]) == datetime(
                2026, 6, 1, 23, 30, tzinfo=SHANGHAI
            )
        [(handler, event), _] = overdue_facts(loan, borrower, date(2026, 6, 1))
        await handle(runtime, handler, event)
        assert (await history(runtime, loan))[-1]["state"] == "deferred"

        # A restart: the clock is read back from the database.
        CLOCK.simulated = None
        again = _runtime(database_url)
        await again.start(background=False)
        try:
            assert CLOCK.now() == datetime(2026, 6, 1, 23, 30, tzinfo=SHANGHAI)
            sandbox = SandboxProvider()
            providers = {"sms": Failover([sandbox])}
            await dispatch(again.uow, providers, CLOCK.now())
            mine = {r["attempt_id"] for r in await history(runtime, loan)}
            assert not [m for m in sandbox.messages.values() if m.attempt_id in mine]
            async with client(again, "admin") as admin:
                morning = await admin.post(
                    "/clock", json={"business_date": "2026-06-02", "time_of_day": "08:00"}
                )
                assert morning.status_code == 200
                got = (await admin.get("/clock")).json()
                assert (got["simulated"], got["business_date"], got["timezone"]) == (
                    True,
                    "2026-06-02",
                    "Asia/Shanghai",
                )
            await dispatch(again.uow, providers, CLOCK.now())
            [message] = [m for m in sandbox.messages.values() if m.attempt_id in mine]
            assert "overdue by 1 days" in message.body
        finally:
            await again.stop()
    finally:
        async with client(runtime, "admin") as admin:
            off = await admin.post("/clock", json={"simulated": False})
            assert off.status_code == 200 and off.json()["simulated"] is False
        CLOCK.simulated = None


def _stage_changed(loan: str, day: date, to_stage: str = "early") -> CloudEvent:
    return new_event(
        overdue.StageChanged(
            loan_id=loan,
            business_date=day,
            from_stage="reminder",
            to_stage=to_stage,
            days_past_due=5,
        ),
        source="/tests/overdue",
    )


async def _remind(runtime: Runtime, day: date, at: str = "10:00") -> None:
    """Close ``day`` for the cadence at ``at`` local time, then send what is ready."""
    CLOCK.pinned = datetime.combine(day, datetime.strptime(at, "%H:%M").time(), SHANGHAI)
    async with runtime.uow() as uow:
        await handlers.remind_on_cadence(uow, day)
        await uow.commit()
    await dispatch(runtime.uow, {"sms": Failover([SandboxProvider()])}, CLOCK.pinned)


async def _reminders(runtime: Runtime, loan: str) -> list[tuple[str, str]]:
    """The loan's cadence reminders: (business date, latest state)."""
    latest: dict[str, tuple[str, str]] = {}
    for row in await history(runtime, loan):
        if row["purpose"] == "collection_reminder":
            latest[row["attempt_id"]] = (row["context"]["business_date"], row["state"])
    return sorted(latest.values())


async def test_a_stage_cadence_repeats_its_contact_until_the_loan_is_paused_or_cured(
    runtime: Runtime,
) -> None:
    _, loan = await setup(runtime)
    try:
        async with client(runtime, "admin") as admin:
            made = await admin.post(
                "/contact-strategies", json={"stages": {"early": {"cadence_days": 3}}}
            )
            assert made.status_code == 201, made.text
        CLOCK.pinned = datetime(2026, 6, 10, 10, 0, tzinfo=SHANGHAI)
        await handle(runtime, handlers.on_stage_changed, _stage_changed(loan, date(2026, 6, 10)))
        await dispatch(runtime.uow, {"sms": Failover([SandboxProvider()])}, CLOCK.pinned)
        for day in range(11, 17):
            await _remind(runtime, date(2026, 6, day))
        await _remind(runtime, date(2026, 6, 16))  # another marker of the same day
        assert await _reminders(runtime, loan) == [
            ("2026-06-13", "delivered"),  # the sandbox confirms at once
            ("2026-06-16", "delivered"),
        ]
        # Paused (a plan accepted): nothing; resumed: the cadence picks up again.
        paused = overdue.DelinquencyPaused(loan_id=loan, reason="plan", paused_by="restructure")
        await handle(runtime, handlers.on_delinquency_paused, new_event(paused, source="/t"))
        for day in range(17, 20):
            await _remind(runtime, date(2026, 6, day))
        resumed = overdue.DelinquencyResumed(loan_id=loan, reason="plan", resumed_by="x")
        await handle(runtime, handlers.on_delinquency_resumed, new_event(resumed, source="/t"))
        await _remind(runtime, date(2026, 6, 20))
        assert [d for d, _ in await _reminders(runtime, loan)] == [
            "2026-06-13",
            "2026-06-16",
            "2026-06-20",
        ]
        # Decided in the quiet hours, then cured before the morning: never sent.
        await _remind(runtime, date(2026, 6, 23), at="23:30")
        assert (await _reminders(runtime, loan))[-1] == ("2026-06-23", "deferred")
        cured = overdue.LoanCured(
            loan_id=loan,
            business_date=date(2026, 6, 23),
            previous_bucket="1-30",
            previous_days_past_due=5,
        )
        await handle(runtime, handlers.on_loan_cured, new_event(cured, source="/t"))
        CLOCK.pinned = datetime(2026, 6, 24, 8, 0, tzinfo=SHANGHAI)
        await dispatch(runtime.uow, {"sms": Failover([SandboxProvider()])}, CLOCK.pinned)
        assert (await _reminders(runtime, loan))[-1] == ("2026-06-23", "suppressed")
        last = [r for r in await history(runtime, loan) if r["purpose"] == "collection_reminder"]
        assert last[-1]["rule"] == "no_longer_overdue"
        # Current: no more reminders.
        for day in range(24, 30):
            await _remind(runtime, date(2026, 6, day))
        assert len(await _reminders(runtime, loan)) == 4
    finally:
        async with client(runtime, "admin") as admin:
            assert (await admin.post("/contact-strategies", json=DEFAULT_SPEC)).status_code == 201


async def test_a_message_deferred_in_the_night_opens_its_call_on_the_stage_of_the_morning(
    runtime: Runtime,
) -> None:
    """A broken plan's notice is decided at 23:30 while the loan's stage (from another topic)
    is still ``current``: deferred, no call yet. The stage change to ``early`` of the same
    close arrives after it. At 08:00 the notice is decided again and opens the call its stage
    asks for, as it would have had the stage change arrived first."""
    borrower, loan = unique("B"), unique("L")
    async with runtime.uow() as uow:
        await uow.profiles.put(
            borrower,
            "en",
            "Asia/Shanghai",
            Jurisdiction.CN,
            [(Channel.SMS, "+8613700000001", 1), (Channel.CALL, "+8613700000001", 2)],
        )
        await uow.loans.add(loan, borrower, "P", "CNY", "Asia/Shanghai")
        await uow.stages.set(loan, "current", date(2026, 7, 1))
        await uow.commit()
    CLOCK.pinned = datetime(2026, 7, 2, 23, 30, tzinfo=SHANGHAI)
    broken = restructure.PlanBroken(
        plan_id=unique("P"),
        loan_id=loan,
        broken_on=date(2026, 7, 2),
        missed_seq=2,
        on_break="resume_collections",
    )
    await handle(runtime, handlers.on_plan_broken, new_event(broken, source="/t"))
    async with runtime.uow() as uow:
        await uow.stages.set(loan, "early", date(2026, 7, 2))  # read after the break
        await uow.commit()
    night = await history(runtime, loan)
    assert [r["state"] for r in night] == ["decided", "deferred"]
    CLOCK.pinned = datetime(2026, 7, 3, 8, 0, tzinfo=SHANGHAI)
    await dispatch(runtime.uow, {"sms": Failover([SandboxProvider()])}, CLOCK.pinned)
    rows = await history(runtime, loan)
    calls = [r for r in rows if r["context"].get("kind") == "call"]
    assert [r["state"] for r in calls] == ["decided", "task_open"]
    assert calls[0]["trigger_key"] == f"call:{night[0]['trigger_key']}"
    # Decided again later (another round): one call task still.
    await dispatch(runtime.uow, {"sms": Failover([SandboxProvider()])}, CLOCK.pinned)
    assert len([r for r in await history(runtime, loan) if r["context"].get("kind")]) == 2


async def test_a_run_of_stage_changes_decides_each_on_its_own_events_stage(
    runtime: Runtime,
) -> None:
    """The consumer's batch of ``overdue.loan.stage_changed`` (a close of business moves
    thousands of loans): a loan twice in the run (early, then late the next day) has each
    trigger decided on its own event's stage, as one at a time; another loan in the same
    run gets its one decision; a loan never disbursed here is left out; the stage stored is
    the newest."""
    (_, twice), (_, once) = await setup(runtime), await setup(runtime)
    CLOCK.pinned = datetime(2026, 6, 2, 10, 0, tzinfo=SHANGHAI)
    day = date(2026, 6, 1)
    run = [
        _stage_changed(twice, day, "early"),
        _stage_changed(once, day, "early"),
        _stage_changed(unique("L-never"), day, "early"),
        _stage_changed(twice, day + timedelta(days=1), "late"),
    ]
    batch = CONSUMERS.by_type[run[0].type]
    assert isinstance(batch, Batchable)
    async with runtime.uow() as uow:
        await batch.many(uow, run)
        await uow.commit()

    def stages(rows: list[dict[str, Any]]) -> list[str]:
        return [
            next(r for r in rs if "stage" in r).split("stage ")[1]
            for rs in (row["reasons"] for row in rows if row["state"] == "queued")
            if any("stage" in r for r in rs)
        ]

    assert stages(await history(runtime, twice)) == ["early", "late"]
    assert stages(await history(runtime, once)) == ["early"]
    async with runtime.uow() as uow:
        assert await uow.batch.stages_of([twice, once]) == {twice: "late", once: "early"}


def _upcoming(loan: str, borrower: str, amount_minor: int) -> CloudEvent:
    return new_event(
        ledger.RepaymentUpcoming(
            loan_id=loan,
            borrower_id=borrower,
            seq=1,
            due_date=date(2026, 6, 4),
            days_before=3,
            amount_due_minor=amount_minor,
            currency="CNY",
            business_date=date(2026, 6, 1),
        ),
        source="/t",
    )


async def test_a_run_of_upcoming_reminders_states_each_loans_own_product_and_amount(
    runtime: Runtime,
) -> None:
    """The consumer's batch of ``ledger.repayment.upcoming`` (a close of business announces
    every instalment of the reminder days): one transaction for the run, and each message
    says its own loan's amount and its own product's penalty rate and credit-report day; a
    redelivered event in the same run is decided once."""
    rates = {"0.0005": 15, "0.001": 30}
    loans: dict[str, tuple[str, str]] = {}
    for rate, dpd in rates.items():
        borrower, _ = await setup(runtime)
        code, loan = unique("P"), unique("L")
        async with runtime.uow() as uow:
            await uow.loans.add(loan, borrower, code, "CNY", "Asia/Shanghai")
            await uow.commit()
        await publish_product(runtime, code, rate, dpd)
        loans[rate] = (loan, borrower)
    CLOCK.pinned = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
    first = _upcoming(*loans["0.0005"], 100_050)
    run = [first, _upcoming(*loans["0.001"], 250_000), first]
    batch = CONSUMERS.by_type[first.type]
    assert isinstance(batch, Batchable)
    async with runtime.uow() as uow:
        await batch.many(uow, run)
        await uow.commit()
    sandbox = SandboxProvider()
    await dispatch(runtime.uow, {"sms": Failover([sandbox])}, CLOCK.pinned)
    bodies = {}
    for rate, (loan, _) in loans.items():
        mine = {r["attempt_id"] for r in await history(runtime, loan)}
        [message] = [m for m in sandbox.messages.values() if m.attempt_id in mine]
        assert message.purpose == "upcoming_reminder"
        bodies[rate] = message.body
    for rate, pct, amount in (("0.0005", "0.05%", "CN¥1,000.50"), ("0.001", "0.1%", "CN¥2,500.00")):
        assert f"penalty of {pct} of the overdue amount per day" in bodies[rate]
        assert f"after {rates[rate]} days overdue" in bodies[rate]
        assert amount in bodies[rate]
