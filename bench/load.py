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
from pathlib import Path
from typing import Any

import httpx

from ledger.settings import Settings as LedgerSettings
from lendkit.auth import Role, TokenCodec
from lendkit.migrations import upgrade
from lendkit.testing import create_platform_topics, delete_namespace_topics, fresh_database
from overdue.settings import Settings as OverdueSettings

HERE = Path(__file__).resolve().parent


def service_env(name: str, url: str, port: int, namespace: str) -> dict[str, str]:
    prefix = name.upper()
    return {
        **os.environ,
        f"{prefix}_DATABASE_URL": url,
        f"{prefix}_HTTP_HOST": "127.0.0.1",
        f"{prefix}_HTTP_PORT": str(port),
        f"{prefix}_LOG_LEVEL": "WARNING",
        f"{prefix}_TOPIC_NAMESPACE": namespace,
        # a group of its own: never join another environment's group on a shared broker
        f"{prefix}_CONSUMER_GROUP": f"{namespace}{name}",
        f"{prefix}_DEVELOPMENT_MODE": "true",  # the kit's development JWT secret
    }


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=5) as c:
        for _ in range(300):
            try:
                if (await c.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{base} did not become ready")


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
    users: int, seconds: int, ledger: str, overdue: str, loans: list[str], out: Path
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
    subprocess.run(cmd, env=env, check=False, stdout=subprocess.DEVNULL)
    noted: dict[str, Any] = json.loads((out / "noted.json").read_text())
    return noted


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
    args = parser.parse_args()

    namespace = f"{args.namespace}{uuid.uuid4().hex[:6]}."
    asyncio.run(create_platform_topics(namespace))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for name, port in (("ledger", args.ledger_port), ("overdue", args.overdue_port)):
            url = asyncio.run(fresh_database(f"{name}_load"))
            upgrade(name, url)
            env = service_env(name, url, port, namespace)
            servers.append(subprocess.Popen([sys.executable, "-m", name], env=env))
        ledger = f"http://127.0.0.1:{args.ledger_port}"
        overdue = f"http://127.0.0.1:{args.overdue_port}"
        loans = asyncio.run(open_loans(ledger, overdue, args.loans))
        with tempfile.TemporaryDirectory() as out:
            noted = run_locust(args.users, args.seconds, ledger, overdue, loans, Path(out))
        statuses: dict[str, int] = noted["statuses"]
        print(
            f"\n{args.users} concurrent clients for {args.seconds}s against the ledger and the "
            f"overdue service (1 uvicorn worker each, {args.loans} loans)\n"
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
            if code.startswith("5") or (
                name.startswith("POST") and code != "201" and (code != "0" or retried)
            ):
                failed[k] = v
        replays: dict[str, int] = noted.get("replay_mismatches", {})
        print("idempotent replays as expected:", replays if replays else "yes")
        failed.update({f"{k} (Idempotent-Replayed wrong)": v for k, v in replays.items()})
        if failed:
            raise SystemExit(f"failures under load: {failed}")
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        asyncio.run(delete_namespace_topics(namespace))


if __name__ == "__main__":
    main()
