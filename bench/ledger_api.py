"""Benchmark: the ledger's REST API beside the database's own floor, measured in one run.

    .venv/bin/python bench/ledger_api.py            # needs scripts/infra/start.sh first
    .venv/bin/python bench/ledger_api.py --workers 2 --port 8150
    # "before" figures: the same bench against another checkout of the services
    PYTHONPATH=<base>/shared:<base>/services/ledger .venv/bin/python bench/ledger_api.py

* GET /loans/{id} (loan detail) with wrk (installed from the Debian package if missing) at
  8 and 16 connections, 10 s each, 3 runs: requests/s, p50, p99 (medians of the runs).
  Baseline in the same run: GET /healthz (the framework's floor, no database, no auth),
  so the ratio shows what the loan read itself costs.
* POST /loans/{id}/payments (Idempotency-Key, allocation, journal, outbox) from an asyncio
  client at 16 in flight over 200 loans, 3 runs of 1,500 payments: payments/s, p50, p99.
* The floor, in the same run: PostgreSQL's own rate of durable one-row commits at the same
  concurrency (16), from an asyncpg loop (one ``INSERT`` per transaction, the same client
  library and machine as the load generator) and from ``pgbench`` when it is installed;
  the payment rate is printed as a share of it.
* POST /payments/batch (when the server has it): batches of ``--batch-size`` payments, 4 in
  flight, 3 runs; payments/s and the ratio to the single POST's rate.

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
from bench_results import write_results

from ledger.settings import Settings
from lendkit.auth import Role, TokenCodec
from lendkit.db import asyncpg_dsn
from lendkit.migrations import upgrade
from lendkit.testing import delete_namespace_topics, fresh_database

PORT = 8150
BASE = f"http://127.0.0.1:{PORT}"
IN_FLIGHT = 16


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


_FLOOR_TABLE = "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, v text NOT NULL)"


async def floor_asyncpg(dsn: str, in_flight: int, seconds: float) -> float:
    """Durable one-row commits per second: ``in_flight`` connections, each committing one
    ``INSERT`` per transaction (autocommit: one round trip, one WAL flush wait)."""
    import asyncpg

    setup_conn = await asyncpg.connect(dsn)
    await setup_conn.execute(_FLOOR_TABLE)
    await setup_conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=in_flight, max_size=in_flight)
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                await conn.execute("INSERT INTO bench_floor (v) VALUES ($1)", "x")
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(in_flight)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return done / elapsed


def floor_pgbench(dsn: str, in_flight: int, seconds: int) -> float | None:
    """The same floor from pgbench (C client), when it is installed."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        return None
    script = "/tmp/ledger_bench_floor.sql"  # noqa: S108 - a throwaway script
    with open(script, "w") as f:
        f.write("INSERT INTO bench_floor (v) VALUES ('x');\n")
    out = subprocess.run(
        [pgbench, "-n", "-c", str(in_flight), "-j", "2", "-T", str(seconds), "-f", script, dsn],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"tps = ([\d.]+)", out)
    return float(m.group(1)) if m else None


