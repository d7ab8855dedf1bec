"""Signed delivery receipts over REST against the real database: a receipt is a new row of the
attempt with its event, a replay records nothing, a bad signature is a 401 problem; the ops
reads show delivery rate and time to receipt by channel and provider, suppressions by rule
and undeliverable mandatory notices."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import select

from lendkit.app import create_service_app
from lendkit.contracts import overdue
from lendkit.events import new_event
from lendkit.kit_tables import outbox
from lendkit.runtime import ServiceRuntime
from lendkit.testing import unique
from notifier.adapters.providers import Failover, WebhookProvider
from notifier.bootstrap import create_runtime
from notifier.domain.policy import Channel, Jurisdiction
from notifier.domain.receipt_signature import SIGNATURE_HEADER, sign
from notifier.entrypoints import delivery_api
from notifier.entrypoints.api import router
from notifier.service_layer import handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch
from notifier.service_layer.unit_of_work import NotifierUnitOfWork
from notifier.settings import Settings, WebhookEndpoint

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRET = "receipt-secret-of-the-test-provider"


class Setup:
    def __init__(self, runtime: ServiceRuntime[NotifierUnitOfWork], provider: str) -> None:
        self.runtime = runtime
        self.provider = provider
        self.borrower = unique("B")
        self.loans: list[str] = []

    def client(self, role: str) -> httpx.AsyncClient:
        app = create_service_app(
            self.runtime, title="t", description="", routers=[router, delivery_api.router]
        )
        token = self.runtime.tokens.issue(f"{role}-1", [role])
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://notifier",
            headers={"Authorization": f"Bearer {token}"},
        )

    async def became_overdue(self, loan: str, at: datetime) -> None:
        """The borrower (SMS only) has ``loan`` become overdue, decided at ``at``."""
        CLOCK.pinned = at
        async with self.runtime.uow() as uow:
            await uow.profiles.put(
                self.borrower, "en", "Asia/Shanghai", Jurisdiction.CN, [(Channel.SMS, "+1555", 1)]
            )
            await handlers.on_loan_became_overdue(
                uow,
                new_event(
                    overdue.LoanBecameOverdue(
                        loan_id=loan,
                        borrower_id=self.borrower,
                        business_date=date(2026, 6, 1),
                        oldest_unpaid_due_date=date(2026, 5, 31),
                        days_past_due=1,
                        bucket="1-30",
                        overdue_minor=500,
                        currency="CNY",
                    ),
                    source="/tests/overdue",
                ),
            )
            await uow.commit()

    async def sent_attempt(self, purpose: str = "became_overdue") -> str:
        """One overdue notice recorded and handed to the webhook provider (accepted, 202)."""
        loan = unique("L")
        self.loans.append(loan)
        await self.became_overdue(loan, datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
        hook = WebhookProvider(
            self.provider,
            "http://provider.test/send",
            client=httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(202))),
        )
        result = await dispatch(self.runtime.uow, {"sms": Failover([hook])}, CLOCK.pinned)
        assert result.sent == 1
        async with self.runtime.uow() as uow:
            [attempt_id] = {r["attempt_id"] for r in await uow.attempts.history(loan_id=loan)}
        return str(attempt_id)

    async def receipt(
        self, attempt_id: str, status: str = "delivered", *, secret: str = SECRET, **extra: str
    ) -> httpx.Response:
        body = json.dumps({"attempt_id": attempt_id, "status": status, **extra}).encode()
        async with self.client("service") as service:
            return await service.post(
                f"/providers/{self.provider}/delivery-receipts",
                content=body,
                headers={
                    "content-type": "application/json",
                    SIGNATURE_HEADER: sign(secret, body),
                    "Idempotency-Key": unique("k"),
                },
            )

    async def states(self, loan: str) -> list[str]:
        async with self.runtime.uow() as uow:
            return [r["state"] for r in await uow.attempts.history(loan_id=loan)]

    async def events(self, loan: str) -> list[str]:
        async with self.runtime.session_factory() as session:
            rows = await session.execute(
                select(outbox.c.event_type)
                .where(outbox.c.message_key == loan)
                .order_by(outbox.c.id)
            )
            return list(rows.scalars())


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    provider = unique("hook").lower()
    runtime = create_runtime(
        Settings(
            database_url=database_url,
            run_consumers=False,
            run_outbox_relay=False,
            provider_secrets={provider: SecretStr(SECRET)},
        )
    )
    await runtime.start(background=False)
    try:
        yield Setup(runtime, provider)
    finally:
        CLOCK.pinned = None
        await runtime.stop()


def _receipts_observed(provider: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "notifier_time_to_receipt_seconds_count",
        {"provider": provider, "channel": "sms", "status": status},
    )
    return value or 0.0


async def test_a_signed_receipt_is_a_new_delivered_row_with_its_event_and_a_replay_is_not(
    setup: Setup,
) -> None:
    attempt = await setup.sent_attempt()
    [loan] = setup.loans
    assert await setup.states(loan) == ["decided", "queued", "sent"]

    first = await setup.receipt(attempt, provider_reference="prov-1")
    assert first.status_code == 200, first.text
    assert first.json()["recorded"] is True and first.json()["state"] == "delivered"
    assert first.json()["seconds_to_receipt"] >= 0
    assert _receipts_observed(setup.provider, "delivered") == 1

    replay = await setup.receipt(attempt, provider_reference="prov-1")
    assert replay.status_code == 200 and replay.json()["recorded"] is False
    contradicting = await setup.receipt(attempt, "failed", reason="handset_unreachable")
    assert contradicting.json() == {**contradicting.json(), "recorded": False, "state": "delivered"}

    assert await setup.states(loan) == ["decided", "queued", "sent", "delivered"]
    assert await setup.events(loan) == ["notifier.message.sent.v1", "notifier.message.delivered.v1"]
    assert _receipts_observed(setup.provider, "delivered") == 1


async def test_a_failed_receipt_records_failed_and_publishes_message_failed(setup: Setup) -> None:
    attempt = await setup.sent_attempt()
    answer = await setup.receipt(attempt, "failed", reason="handset_unreachable")
    assert answer.status_code == 200 and answer.json()["state"] == "failed"
    [loan] = setup.loans
    assert await setup.states(loan) == ["decided", "queued", "sent", "failed"]
    assert await setup.events(loan) == ["notifier.message.sent.v1", "notifier.message.failed.v1"]


class CountingHook:
    """A webhook provider (MockTransport) answering ``status`` and counting its calls."""

    def __init__(self, name: str, status: int = 202) -> None:
        self.calls: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            self.calls.append(request.headers["Idempotency-Key"])
            return httpx.Response(status)

        self.provider = WebhookProvider(
            name,
            "http://provider.test/send",
            client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        )


@pytest.fixture
async def two_providers(database_url: str) -> AsyncIterator[Setup]:
    """A runtime whose SMS goes to two webhooks by priority: ``<first>`` then ``<first>-2``."""
    first = unique("hook").lower()
    second = f"{first}-2"
    runtime = create_runtime(
        Settings(
            database_url=database_url,
            run_consumers=False,
            run_outbox_relay=False,
            webhooks=[
                WebhookEndpoint(name=second, url="http://second.test", priority=2),
                WebhookEndpoint(name=first, url="http://first.test", priority=1),
            ],
            provider_secrets={first: SecretStr(SECRET), second: SecretStr(SECRET)},
        )
    )
    await runtime.start(background=False)
    try:
        yield Setup(runtime, first)
    finally:
        CLOCK.pinned = None
        await runtime.stop()


async def test_a_failed_receipt_fails_over_to_the_next_provider_of_the_channel(
    two_providers: Setup,
) -> None:
    """The first provider accepts the message, then reports it failed: the attempt is queued
    again and the next round sends it by the second provider (same idempotency key, the first
    not called again), with no ``message.failed``; the second's failure is final."""
    setup = two_providers
    first, second = setup.provider, f"{setup.provider}-2"
    attempt = await setup.sent_attempt()
    [loan] = setup.loans

    failed = await setup.receipt(attempt, "failed", reason="handset_unreachable")
    assert failed.status_code == 200, failed.text
    assert failed.json()["failed_over_to"] == second and failed.json()["state"] == "failed"
    assert await setup.states(loan) == ["decided", "queued", "sent", "failed", "queued"]
    assert await setup.events(loan) == ["notifier.message.sent.v1"]

    # Another notice to the same borrower that day is ready in the same round: the failed-over
    # attempt is not digested with it (it must skip the first provider, the other need not).
    other_loan = unique("L")
    await setup.became_overdue(other_loan, CLOCK.pinned)
    async with setup.runtime.uow() as uow:
        [other] = {r["attempt_id"] for r in await uow.attempts.history(loan_id=other_loan)}
    hooks = [CountingHook(first), CountingHook(second)]
    chain = {"sms": Failover([h.provider for h in hooks])}
    round_ = await dispatch(setup.runtime.uow, chain, CLOCK.pinned)
    assert (round_.sent, round_.failed) == (2, 0)
    assert (hooks[0].calls, hooks[1].calls) == ([other], [attempt])
    assert await setup.states(loan) == ["decided", "queued", "sent", "failed", "queued", "sent"]
    async with setup.runtime.uow() as uow:
        sent_by = [r["provider"] for r in await uow.attempts.history(loan_id=loan)]
    assert sent_by[-1] == second
    assert (await dispatch(setup.runtime.uow, chain, CLOCK.pinned)).sent == 0

    # The first provider's late, contradicting receipt changes nothing.
    late = await setup.receipt(attempt, "delivered")
    assert late.status_code == 200 and late.json()["recorded"] is False
    assert late.json()["state"] == "failed"

    # The second one fails too: no provider is left, the failure is final.
    setup.provider = second
    final = await setup.receipt(attempt, "failed", reason="handset_unreachable")
    assert final.json()["failed_over_to"] is None and final.json()["recorded"] is True
    assert (await setup.states(loan))[-1] == "failed"
    assert await setup.events(loan) == [
        "notifier.message.sent.v1",
        "notifier.message.sent.v1",
        "notifier.message.failed.v1",
    ]
    assert (await dispatch(setup.runtime.uow, chain, CLOCK.pinned)).sent == 0
    assert hooks[0].calls == [other]

    today = datetime.now(UTC).date().isoformat()
    async with setup.client("ops") as ops:
        report = (await ops.get("/ops/delivery", params={"since": today, "until": today})).json()
    mine = {
        r["provider"]: (r["sent"], r["delivered"], r["failed"])
        for r in report["by_channel_and_provider"]
        if r["provider"] in (first, second)
    }
    assert mine == {first: (2, 0, 1), second: (1, 0, 1)}


