"""Benchmark: the ledger's REST API on one uvicorn worker.

    .venv/bin/python bench/ledger_api.py            # needs scripts/infra/start.sh first

* GET /loans/{id} (loan detail) with wrk (installed from the Debian package if missing) at
  8 and 16 connections, 10 s each, 3 runs: requests/s, p50, p99 (medians of the runs).
  Baseline in the same run: GET /healthz (the framework's floor, no database, no auth),
  so the ratio shows what the loan read itself costs.
* POST /loans/{id}/payments (Idempotency-Key, allocation, journal, outbox) from an asyncio
  client at 16 in flight over 200 loans, 3 runs of 1,500 payments: payments/s, p50, p99.

The ledger runs as in production (``python -m ledger``: API, outbox relay, consumer) on a
fresh ``ledger_bench`` database. The load generator shares the 2 cores with the server
and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid

import httpx

from ledger.settings import Settings
from lendkit.auth import Role, TokenCodec
from lendkit.migrations import upgrade
from lendkit.testing import delete_namespace_topics, fresh_database

PORT = 8091
BASE = f"http://127.0.0.1:{PORT}"


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        wrk = shutil.which("wrk")
    assert wrk is not None
    return wrk


def wrk_run(
    wrk: str, path: str, token: str | None, connections: int, seconds: int
) -> tuple[float, float, float]:
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", BASE + path]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        assert m, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, ms("50%"), ms("99%")


def median_runs(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return (
        statistics.median(r[0] for r in runs),
        statistics.median(r[1] for r in runs),
        statistics.median(r[2] for r in runs),
    )


async def setup(codec: TokenCodec, loans: int) -> list[str]:
    admin = {"Authorization": f"Bearer {codec.issue('bench', [Role.ADMIN, Role.OPS])}"}
    async with httpx.AsyncClient(base_url=BASE, timeout=30) as c:
        for _ in range(200):
            try:
                if (await c.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        code = f"BENCH-{uuid.uuid4().hex[:6]}"
        product = {"code": code, "currency": "CNY", "annual_rate": "0.18", "term": 12}
        headers = {**admin, "Idempotency-Key": uuid.uuid4().hex}
        (await c.post("/products", json=product, headers=headers)).raise_for_status()
        ids = []
        for i in range(loans):
            body = {
                "loan_id": f"BENCH-{i}",
                "borrower_id": f"B-{i}",
                "product_code": code,
                "principal_minor": 1_000_000,
                "disbursed_on": "2026-01-15",
            }
            r = await c.post(
                "/loans", json=body, headers={**admin, "Idempotency-Key": uuid.uuid4().hex}
            )
            r.raise_for_status()
            ids.append(body["loan_id"])
        return ids


async def post_payments(
    codec: TokenCodec, loan_ids: list[str], total: int, in_flight: int
) -> tuple[float, float, float]:
    headers = {"Authorization": f"Bearer {codec.issue('bench', [Role.SERVICE])}"}
    latencies: list[float] = []
    todo = iter(range(total))
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=60) as c:

        async def worker() -> None:
            for n in todo:
                loan = loan_ids[n % len(loan_ids)]
                body = {
                    "external_reference": uuid.uuid4().hex,
                    "amount_minor": 1_000,
                    "value_date": "2026-02-10",
                }
                t0 = time.perf_counter()
                r = await c.post(
                    f"/loans/{loan}/payments",
                    json=body,
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                )
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    raise SystemExit(f"payment failed: {r.status_code} {r.text}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return total / elapsed, q[49] * 1000, q[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--payments", type=int, default=1500)
    args = parser.parse_args()
    wrk = ensure_wrk()
    url = asyncio.run(fresh_database("ledger_bench"))
    upgrade("ledger", url)
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": url,
        "LEDGER_HTTP_PORT": str(PORT),
        "LEDGER_LOG_LEVEL": "WARNING",
        "LEDGER_TOPIC_NAMESPACE": f"bench-{uuid.uuid4().hex[:6]}.",
        "LEDGER_DEVELOPMENT_MODE": "true",  # the kit's development JWT secret
    }
    asyncio.run(_topics(env["LEDGER_TOPIC_NAMESPACE"]))
    server = subprocess.Popen([sys.executable, "-m", "ledger"], env=env)
    try:
        codec = TokenCodec(Settings(development_mode=True))
        loan_ids = asyncio.run(setup(codec, 200))
        token = codec.issue("bench", [Role.OPS], ttl_seconds=3600)
        detail = f"/loans/{loan_ids[0]}"
        wrk_run(wrk, detail, token, 8, 2)  # warm-up
        print(
            f"ledger API, 1 uvicorn worker, medians of {args.runs} runs of {args.seconds}s (wrk -t1)"
        )
        for conns in (8, 16):
            base = median_runs(
                [wrk_run(wrk, "/healthz", None, conns, args.seconds) for _ in range(args.runs)]
            )
            got = median_runs(
                [wrk_run(wrk, detail, token, conns, args.seconds) for _ in range(args.runs)]
            )
            print(
                f"  GET /loans/{{id}}  c={conns:<3} {got[0]:8,.0f} req/s  p50 {got[1]:6.2f} ms  p99 {got[2]:6.2f} ms"
                f"   | baseline GET /healthz {base[0]:8,.0f} req/s  p99 {base[2]:6.2f} ms"
                f"   | detail/baseline throughput {got[0] / base[0]:.2f}"
            )
        pay = [
            asyncio.run(post_payments(codec, loan_ids, args.payments, 16)) for _ in range(args.runs)
        ]
        p = median_runs(pay)
        print(
            f"  POST payments     16 in flight {p[0]:8,.0f} payments/s  p50 {p[1]:6.2f} ms  p99 {p[2]:6.2f} ms"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
        asyncio.run(delete_namespace_topics(env["LEDGER_TOPIC_NAMESPACE"]))


async def _topics(namespace: str) -> None:
    from lendkit.testing import create_platform_topics

    await create_platform_topics(namespace)


if __name__ == "__main__":
    main()