async def post_batches(
    codec: TokenCodec, loan_ids: list[str], total: int, size: int, in_flight: int
) -> tuple[float, float, float] | None:
    """``total`` payments in batches of ``size`` over ``POST /payments/batch``; None when the
    server has no batch path."""
    headers = {"Authorization": f"Bearer {codec.issue('bench', [Role.SERVICE])}"}
    latencies: list[float] = []
    batches = iter(range(0, total, size))
    async with httpx.AsyncClient(base_url=BASE, timeout=120) as c:
        probe = await c.post("/payments/batch", json={"payments": []}, headers=headers)
        if probe.status_code in (404, 405):
            return None

        # Each client sends its batches for its own slice of the loans (as settlement files
        # of different banks would): batches in flight do not queue on each other's loan locks.
        slice_len = len(loan_ids) // in_flight

        async def worker(w: int) -> None:
            mine = loan_ids[w * slice_len : (w + 1) * slice_len]
            for first in batches:
                payments = [
                    {
                        "loan_id": mine[(first + k) % len(mine)],
                        "idempotency_key": uuid.uuid4().hex,
                        "external_reference": uuid.uuid4().hex,
                        "amount_minor": 1_000,
                        "value_date": "2026-02-10",
                    }
                    for k in range(min(size, total - first))
                ]
                t0 = time.perf_counter()
                r = await c.post(
                    "/payments/batch",
                    json={"payments": payments},
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                )
                latencies.append(time.perf_counter() - t0)
                results = r.json().get("results", []) if r.status_code == 200 else []
                if r.status_code != 200 or any(x["status"] != 201 for x in results):
                    raise SystemExit(f"batch failed: {r.status_code} {r.text[:500]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(in_flight)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return total / elapsed, q[49] * 1000, q[98] * 1000


def main() -> None:
    global BASE
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--payments", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the ledger")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--batch-payments", type=int, default=8000)
    parser.add_argument("--skip-get", action="store_true", help="payments and floor only")
    parser.add_argument("--only-batch", action="store_true", help="the batch path only (profiling)")
    parser.add_argument("--json", help="write the medians there (bench/all.py)")
    args = parser.parse_args()
    results: dict[str, float | int | None] = {"runs": args.runs, "workers": args.workers}
    BASE = f"http://127.0.0.1:{args.port}"
    wrk = ensure_wrk()
    url = asyncio.run(fresh_database("ledger_bench"))
    upgrade("ledger", url)
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": url,
        "LEDGER_HTTP_PORT": str(args.port),
        "LEDGER_HTTP_WORKERS": str(args.workers),
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
        print(
            f"ledger API, {args.workers} uvicorn worker(s), medians of {args.runs} runs"
            f" ({args.seconds}s each for wrk -t1 and the floor)"
        )
        if args.only_batch:
            b = asyncio.run(post_batches(codec, loan_ids, args.batch_payments, args.batch_size, 4))
            print(f"  POST /payments/batch only: {b}")
            return
        if not args.skip_get:
            wrk_run(wrk, detail, token, 8, 2)  # warm-up
            for conns in (8, 16):
                base = median_runs(
                    [wrk_run(wrk, "/healthz", None, conns, args.seconds) for _ in range(args.runs)]
                )
                got = median_runs(
                    [wrk_run(wrk, detail, token, conns, args.seconds) for _ in range(args.runs)]
                )
                results[f"get_detail_c{conns}_per_s"] = got[0]
                results[f"get_detail_c{conns}_p99_ms"] = got[2]
                results[f"healthz_c{conns}_per_s"] = base[0]
                print(
                    f"  GET /loans/{{id}}  c={conns:<3} {got[0]:8,.0f} req/s"
                    f"  p50 {got[1]:6.2f} ms  p99 {got[2]:6.2f} ms"
                    f"   | baseline GET /healthz {base[0]:8,.0f} req/s  p99 {base[2]:6.2f} ms"
                    f"   | detail/baseline throughput {got[0] / base[0]:.2f}"
                )
        dsn = asyncpg_dsn(url)
        asyncio.run(post_payments(codec, loan_ids, 200, IN_FLIGHT))  # warm-up
        pay, floors, pg_floors = [], [], []
        for _ in range(args.runs):  # interleaved, so each pair sees the same machine load
            pay.append(asyncio.run(post_payments(codec, loan_ids, args.payments, IN_FLIGHT)))
            floors.append(asyncio.run(floor_asyncpg(dsn, IN_FLIGHT, args.seconds)))
            pg = floor_pgbench(dsn, IN_FLIGHT, args.seconds)
            if pg is not None:
                pg_floors.append(pg)
        p = median_runs(pay)
        floor = statistics.median(floors)
        results |= {
            "post_per_s": p[0],
            "post_p50_ms": p[1],
            "post_p99_ms": p[2],
            "in_flight": IN_FLIGHT,
            "floor_asyncpg_per_s": floor,
        }
        print(
            f"  POST payments     {IN_FLIGHT} in flight {p[0]:8,.0f} payments/s"
            f"  p50 {p[1]:6.2f} ms  p99 {p[2]:6.2f} ms"
        )
        print(
            f"  floor: one-row durable commits, {IN_FLIGHT} connections: asyncpg {floor:8,.0f}/s"
            f"   | payments/floor {p[0] / floor:6.1%}"
        )
        if pg_floors:
            pg_floor = statistics.median(pg_floors)
            results["floor_pgbench_per_s"] = pg_floor
            print(
                f"  floor: pgbench, {IN_FLIGHT} clients:                {pg_floor:8,.0f}/s"
                f"   | payments/floor {p[0] / pg_floor:6.1%}"
            )
        batch_runs = []
        for _ in range(args.runs):
            got_batch = asyncio.run(
                post_batches(codec, loan_ids, args.batch_payments, args.batch_size, 4)
            )
            if got_batch is None:
                break
            batch_runs.append(got_batch)
        if batch_runs:
            b = median_runs(batch_runs)
            results |= {"batch_per_s": b[0], "batch_size": args.batch_size}
            print(
                f"  POST /payments/batch ({args.batch_size} a batch, 4 in flight)"
                f" {b[0]:8,.0f} payments/s  batch p50 {b[1]:7.1f} ms  p99 {b[2]:7.1f} ms"
                f"   | batch/single {b[0] / p[0]:5.1f}x"
            )
        else:
            print("  POST /payments/batch: not served by this build")
        write_results(args.json, "ledger_api", results)
    finally:
        server.terminate()
        server.wait(timeout=20)
        asyncio.run(delete_namespace_topics(env["LEDGER_TOPIC_NAMESPACE"]))


async def _topics(namespace: str) -> None:
    from lendkit.testing import create_platform_topics

    await create_platform_topics(namespace)


if __name__ == "__main__":
    main()
