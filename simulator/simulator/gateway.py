"""The payment gateway: how payments reach the ledger, as a payment channel sends them
(service role, one idempotency key and external reference per payment).

``SinglePaymentGateway`` posts one ``POST /loans/{id}/payments`` per payment (what the ledger
has for one payment). ``BatchPaymentGateway`` posts ``POST /payments/batch`` (a settlement
file's path, one result per payment), chosen automatically when the ledger's OpenAPI lists
it: a day's payments are a few batch requests instead of one request each. Both answer one
:class:`PaymentResult` per payment, in order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from lendkit.auth import Role
from simulator.client import Platform

BATCH_PATH = "/payments/batch"
BATCH_SIZE = 500


@dataclass(frozen=True)
class PaymentOrder:
    loan_id: str
    amount_minor: int
    value_date: date
    reference: str  # the gateway's external reference, also the idempotency key


@dataclass(frozen=True)
class PaymentResult:
    order: PaymentOrder
    payment_id: str | None
    error: str | None = None


class PaymentGateway(Protocol):
    name: str

    async def send(self, orders: list[PaymentOrder]) -> list[PaymentResult]: ...


class SinglePaymentGateway:
    name = "single POST /loans/{id}/payments"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def _one(self, order: PaymentOrder) -> PaymentResult:
        body = await self.platform.call(
            "ledger",
            "POST",
            f"/loans/{order.loan_id}/payments",
            role=Role.SERVICE,
            json={
                "external_reference": order.reference,
                "amount_minor": order.amount_minor,
                "value_date": order.value_date.isoformat(),
            },
            idempotency_key=order.reference,
        )
        return PaymentResult(order, body["payment_id"])

    async def send(self, orders: list[PaymentOrder]) -> list[PaymentResult]:
        return list(await asyncio.gather(*(self._one(o) for o in orders)))


class BatchPaymentGateway:
    """``POST /payments/batch`` (the ledger's ``post_payment_batch``): up to 500 payments
    ``{loan_id, idempotency_key, external_reference, amount_minor, value_date}`` per
    request, answered by ``{"accepted", "refused", "results": [{index, status, payment |
    problem}]}``, one result per payment in order. A day's payments go in chunks of 500,
    the chunks concurrently (the client's concurrency bounds them)."""

    name = "batch POST /payments/batch"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def _chunk(self, orders: list[PaymentOrder]) -> list[PaymentResult]:
        body = await self.platform.call(
            "ledger",
            "POST",
            BATCH_PATH,
            role=Role.SERVICE,
            json={
                "payments": [
                    {
                        "loan_id": o.loan_id,
                        "idempotency_key": o.reference,
                        "external_reference": o.reference,
                        "amount_minor": o.amount_minor,
                        "value_date": o.value_date.isoformat(),
                    }
                    for o in orders
                ]
            },
            idempotency_key=f"batch-{orders[0].reference}-{len(orders)}",
        )
        results: list[dict[str, Any]] = sorted(body["results"], key=lambda r: r["index"])
        return [_result(o, r) for o, r in zip(orders, results, strict=True)]

    async def send(self, orders: list[PaymentOrder]) -> list[PaymentResult]:
        chunks = [orders[i : i + BATCH_SIZE] for i in range(0, len(orders), BATCH_SIZE)]
        done = await asyncio.gather(*(self._chunk(c) for c in chunks))
        return [r for chunk in done for r in chunk]


def _result(order: PaymentOrder, result: dict[str, Any]) -> PaymentResult:
    """One batch result: 201 with the payment (also when ``replayed``), else its problem."""
    payment = result.get("payment")
    if result.get("status") == 201 and payment:
        return PaymentResult(order, str(payment["payment_id"]))
    problem = result.get("problem") or {}
    return PaymentResult(
        order,
        None,
        f"{result.get('status')} {problem.get('title', '')} {problem.get('detail', '')}",
    )


def gateway_for(platform: Platform, prefer: str = "auto") -> PaymentGateway:
    """The batch path when the ledger has it (or ``prefer='batch'``), else single POSTs."""
    if prefer == "batch" or (prefer == "auto" and platform.has("ledger", BATCH_PATH)):
        return BatchPaymentGateway(platform)
    return SinglePaymentGateway(platform)
