"""Load: the ledger and overdue REST APIs under concurrent clients (locust, headless).

    .venv/bin/python bench/load.py                  # needs scripts/infra/start.sh first
    .venv/bin/python bench/load.py --users 100 --seconds 60 --ledger-port 8181 --overdue-port 8182

Starts the ledger and the overdue service as in production (``python -m ledger`` and
``python -m overdue``: API, outbox relay and consumers, one uvicorn worker each, on
127.0.0.1) on fresh databases and a private topic namespace, opens ``--loans`` loans (the
overdue service learns them from the ledger's events), then runs ``bench/load_users.py``
with locust: ``--users`` concurrent clients for ``--seconds``, a mix of GET loan detail
(5), GET overdue status (3), POST payment with a new Idempotency-Key (2) and POST payment
retried with a key already used (1). Prints throughput, p50/p99 and the count of 5xx per
request kind; exits non-zero on any 5xx or any payment not answered 201 (a payment POST
without an answer, its connection closed under it, is sent once more with the same
Idempotency-Key, as a gateway does: that answer must be a 201).

The load generator shares the machine's cores with both services, PostgreSQL and Kafka.

``--broker-restart``: the same on a Kafka broker of the run's own (``scripts/infra/kafka.sh``
on ``--kafka-port``, data in ``--broker-var``, default ``.var/load-broker``), stopped a third of the way through the
load and started again (``--broker-down`` seconds later). Writes must either succeed or
answer a 503 problem, nothing half-happens: every payment answered 201 is on the ledger with
one current allocation, every payment answered otherwise is not on it at all; once the
broker is back, both outboxes drain and both consumer groups' lag returns to 0 (within
``--recovery-bound`` seconds, stated). 503s are counted, other 5xx fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from ledger.settings import Settings as LedgerSettings
from lendkit.auth import Role, TokenCodec
from lendkit.contracts.topics import kafka_group_id
from lendkit.migrations import upgrade
from lendkit.ops.lag import total_lag
from lendkit.testing import (
    create_platform_topics,
    delete_namespace_topics,
    fresh_database,
    wait_ready,
)
from lendkit.topic_admin import ensure_topics
from overdue.settings import Settings as OverdueSettings

HERE = Path(__file__).resolve().parent


def service_env(
    name: str, url: str, port: int, namespace: str, kafka: str | None = None
) -> dict[str, str]:
    prefix = name.upper()
    return {
        **os.environ,
        **({f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": kafka} if kafka else {}),
        f"{prefix}_DATABASE_URL": url,
        f"{prefix}_HTTP_HOST": "127.0.0.1",
        f"{prefix}_HTTP_PORT": str(port),
        f"{prefix}_LOG_LEVEL": "WARNING",
        f"{prefix}_TOPIC_NAMESPACE": namespace,
        # a group of its own: never join another environment's group on a shared broker
        f"{prefix}_CONSUMER_GROUP": f"{namespace}{name}",
        f"{prefix}_DEVELOPMENT_MODE": "true",  # the kit's development JWT secret
    }


async def open_loans(ledger: str, overdue: str, count: int) -> list[str]:
    """``count`` loans on the ledger, each borrowed by ``B-<loan id>``; returns once the
    overdue service knows every one (it learns them from ``ledger.loan.disbursed``)."""
    await wait_ready(ledger)
    await wait_ready(overdue)
    at_ledger = TokenCodec(LedgerSettings(development_mode=True))
    at_overdue = TokenCodec(OverdueSettings(development_mode=True))
    admin = {"Authorization": f"Bearer {at_ledger.issue('load', [Role.ADMIN, Role.OPS])}"}
    ops = {"Authorization": f"Bearer {at_overdue.issue('load', [Role.OPS])}"}
    code = f"LOAD-{uuid.uuid4().hex[:6]}"
    product = {"code": code, "currency": "CNY", "annual_rate": "0.18", "term": 12}
    loans = [f"LOAD-{n}" for n in range(count)]
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(
            f"{ledger}/products",
            json=product,
            headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
        )
        r.raise_for_status()
        for loan in loans:
            body = {
                "loan_id": loan,
                "borrower_id": f"B-{loan}",
                "product_code": code,
                "principal_minor": 1_000_000,
                "disbursed_on": "2026-01-15",
            }
            r = await c.post(
                f"{ledger}/loans", json=body, headers={**admin, "Idempotency-Key": uuid.uuid4().hex}
            )
            r.raise_for_status()
        # The overdue status is that of the last closed business day: close one.
        r = await c.post(
            f"{ledger}/close-of-business",
            json={"business_date": "2026-01-16"},
            headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
        )
        r.raise_for_status()
        deadline = time.monotonic() + 120
        for loan in loans:
            while (
                await c.get(f"{overdue}/loans/{loan}/explanation", headers=ops)
            ).status_code != 200:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the overdue service never learnt {loan} or the day closed")
                await asyncio.sleep(0.2)
    return loans


def run_locust(
    users: int,
    seconds: int,
    ledger: str,
    overdue: str,
    loans: list[str],
    out: Path,
    meanwhile: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run the users; what they noted: ``statuses`` ("name status" -> count), ``times``
    (name -> response times in ms) and ``span`` (first and last answer, monotonic s)."""
    env = {
        **os.environ,
        "LOAD_LEDGER_URL": ledger,
        "LOAD_OVERDUE_URL": overdue,
        "LOAD_LOANS": json.dumps(loans),
        "LOAD_STATUS_FILE": str(out / "noted.json"),
    }
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "load_users.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    locust = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        locust.wait()
    noted: dict[str, Any] = json.loads((out / "noted.json").read_text())
    return noted


