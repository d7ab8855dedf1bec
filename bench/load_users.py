"""The locust users of ``bench/load.py`` (run by it: ``locust -f bench/load_users.py``).

A borrower's app reads the loan detail and the overdue status; the payment gateway posts
payments with idempotency keys (and sometimes retries one, as gateways do after a timeout:
the replay must answer the same payment, not a second one). The loans, hosts and output
file come from the environment ``bench/load.py`` sets.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from typing import Any

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

from ledger.settings import Settings as LedgerSettings
from lendkit.auth import Role, TokenCodec
from overdue.settings import Settings as OverdueSettings

LEDGER = os.environ["LOAD_LEDGER_URL"]
OVERDUE = os.environ["LOAD_OVERDUE_URL"]
LOANS: list[str] = json.loads(os.environ["LOAD_LOANS"])
OUT = os.environ["LOAD_STATUS_FILE"]

# Tokens name their audience: one codec per service.
AT_LEDGER = TokenCodec(LedgerSettings(development_mode=True))
AT_OVERDUE = TokenCodec(OverdueSettings(development_mode=True))
HOUR = 7200


def _bearer(codec: TokenCodec, subject: str, roles: list[Role], borrower: str | None) -> str:
    token = codec.issue(subject, roles, borrower_id=borrower, ttl_seconds=HOUR)
    return f"Bearer {token}"


GATEWAY = {"Authorization": _bearer(AT_LEDGER, "gateway", [Role.SERVICE], None)}
BORROWERS = {  # loan -> (ledger headers, overdue headers) of its borrower, B-<loan>
    loan: tuple(
        {"Authorization": _bearer(codec, f"B-{loan}", [Role.BORROWER], f"B-{loan}")}
        for codec in (AT_LEDGER, AT_OVERDUE)
    )
    for loan in LOANS
}

RETRIED = "POST payment (retried key)"
STATUSES: Counter[str] = Counter()  # "name status" -> count
TIMES: dict[str, list[float]] = {}  # name -> response times (ms)
SPAN: list[float] = []  # when the first and the last request ended
REPLAY_MISMATCHES: Counter[str] = Counter()  # 201s with the wrong Idempotent-Replayed
ERRORS: Counter[str] = Counter()  # "name: exception" of requests without an answer
#: Each new payment's Idempotency-Key -> [loan, the status of its last answer] (0: none).
PAYMENTS: dict[str, list[Any]] = {}


@events.request.add_listener
def _count(name: str, response: Any, response_time: float, exception: Any, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    if not status and exception is not None:
        ERRORS[f"{name}: {exception!r}"[:300]] += 1
    STATUSES[f"{name} {status}"] += 1
    TIMES.setdefault(name, []).append(response_time)
    now = time.monotonic()
    SPAN[:] = [SPAN[0] if SPAN else now, now]


@events.quitting.add_listener
def _write(**_: Any) -> None:
    with open(OUT, "w") as f:
        json.dump(
            {
                "statuses": STATUSES,
                "times": TIMES,
                "span": SPAN,
                "errors": ERRORS,
                "replay_mismatches": REPLAY_MISMATCHES,
                "payments": PAYMENTS,
            },
            f,
        )


class BorrowerAndGateway(FastHttpUser):
    """One client: mostly reads, some payments (about 1 in 5 requests), a few retried."""

    host = LEDGER
    wait_time = between(0.05, 0.25)

    def on_start(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []  # loan, key, body

    @task(5)
    def loan_detail(self) -> None:
        loan = random.choice(LOANS)
        self.client.get(
            f"{LEDGER}/loans/{loan}", headers=BORROWERS[loan][0], name="GET loan detail"
        )

    @task(3)
    def overdue_status(self) -> None:
        loan = random.choice(LOANS)
        self.client.get(
            f"{OVERDUE}/loans/{loan}/explanation",
            headers=BORROWERS[loan][1],
            name="GET overdue status",
        )

    @task(2)
    def pay(self) -> None:
        loan, key = random.choice(LOANS), uuid.uuid4().hex
        body = {"external_reference": key, "amount_minor": 1_000, "value_date": "2026-02-10"}
        self._post(loan, key, body, "POST payment")
        self.sent.append((loan, key, body))
        del self.sent[:-20]

    @task(1)
    def retry_payment(self) -> None:
        if self.sent:
            self._post(*random.choice(self.sent), RETRIED)

    def _post(self, loan: str, key: str, body: dict[str, Any], name: str) -> None:
        """POST the payment; without an answer (a connection closed under the request),
        once more with the same Idempotency-Key, as a gateway does: one payment either way."""
        for label in (name, f"{name}, again after no answer"):
            with self.client.post(
                f"{LEDGER}/loans/{loan}/payments",
                json=body,
                headers={**GATEWAY, "Idempotency-Key": key},
                name=label,
                catch_response=True,
            ) as r:
                if name != RETRIED:
                    PAYMENTS[key] = [loan, r.status_code or 0]
                replay = (r.headers or {}).get("Idempotent-Replayed") == "true"
                # (after no answer, either: the first attempt may or may not have landed)
                if r.status_code == 201 and label == name and replay != (name == RETRIED):
                    REPLAY_MISMATCHES[name] += 1
                    r.failure("a retried key must replay its first answer, a new key must not")
                    return
                if r.status_code == 201:
                    r.success()
                    return
                r.failure(f"{r.status_code}")
                if r.status_code != 0:
                    return
