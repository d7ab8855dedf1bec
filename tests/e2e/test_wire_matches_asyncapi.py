"""What goes over Kafka is what ``docs/asyncapi.json`` says: one loan's life through the
ledger and the overdue service (missed instalment, penalties, stages, credit-report gate,
pause and resume, a waiver, a reversed payment, a restructuring, payoff; discounted
settlements paid in time then bounced, and lapsed, on two more loans), then every
message on the platform's topics is read raw and checked against the AsyncAPI document:
its channel lists the message, and its headers, key and payload validate against the
message's header schema, key binding and payload schema. Every event type of the catalogue
must be seen (the notifier's call outcome and promise come from the running notifier; its
message events and the restructure service's are also published here as those services would)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from aiokafka import AIOKafkaConsumer

from lendkit.contracts.money import InstalmentTerms
from lendkit.contracts.notifier import (
    MessageDeferred,
    MessageDelivered,
    MessageFailed,
    MessageSent,
    MessageSuppressed,
)
from lendkit.contracts.restructure import (
    ForbearanceChanged,
    HardshipRequested,
    OfferExpired,
    OfferMade,
    PlanAccepted,
    PlanAcceptedV2,
    PlanActivated,
    PlanBroken,
    PlanCancelled,
    PlanCompleted,
    PromiseFallingDue,
    PromiseMade,
    PromiseResolved,
    QuoteIssued,
)
from lendkit.events import new_event
from lendkit.events.generate import contract_specs
from lendkit.testing import KAFKA, eventually

from .conftest import Platform, RunningService, close_business_days, open_loan

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _raw_messages(topics: list[str], until: set[str], timeout: float) -> list[Any]:
    """Every record of ``topics`` from the beginning, until the types in ``until`` were seen
    (or ``timeout``)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=KAFKA,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[Any] = []
    seen: set[str] = set()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                for record in partition_records:
                    records.append(record)
                    headers = {k: v.decode() for k, v in record.headers}
                    seen.add(headers.get("ce_type", ""))
            if until <= seen and not batch:
                break
    finally:
        await consumer.stop()
    return records


async def _types_of(platform: Platform, topic: str, key: str) -> set[str]:
    """The event types on ``topic`` so far for one key (other tests share the topics)."""
    records = await _raw_messages([platform.namespace + topic], set(), timeout=2)
    return {
        dict(r.headers).get("ce_type", b"").decode()
        for r in records
        if r.key is not None and r.key.decode() == key
    }


async def _wait_for(platform: Platform, topic: str, type_: str, key: str) -> None:
    async def seen() -> bool:
        return type_ in await _types_of(platform, topic, key)

    # Generous: a day closed after a long gap is caught up day by day by every service on a
    # shared machine; the condition, not the time, is what is asserted.
    await eventually(seen, timeout=180, interval=0.5)


async def _post(service: RunningService, path: str, body: dict[str, Any]) -> Any:
    headers = {**service.ops, **_key()}
    r = await service.client.post(path, json=body, headers=headers)
    assert r.status_code in (200, 201), (path, r.text)
    return r.json()


async def _publish(platform: Platform, payload: Any, source: str) -> None:
    event = new_event(payload, source=source)
    producer = platform["ledger"].runtime.producer
    await producer.send_and_wait(
        platform.namespace + event.topic,
        value=event.data,
        key=event.key_bytes(),
        headers=event.headers(),
    )