# -- a broker restart under load ---------------------------------------------------------------

PAYMENTS_BY_REFERENCE = """
SELECT p.external_reference,
       count(DISTINCT p.payment_id) AS payments,
       count(a.*) FILTER (WHERE a.current) AS current_allocations
FROM payments p LEFT JOIN allocations a
  ON a.source_kind = 'payment' AND a.source_id = p.payment_id::text AND a.loan_id = p.loan_id
WHERE p.external_reference = ANY($1::text[])
GROUP BY p.external_reference
"""


def restart_broker(infra: Any, after: float, down: float, noted: dict[str, float]) -> None:
    """Stop the private broker ``after`` seconds into the load, start it ``down`` s later."""
    time.sleep(after)
    noted["stopping"] = time.monotonic()
    infra.script("kafka.sh", "stop")
    noted["stopped"] = time.monotonic()
    time.sleep(down)
    infra.script("kafka.sh", "start")
    noted["started"] = time.monotonic()


async def nothing_half_happened(ledger_url: str, payments: dict[str, list[Any]]) -> list[str]:
    """Each payment answered 201 is booked once with one current allocation; each answered
    otherwise (a 503, or nothing at all) is not on the ledger."""
    conn = await asyncpg.connect(ledger_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = {
            r["external_reference"]: r
            for r in await conn.fetch(PAYMENTS_BY_REFERENCE, list(payments))
        }
    finally:
        await conn.close()
    failures = []
    for key, (loan, status) in payments.items():
        row = rows.get(key)
        if status == 201 and (
            row is None or row["payments"] != 1 or row["current_allocations"] != 1
        ):
            failures.append(f"{loan} {key}: answered 201, on the ledger as {dict(row or {})}")
        elif status != 201 and row is not None:
            failures.append(f"{loan} {key}: answered {status}, yet booked: {dict(row)}")
    return failures


async def recovered(
    urls: dict[str, str], kafka: str, groups: list[str], bound: float
) -> float | None:
    """Seconds until both outboxes are published and both groups' lag is 0 (None: not
    within ``bound``)."""
    started = time.monotonic()
    while time.monotonic() - started < bound:
        unpublished = 0
        for url in urls.values():
            conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
            try:
                unpublished += await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                )
            finally:
                await conn.close()
        try:
            lag = await total_lag(kafka, groups)
        except Exception:  # the broker still electing: not recovered yet
            lag = -1
        if unpublished == 0 and lag == 0:
            return round(time.monotonic() - started, 2)
        await asyncio.sleep(0.5)
    return None


