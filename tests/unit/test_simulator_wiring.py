"""The simulator's wiring to the services' real routes: the batch payment body and its
per-payment results, the restructure hearing (which offer a hardship borrower accepts, and
the accept call), the private platform's fast polling settings."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from ledger.entrypoints.schemas import PaymentBatchIn
from lendkit.auth import Role
from lendkit.settings import ServiceSettings
from simulator.gateway import BatchPaymentGateway, PaymentOrder
from simulator.local_platform import service_env
from simulator.seams import Seams, choose_offer
from simulator.target import SERVICES, PlatformTarget

pytestmark = pytest.mark.unit

DAY = date(2026, 3, 2)


class FakePlatform:
    """Records calls; answers from ``answer(path, json)``."""

    def __init__(self, answer: Any, paths: dict[str, set[str]] | None = None) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []
        self.paths = paths or {}

    def has(self, service: str, path: str) -> bool:
        return path in self.paths.get(service, set())

    async def call(self, service: str, method: str, path: str, **kw: Any) -> Any:
        self.calls.append({"service": service, "method": method, "path": path, **kw})
        return self.answer(path, kw.get("json"))


def _batch_answer(path: str, body: Any) -> Any:
    PaymentBatchIn.model_validate(body)  # the ledger's own schema accepts the body
    results = []
    for i, p in enumerate(body["payments"]):
        if p["amount_minor"] == 13:
            results.append(
                {"index": i, "status": 409, "payment": None, "problem": {"title": "taken"}}
            )
        else:
            results.append(
                {"index": i, "status": 201, "payment": {"payment_id": f"P-{p['loan_id']}"}}
            )
    return {"accepted": 0, "refused": 0, "results": list(reversed(results))}


def test_batch_gateway_sends_the_ledgers_body_in_chunks_of_500_one_result_per_payment() -> None:
    platform = FakePlatform(_batch_answer)
    orders = [PaymentOrder(f"L{i}", 100 + i, DAY, f"pay-L{i}-0") for i in range(1201)]
    orders[7] = PaymentOrder("L7", 13, DAY, "pay-L7-0")
    results = asyncio.run(BatchPaymentGateway(platform).send(orders))  # type: ignore[arg-type]
    assert [len(c["json"]["payments"]) for c in platform.calls] == [500, 500, 201]
    assert all(c["path"] == "/payments/batch" and c["role"] is Role.SERVICE for c in platform.calls)
    first = platform.calls[0]["json"]["payments"][0]
    assert first["idempotency_key"] == first["external_reference"] == "pay-L0-0"
    assert len({c["idempotency_key"] for c in platform.calls}) == 3
    assert [r.order for r in results] == orders
    assert results[0].payment_id == "P-L0" and results[1200].payment_id == "P-L1200"
    assert results[7].payment_id is None and "409" in (results[7].error or "")


def _option(plan_type: str, status: str | None = "open", eligible: bool = True) -> dict[str, Any]:
    return {
        "plan_type": plan_type,
        "eligible": eligible,
        "offer_id": None if status is None else f"O-{plan_type}",
        "offer_status": status,
        "quote": {"rewrites_schedule": True, "instalments": []},
    }


def test_the_borrower_accepts_the_first_open_offer_in_the_preference_order() -> None:
    hearing = {
        "options": [
            _option("promise_to_pay"),
            _option("term_extension", eligible=False, status=None),
            _option("re_amortisation", status="pending_approval"),
            _option("payment_holiday"),
        ]
    }
    assert choose_offer(hearing)["plan_type"] == "payment_holiday"  # type: ignore[index]
    assert choose_offer({"options": [_option("term_extension", eligible=False)]}) is None


def test_a_hardship_request_is_followed_by_accepting_the_chosen_offer() -> None:
    plan = {"plan_id": "PL1", "instalments": [{"due_date": "2026-04-01"}]}

    def answer(path: str, body: Any) -> Any:
        if path.endswith("/hardship-requests"):
            assert body == {"reason": "hardship (simulated): income fell"}
            return {"options": [_option("term_extension")]}
        return {"offer_id": "O-term_extension", "status": "accepted", "plan": plan}

    platform = FakePlatform(
        answer, {"restructure": {"/loans/{loan_id}/hardship-requests", "/loans/{loan_id}/promises"}}
    )
    seams = Seams(platform)  # type: ignore[arg-type]
    assert seams.has("restructure_requests") and seams.has("promises")
    answer_ = asyncio.run(seams.ask_plan("L1", "B1", DAY))
    assert answer_["plan"] == plan
    assert [c["path"] for c in platform.calls] == [
        "/loans/L1/hardship-requests",
        "/offers/O-term_extension/accept",
    ]
    assert all(c["role"] is Role.BORROWER and c["borrower_id"] == "B1" for c in platform.calls)
    assert platform.calls[1]["idempotency_key"]
    assert [(a.loan_id, a.plan_type, a.plan) for a in seams.accepted] == [
        ("L1", "term_extension", plan)
    ]


def test_a_promise_carries_the_restructure_services_body() -> None:
    platform = FakePlatform(
        lambda p, b: {"promise_id": "PR1"}, {"restructure": {"/loans/{loan_id}/promises"}}
    )
    seams = Seams(platform)  # type: ignore[arg-type]
    asyncio.run(seams.promise("L1", "B1", 1234, DAY))
    assert platform.calls[0]["json"] == {"amount_minor": 1234, "promised_on": "2026-03-02"}
    assert asyncio.run(seams.promise("L1", "B1", 0, DAY)) is None  # nothing owed: no promise


def test_routes_a_service_lacks_are_skipped() -> None:
    seams = Seams(FakePlatform(lambda p, b: None))  # type: ignore[arg-type]
    assert set(seams.skipped) == {
        "restructure_requests",
        "promises",
        "call_outcomes",
        "notifier_time_of_day",
    }
    assert asyncio.run(seams.time_of_day(DAY, "08:00")) is None
    assert asyncio.run(seams.ask_plan("L1", "B1", DAY)) is None


def test_the_private_platform_polls_outboxes_and_the_dispatcher_every_50_ms() -> None:
    target = PlatformTarget(
        urls={s: f"http://127.0.0.1:{8220 + i}" for i, s in enumerate(SERVICES)},
        namespace="x.",
        groups={s: f"x-{s}" for s in SERVICES},
        databases={s: f"postgresql://h/x_{s}" for s in SERVICES},
        kafka="k:1",
    )
    for s in SERVICES:
        env = service_env(target, s)
        assert env[f"{s.upper()}_OUTBOX_POLL_INTERVAL_MS"] == "50"
        # the setting name is the kit's own (a typo would be silently ignored)
        assert "outbox_poll_interval_ms" in ServiceSettings.model_fields
    assert service_env(target, "notifier")["NOTIFIER_DISPATCH_INTERVAL_MS"] == "50"