async def test_every_message_on_the_wire_matches_the_asyncapi_document(
    platform: Platform,
) -> None:
    ledger, overdue = platform["ledger"], platform["overdue"]
    code, loan_id = f"WIRE-{uuid.uuid4().hex[:6]}", f"WIRE-L-{uuid.uuid4().hex[:8]}"
    product = {
        "code": code,
        "currency": "CNY",
        "annual_rate": "0.12",
        "term": 3,
        "reminder_days_before": [2],
        "overdue_policy": {
            "arrears_grace_days": 1,
            "credit_report_notice_dpd": 3,
            "credit_report_wait_days": 0,
            "escalation": {
                "reminder_dpd": 1,
                "early_dpd": 2,
                "mid_dpd": 31,
                "late_dpd": 61,
                "legal_dpd": 91,
                "charge_off_candidate_dpd": 180,
            },
        },
    }
    loan = {
        "loan_id": loan_id,
        "borrower_id": "B-wire",
        "product_code": code,
        "principal_minor": 300_000,
        "disbursed_on": "2026-08-10",
    }
    await open_loan(ledger, product, loan)
    # Two loans for discounted settlements: one paid in time, one lapsing.
    settle_id, lapse_id = (f"WIRE-S-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for other in (settle_id, lapse_id):
        r = await ledger.client.post(
            "/loans",
            json={**loan, "loan_id": other},
            headers={**ledger.ops, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
    # The notifier, a real service here: a call task for the loan and its outcome (a promise to
    # pay) give notifier.call.outcome_recorded.v1 and notifier.promise.made.v1.
    notifier = platform["notifier"]
    await _post(
        notifier,
        "/borrowers/B-wire/contact-profile",
        {
            "language": "en",
            "timezone": "Asia/Shanghai",
            "jurisdiction": "CN",
            "channels": [{"channel": "call", "address": "+10000000099"}],
        },
    )
    await _post(notifier, "/clock", {"business_date": "2026-08-11", "time_of_day": "10:00"})
    try:
        opened: dict[str, Any] = {}

        async def call_task_opened() -> bool:
            r = await notifier.client.post(
                f"/loans/{loan_id}/call-tasks", json={}, headers={**notifier.ops, **_key()}
            )
            opened.update(r.json() if r.status_code == 201 else {})
            return r.status_code == 201  # once the notifier has seen the loan disbursed

        await eventually(call_task_opened, timeout=60, interval=0.5)
        assert opened["outcome"] == "open", opened
        await _post(
            notifier,
            f"/call-tasks/{opened['call_id']}/outcome",
            {
                "outcome": "promise_to_pay",
                "promised_on": "2026-08-20",
                "amount_minor": 1_000,
                "currency": "CNY",
            },
        )
    finally:
        await _post(notifier, "/clock", {"simulated": False})

    # Missed instalment 1 (due 2026-09-10): reminder, due, overdue, penalties, stages, notice.
    await close_business_days(ledger, date(2026, 9, 7), date(2026, 9, 15))
    await _wait_for(platform, "overdue.loans", "overdue.credit_report.notice_due.v1", loan_id)
    await _publish(
        platform,
        MessageDelivered(
            loan_id=loan_id,
            message_id=uuid.uuid4().hex,
            purpose="credit_report_notice",
            channel="sms",
            delivered_on=date(2026, 9, 15),
        ),
        source="notifier",
    )
    await close_business_days(ledger, date(2026, 9, 16), date(2026, 9, 17))
    await _wait_for(platform, "overdue.loans", "overdue.credit_report.reportable.v1", loan_id)
    at = datetime(2026, 9, 15, 9, 0, tzinfo=UTC)
    ids = {"loan_id": loan_id, "message_id": uuid.uuid4().hex, "borrower_id": "B-wire"}
    for fact in (
        MessageSent(
            **ids,
            purpose="became_overdue",
            channel="sms",
            provider="sandbox",
            template_version="1",
            sent_at=at,
        ),
        MessageFailed(
            **ids, purpose="became_overdue", channel="email", reason="refused", failed_at=at
        ),
        MessageSuppressed(**ids, purpose="stage_changed", rule="opt_out", decided_at=at),
        MessageDeferred(**ids, purpose="stage_changed", channel="sms", until=at, decided_at=at),
    ):
        await _publish(platform, fact, source="notifier")

    await _post(overdue, f"/loans/{loan_id}/pause", {"reason": "dispute"})
    await _post(overdue, f"/loans/{loan_id}/resume", {"reason": "resolved"})
    await _post(
        overdue, f"/loans/{loan_id}/penalty-waivers", {"amount_minor": 1, "reason": "goodwill"}
    )
    await _wait_for(platform, "overdue.loans", "overdue.penalty.waived.v1", loan_id)

    small = await _post(
        ledger,
        f"/loans/{loan_id}/payments",
        {"external_reference": uuid.uuid4().hex, "amount_minor": 100, "value_date": "2026-09-18"},
    )
    await _post(
        ledger, f"/loans/{loan_id}/payments/{small['payment_id']}/reversal", {"reason": "bounced"}
    )

    # Restructured: the plan rewrites the schedule.
    await _publish(
        platform,
        PlanAccepted(
            plan_id=uuid.uuid4().hex,
            loan_id=loan_id,
            option="term_extension",
            effective_date=date(2026, 9, 18),
            first_due_date=date(2026, 10, 18),
            new_term=4,
            new_annual_rate="0.12",
        ),
        source="restructure",
    )
    await _wait_for(platform, "ledger.loans", "ledger.schedule.rewritten.v1", loan_id)
    # The exact-schedule version, for a loan no service knows (both consumers refuse it to
    # their dead letters; here only its shape on the wire matters).
    await _publish(
        platform,
        PlanAcceptedV2(
            plan_id=uuid.uuid4().hex,
            loan_id=f"WIRE-NONE-{uuid.uuid4().hex[:6]}",
            plan_type="rate_reduction",
            currency="CNY",
            effective_date=date(2026, 9, 18),
            new_annual_rate="0",
            rewrites_schedule=True,
            outstanding_principal_minor=1_000,
            instalments=[
                InstalmentTerms(
                    seq=4, due_date=date(2026, 10, 18), principal_minor=1_000, interest_minor=0
                )
            ],
        ),
        source="restructure",
    )

    # Discounted settlements (2,000.00 of the 3,000.00 principal, 1,000.00 written off): held
    # (ledger.plan.booked), one paid in time (ledger.settlement.completed), one lapsing at
    # the close of its deadline day (ledger.settlement.lapsed).
    for other, deadline in ((settle_id, date(2026, 9, 30)), (lapse_id, date(2026, 9, 18))):
        await _publish(
            platform,
            PlanAcceptedV2(
                plan_id=uuid.uuid4().hex,
                loan_id=other,
                plan_type="discounted_settlement",
                currency="CNY",
                effective_date=date(2026, 9, 18),
                new_annual_rate="0.12",
                rewrites_schedule=True,
                outstanding_principal_minor=300_000,
                instalments=[
                    InstalmentTerms(
                        seq=4, due_date=deadline, principal_minor=200_000, interest_minor=0
                    )
                ],
                written_off_principal_minor=100_000,
                settlement_deadline=deadline,
            ),
            source="restructure",
        )
        await _wait_for(platform, "ledger.loans", "ledger.plan.booked.v1", other)
    settling = await _post(
        ledger,
        f"/loans/{settle_id}/payments",
        {
            "external_reference": uuid.uuid4().hex,
            "amount_minor": 200_000,
            "value_date": "2026-09-18",
        },
    )
    await _wait_for(platform, "ledger.loans", "ledger.settlement.completed.v1", settle_id)
    # The settling payment bounces: the settlement is void (ledger.settlement.reversed).
    await _post(
        ledger,
        f"/loans/{settle_id}/payments/{settling['payment_id']}/reversal",
        {"reason": "bounced"},
    )
    await _wait_for(platform, "ledger.loans", "ledger.settlement.reversed.v1", settle_id)
    # The rest of the restructure service's facts, in the shapes it publishes them (its own
    # flow is tests/e2e/test_restructure_plan_lifecycle.py), for a loan nobody else acts on.
    other = f"WIRE-RS-{uuid.uuid4().hex[:6]}"
    day = date(2026, 9, 18)
    for fact in (
        HardshipRequested(request_id="R-w", loan_id=other, requested_on=day, reason="ill"),
        QuoteIssued(
            quote_id="Q-w",
            request_id="R-w",
            loan_id=other,
            plan_type="term_extension",
            total_cost_minor=1_000,
            effective_annual_cost="0.1200",
            expires_on=day,
        ),
        OfferMade(
            offer_id="O-w",
            loan_id=other,
            plan_type="term_extension",
            expires_on=day,
            made_by="restructure",
        ),
        OfferExpired(offer_id="O-w", loan_id=other, expired_on=day),
        PlanActivated(plan_id="P-w", loan_id=other, activated_on=day, schedule_version=2),
        PlanBroken(
            plan_id="P-w",
            loan_id=other,
            broken_on=day,
            missed_seq=4,
            on_break="resume_collections",
        ),
        PlanCompleted(plan_id="P-w2", loan_id=other, completed_on=day),
        PlanCancelled(plan_id="P-w3", loan_id=other, plan_type="term_extension", cancelled_on=day),
        PromiseMade(
            promise_id="PR-w",
            loan_id=other,
            made_on=day,
            promised_on=day,
            amount_minor=500,
            currency="CNY",
        ),
        PromiseFallingDue(
            promise_id="PR-w",
            loan_id=other,
            business_date=day,
            promised_on=day + timedelta(days=1),
            amount_minor=500,
            remaining_minor=200,
            currency="CNY",
        ),
        PromiseResolved(
            promise_id="PR-w", loan_id=other, resolved_on=day, outcome="kept", matched_minor=500
        ),
        ForbearanceChanged(
            loan_id=other,
            event="forbearance_started",
            on=day,
            status="probation",
            forborne_on=day,
            probation_starts_on=day,
            probation_ends_on=date(2028, 9, 18),
        ),
    ):
        await _publish(platform, fact, source="restructure")

    # Paid off (more than everything, the rest stays a credit balance): every instalment
    # settled, the loan settled and cured.
    async def penalties_in() -> bool:
        owed = await ledger.client.get(f"/loans/{loan_id}/owed", headers=ledger.ops)
        return not owed.json()["settling"]

    await eventually(penalties_in, timeout=60, interval=0.5)
    await _post(
        ledger,
        f"/loans/{loan_id}/payments",
        {
            "external_reference": uuid.uuid4().hex,
            "amount_minor": 1_000_000,
            "value_date": "2026-09-18",
        },
    )
    await _wait_for(platform, "ledger.loans", "ledger.loan.settled.v1", loan_id)
    await _wait_for(platform, "overdue.loans", "overdue.loan.cured.v1", loan_id)
    await close_business_days(ledger, date(2026, 9, 18), date(2026, 9, 18))
    await _wait_for(platform, "ledger.loans", "ledger.settlement.lapsed.v1", lapse_id)

    asyncapi = json.loads((DOCS / "asyncapi.json").read_text())
    messages = asyncapi["components"]["messages"]
    by_type = {m["name"]: m for m in messages.values()}
    payload_schemas = {
        s.type: json.loads((DOCS / "events" / "schemas" / s.schema_file).read_text())
        for s in contract_specs()
    }
    channels = {
        name: {ref["$ref"].rsplit("/", 1)[-1] for ref in channel["messages"].values()}
        for name, channel in asyncapi["channels"].items()
    }
    every_type = set(by_type)
    loan_topics = [platform.namespace + t for t in channels if not t.endswith(".dlt")]
    records = await _raw_messages(loan_topics, every_type, timeout=60)

    seen: set[str] = set()
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        type_ = headers.get("ce_type")
        assert type_ in by_type, (record.topic, headers)
        message = by_type[type_]
        where = (record.topic, type_, record.key)
        channel = record.topic.removeprefix(platform.namespace)
        assert type_.replace(".", "_") in channels[channel], where
        jsonschema.validate(headers, message["headers"])
        key = None if record.key is None else record.key.decode()
        jsonschema.validate(key, message["bindings"]["kafka"]["key"])
        if key is not None:
            assert headers.get("ce_subject") == key, where
        jsonschema.validate(json.loads(record.value), payload_schemas[type_])
        seen.add(type_)
    assert seen == every_type, f"never seen on the wire: {sorted(every_type - seen)}"