async def test_a_bad_or_missing_signature_is_a_401_problem_and_records_nothing(
    setup: Setup,
) -> None:
    attempt = await setup.sent_attempt()
    wrong = await setup.receipt(attempt, secret="not-the-providers-secret")
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    async with setup.client("service") as service:
        unsigned = await service.post(
            f"/providers/{setup.provider}/delivery-receipts",
            json={"attempt_id": attempt, "status": "delivered"},
            headers={"Idempotency-Key": unique("k")},
        )
        assert unsigned.status_code == 401
        # A provider with no configured secret cannot vouch for anything.
        other = await service.post(
            "/providers/unconfigured/delivery-receipts",
            json={"attempt_id": attempt, "status": "delivered"},
            headers={SIGNATURE_HEADER: sign(SECRET, b"{}")},
        )
        assert other.status_code == 401
    [loan] = setup.loans
    assert await setup.states(loan) == ["decided", "queued", "sent"]


async def test_a_receipt_for_an_unknown_attempt_is_404(setup: Setup) -> None:
    answer = await setup.receipt("00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 404


async def test_ops_delivery_rate_and_time_to_receipt_by_channel_and_provider(setup: Setup) -> None:
    delivered, failed, silent = [await setup.sent_attempt() for _ in range(3)]
    await setup.receipt(delivered)
    await setup.receipt(failed, "failed", reason="bounced")
    today = datetime.now(UTC).date().isoformat()
    async with setup.client("ops") as ops:
        report = (await ops.get("/ops/delivery", params={"since": today, "until": today})).json()
    [mine] = [r for r in report["by_channel_and_provider"] if r["provider"] == setup.provider]
    assert (mine["channel"], mine["sent"], mine["delivered"], mine["failed"]) == ("sms", 3, 1, 1)
    assert mine["delivery_rate"] == pytest.approx(1 / 3)
    assert mine["median_seconds_to_receipt"] >= 0
    assert silent  # sent, no receipt yet: counted as sent only
    async with setup.client("borrower") as borrower:
        assert (await borrower.get("/ops/delivery")).status_code == 403


async def test_ops_suppressions_by_rule_and_undeliverable_notices_paginated(
    setup: Setup,
) -> None:
    async def count(rule: str) -> int:
        async with setup.client("ops") as ops:
            report = (await ops.get("/ops/suppressions")).json()
        return sum(r["attempts"] for r in report["by_rule"] if r["rule"] == rule)

    before = await count("no_allowed_channel")
    borrower = setup.borrower
    CLOCK.pinned = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
    async with setup.runtime.uow() as uow:
        await uow.profiles.put(
            borrower, "en", "Asia/Shanghai", Jurisdiction.CN, [(Channel.SMS, "+1555", 1)]
        )
        await uow.profiles.opt_out(borrower, Channel.SMS, CLOCK.pinned)
        for _ in range(3):
            await handlers.on_credit_report_notice_due(
                uow,
                new_event(
                    overdue.CreditReportNoticeDue(
                        loan_id=unique("L"),
                        borrower_id=borrower,
                        business_date=date(2026, 6, 1),
                        days_past_due=30,
                    ),
                    source="/tests/overdue",
                ),
            )
        await uow.commit()
    assert await count("no_allowed_channel") == before + 3

    seen: list[dict[str, object]] = []
    cursor: str | None = None
    async with setup.client("ops") as ops:
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await ops.get("/ops/undeliverable-notices", params=params)).json()
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    mine = [n for n in seen if n["borrower_id"] == borrower]
    assert len(mine) == 3
    assert {n["purpose"] for n in mine} == {"credit_report_notice"}
    assert len({n["attempt_id"] for n in seen}) == len(seen)  # pages do not overlap


async def test_ops_suppressions_count_deferrals_by_rule(setup: Setup) -> None:
    """A message held for the borrower's morning is in the report as a deferral by its rule
    (``quiet_hours``), beside the suppressions."""

    async def deferred(rule: str) -> int:
        async with setup.client("ops") as ops:
            report = (await ops.get("/ops/suppressions")).json()
        return sum(
            r["attempts"]
            for r in report["by_rule"]
            if (r["rule"], r["state"]) == (rule, "deferred")
        )

    before = await deferred("quiet_hours")
    await setup.became_overdue(unique("L"), datetime(2026, 6, 1, 23, 30, tzinfo=SHANGHAI))
    assert await deferred("quiet_hours") == before + 1