def _quantile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def table(noted: dict[str, Any]) -> str:
    """Throughput, latency quantiles and 5xx per request kind, as a Markdown table."""
    first, last = noted["span"]
    elapsed = max(last - first, 1e-9)
    statuses: dict[str, int] = noted["statuses"]
    rows = [
        "| request | requests | req/s | p50 ms | p99 ms | max ms | 5xx | no answer | other non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    kinds = [*sorted(noted["times"]), "all"]
    for kind in kinds:
        times = sorted(
            t for name, ts in noted["times"].items() if kind in (name, "all") for t in ts
        )
        codes: dict[str, int] = {}
        for k, v in statuses.items():
            name, code = k.rsplit(" ", 1)
            if kind in (name, "all"):
                codes[code] = codes.get(code, 0) + v
        five = sum(v for c, v in codes.items() if c.startswith("5"))
        silent = codes.get("0", 0)
        other = sum(v for c, v in codes.items() if not c.startswith(("2", "5")) and c != "0")
        rows.append(
            f"| {'**all**' if kind == 'all' else kind} | {len(times):,} "
            f"| {len(times) / elapsed:,.0f} | {_quantile(times, 0.50):,.0f} "
            f"| {_quantile(times, 0.99):,.0f} | {times[-1]:,.0f} | {five} | {silent} | {other} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--loans", type=int, default=200)
    parser.add_argument("--ledger-port", type=int, default=8091)
    parser.add_argument("--overdue-port", type=int, default=8092)
    parser.add_argument("--namespace", default="load-", help="topic namespace prefix")
    parser.add_argument("--broker-restart", action="store_true", help="restart a private broker")
    parser.add_argument("--kafka-port", type=int, default=29192)
    parser.add_argument("--controller-port", type=int, default=29193)
    parser.add_argument("--broker-down", type=float, default=5.0, help="seconds stopped")
    parser.add_argument("--recovery-bound", type=float, default=120.0)
    parser.add_argument(
        "--broker-var", type=Path, default=HERE.parent / ".var" / "load-broker", help="its data"
    )
    args = parser.parse_args()

    namespace = f"{args.namespace}{uuid.uuid4().hex[:6]}."
    infra: Any = None
    kafka: str | None = None
    if args.broker_restart:
        from faults import Infra  # bench/faults.py: the project's scripts on other ports

        infra = Infra(args.broker_var.resolve(), 0, args.kafka_port, args.controller_port)
        infra.script("kafka.sh", "start")
        kafka = infra.kafka
        asyncio.run(ensure_topics(kafka, namespace=namespace))
    else:
        asyncio.run(create_platform_topics(namespace))
    servers: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    restart: dict[str, float] = {}
    try:
        for name, port in (("ledger", args.ledger_port), ("overdue", args.overdue_port)):
            url = urls[name] = asyncio.run(fresh_database(f"{name}_load"))
            upgrade(name, url)
            env = service_env(name, url, port, namespace, kafka)
            servers.append(subprocess.Popen([sys.executable, "-m", name], env=env))
        ledger = f"http://127.0.0.1:{args.ledger_port}"
        overdue = f"http://127.0.0.1:{args.overdue_port}"
        loans = asyncio.run(open_loans(ledger, overdue, args.loans))
        meanwhile = None
        if infra is not None:

            def meanwhile() -> None:
                restart_broker(infra, args.seconds / 3, args.broker_down, restart)

        with tempfile.TemporaryDirectory() as out:
            noted = run_locust(
                args.users, args.seconds, ledger, overdue, loans, Path(out), meanwhile
            )
        statuses: dict[str, int] = noted["statuses"]
        print(
            f"\n{args.users} concurrent clients for {args.seconds}s against the ledger and the "
            f"overdue service (1 uvicorn worker each, {args.loans} loans)"
            + (
                f", the broker stopped {restart['stopped'] - restart['stopping']:.1f} s after "
                f"{args.seconds / 3:.0f} s and started again {args.broker_down:.0f} s later"
                if restart
                else ""
            )
            + "\n"
        )
        print(table(noted))
        print("\nstatus codes:", json.dumps(statuses, sort_keys=True))
        if noted.get("errors"):
            print("requests without an answer:", json.dumps(noted["errors"], indent=1))
        # Any 5xx fails the run, and any payment not answered 201 (a POST without an
        # answer is sent once more with its key: that second answer must be a 201).
        failed = {}
        for k, v in statuses.items():
            name, code = k.rsplit(" ", 1)
            retried = name.endswith("again after no answer")
            if code == "503" and infra is not None:
                continue  # a clear 503 problem while the broker is away: allowed, counted
            if code.startswith("5") or (
                name.startswith("POST") and code != "201" and (code != "0" or retried)
            ):
                failed[k] = v
        replays: dict[str, int] = noted.get("replay_mismatches", {})
        print("idempotent replays as expected:", replays if replays else "yes")
        failed.update({f"{k} (Idempotent-Replayed wrong)": v for k, v in replays.items()})
        if infra is not None:
            assert kafka is not None
            payments: dict[str, list[Any]] = noted.get("payments", {})
            half = asyncio.run(nothing_half_happened(urls["ledger"], payments))
            answered = sum(status == 201 for _, status in payments.values())
            print(
                f"payments: {len(payments)} new keys, {answered} answered 201, "
                f"{len(payments) - answered} otherwise; half-happened: {len(half)}"
            )
            for line in half[:20]:
                print("  ", line)
            groups = [kafka_group_id(namespace, f"{namespace}{n}") for n in urls]
            took = asyncio.run(recovered(urls, kafka, groups, args.recovery_bound))
            print(
                "outboxes published and lag 0 after the load: "
                + (f"{took} s" if took is not None else f"NOT within {args.recovery_bound:.0f} s")
            )
            if half:
                failed["payments half-happened"] = len(half)
            if took is None:
                failed["not recovered after the broker restart"] = 1
        if failed:
            raise SystemExit(f"failures under load: {failed}")
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        if infra is not None:
            infra.script("kafka.sh", "stop")
        else:
            asyncio.run(delete_namespace_topics(namespace))


if __name__ == "__main__":
    main()
