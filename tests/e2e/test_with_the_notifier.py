"""The notifier with the ledger and the overdue service over Kafka, on the simulated clock:
a missed instalment gives exactly one overdue notice, in the borrower's language, at an
allowed hour in the borrower's zone; the credit-report notice's delivery opens the overdue
service's reporting gate; and after the run no phone number or email address of the
profiles used appears in any event published, any log line captured or any metric label.

The ledger's business clock is shared by the session's tests and only moves forward: this
module's days follow the wire test's (September), and its name sorts after it."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaConsumer

from lendkit.testing import KAFKA, eventually
from notifier.adapters.providers import Failover, SandboxProvider

from .conftest import Platform, RunningService, close_business_days, open_loan

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = "+8613512348765"
EMAIL = "e2e.borrower@example.cn"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _set_clock(notifier: RunningService, body: dict[str, Any]) -> None:
    r = await notifier.client.post("/clock", json=body, headers={**notifier.ops, **_key()})
    assert r.status_code == 200, r.text


async def _attempts(notifier: RunningService, loan_id: str) -> list[dict[str, Any]]:
    r = await notifier.client.get(
        f"/loans/{loan_id}/contact-attempts", params={"limit": 500}, headers=notifier.ops
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _records(platform: Platform, topics: list[str] | None = None) -> list[Any]:
    """Every record of ``topics`` (default: every topic of the run's namespace), from the
    beginning."""
    if topics is None:
        probe = AIOKafkaConsumer(bootstrap_servers=KAFKA)
        await probe.start()
        try:
            topics = [t for t in await probe.topics() if t.startswith(platform.namespace)]
        finally:
            await probe.stop()
    else:
        topics = [platform.namespace + t for t in topics]
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=KAFKA, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list[Any] = []
    try:
        while batch := await consumer.getmany(timeout_ms=2000):
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def test_a_missed_instalment_gives_one_notice_and_the_notice_opens_the_gate(
    platform: Platform, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    ledger, notifier = platform["ledger"], platform["notifier"]
    sandbox = SandboxProvider()
    runtime: Any = notifier.runtime
    runtime.providers = {c: Failover([sandbox]) for c in ("push", "sms", "email")}
    code, loan_id = f"NTF-{uuid.uuid4().hex[:6]}", f"NTF-L-{uuid.uuid4().hex[:8]}"
    borrower = f"B-ntf-{uuid.uuid4().hex[:6]}"
    made = await notifier.client.post(
        f"/borrowers/{borrower}/contact-profile",
        json={
            "language": "zh-CN",
            "timezone": "Asia/Shanghai",
            "jurisdiction": "CN",
            "channels": [
                {"channel": "sms", "address": PHONE, "priority": 1},
                {"channel": "email", "address": EMAIL, "priority": 2},
            ],
        },
        headers={**notifier.ops, **_key()},
    )
    assert made.status_code == 200, made.text
    # The simulator's evening: every trigger of the night's close of business is deferred.
    await _set_clock(notifier, {"business_date": "2026-10-29", "time_of_day": "23:30"})
    try:
        product = {
            "code": code,
            "currency": "CNY",
            "annual_rate": "0.12",
            "term": 3,
            "reminder_days_before": [2],
            "overdue_policy": {
                "arrears_grace_days": 1,
                "penalty_daily_rate": "0.0005",
                "credit_report_notice_dpd": 3,
                "credit_report_wait_days": 0,
            },
        }
        loan = {
            "loan_id": loan_id,
            "borrower_id": borrower,
            "product_code": code,
            "principal_minor": 300_000,
            "disbursed_on": "2026-10-01",
        }
        await open_loan(ledger, product, loan)

        # Instalment 1 is due 2026-11-01 and never paid: overdue from DPD 2, notice at DPD 3.
        await close_business_days(ledger, date(2026, 10, 29), date(2026, 11, 4))

        async def notice_decided() -> bool:
            purposes = {(a["purpose"], a["state"]) for a in await _attempts(notifier, loan_id)}
            return {
                ("became_overdue", "deferred"),
                ("credit_report_notice", "deferred"),
            } <= purposes

        await eventually(notice_decided, timeout=180, interval=0.5)
        # Morning in Shanghai: the deferred sends go out at 08:00 local.
        await _set_clock(notifier, {"business_date": "2026-11-05", "time_of_day": "08:00"})

        async def notice_sent() -> bool:
            return any(m.purpose == "credit_report_notice" for m in sandbox.messages.values())

        await eventually(notice_sent, timeout=180, interval=0.5)
        # The became-overdue text (alone, or in the day's digest with the stage change).
        overdue_notices = [
            m for m in sandbox.messages.values() if f"您的贷款 {loan_id} 已逾期" in m.body
        ]
        assert len(overdue_notices) == 1, [m.body for m in sandbox.messages.values()]
        [notice] = overdue_notices
        assert notice.channel == "sms" and "退订" in notice.body and "¥" in notice.body

        # The gate: the notice's delivery (notifier.message.delivered.v1) lets overdue report
        # at its next close of business after it (the delivery and the day's end arrive on
        # different topics, so a day is closed at a time until the report is allowed).
        days = iter(date(2026, 11, d) for d in range(5, 31))

        async def reportable_on_the_wire() -> bool:
            if any(
                dict(r.headers).get("ce_type") == b"overdue.credit_report.reportable.v1"
                and r.key == loan_id.encode()
                for r in await _records(platform, ["overdue.loans"])
            ):
                return True
            day = next(days, None)
            if day is not None:
                await close_business_days(ledger, day, day)
            return False

        await eventually(reportable_on_the_wire, timeout=240, interval=5)
    finally:
        await _set_clock(notifier, {"simulated": False})
    records = await _records(platform)

    # Every message the notifier handed over for the loan was at an allowed local hour.
    sent_at = [
        datetime.fromisoformat(json.loads(r.value)["sent_at"]).astimezone(SHANGHAI)
        for r in records
        if dict(r.headers).get("ce_type") == b"notifier.message.sent.v1"
        and r.key == loan_id.encode()
    ]
    assert sent_at and all(8 <= t.hour < 22 for t in sent_at), sent_at

    # No phone number or email address in any event, log line or metric label.
    for record in records:
        text = (record.value or b"").decode() + str(record.headers) + str(record.key)
        assert PHONE not in text and EMAIL not in text, record.topic
    for entry in caplog.records:
        line = entry.getMessage() + json.dumps(entry.__dict__, default=str, ensure_ascii=False)
        assert PHONE not in line and EMAIL not in line
    out, err = capfd.readouterr()
    assert PHONE not in out + err and EMAIL not in out + err
    for service in platform.services.values():
        metrics = await service.client.get("/metrics", headers=service.ops)
        assert metrics.status_code == 200
        assert PHONE not in metrics.text and EMAIL not in metrics.text
