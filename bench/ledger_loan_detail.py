"""Benchmark: GET /loans/{id} (loan detail) on one uvicorn worker.

Starts the ledger with ``python -m ledger`` against LEDGER_DATABASE_URL (migrated to head),
creates a product and a loan, then sends N requests from a bounded asyncio/httpx client
loop. Prints requests/s, p50 and p99 as the medians of 3 runs.

    LEDGER_DATABASE_URL=postgresql+asyncpg://postgres:platform@127.0.0.1:54329/ledger_test \
        .venv/bin/python bench/ledger_loan_detail.py --requests 5000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid

import httpx

from ledger.settings import Settings
from lendkit.auth import Role, TokenCodec


async def _setup(client: httpx.AsyncClient, codec: TokenCodec) -> tuple[str, dict[str, str]]:
    admin = {"Authorization": f"Bearer {codec.issue('bench', [Role.ADMIN, Role.OPS])}"}
    code = f"BENCH-{uuid.uuid4().hex[:8]}"
    r = await client.post(
        "/products",
        json={"code": code, "currency": "CNY", "annual_rate": "0.18", "term": 12},
        headers=admin,
    )
    r.raise_for_status()
    loan_id = f"BENCH-L-{uuid.uuid4().hex[:8]}"
    r = await client.post(
        "/loans",
        json={
            "loan_id": loan_id,
            "borrower_id": "bench-borrower",
            "product_code": code,
            "principal_minor": 1_000_000,
            "disbursed_on": "2026-01-15",
        },
        headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
    )
    r.raise_for_status()
    return loan_id, admin


async def _run(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int, concurrency: int
) -> tuple[float, float, float]:
    latencies: list[float] = []
    remaining = iter(range(n))

    async def worker() -> None:
        for _ in remaining:
            t0 = time.perf_counter()
            r = await client.get(path, headers=headers)
            latencies.append(time.perf_counter() - t0)
            assert r.status_code == 200

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    return n / elapsed, q[49] * 1000, q[98] * 1000


async def main(n: int, concurrency: int, port: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:
        for _ in range(100):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        loan_id, headers = await _setup(client, TokenCodec(Settings()))
        path = f"/loans/{loan_id}"
        await _run(client, path, headers, min(n, 500), concurrency)  # warm-up
        runs = [await _run(client, path, headers, n, concurrency) for _ in range(3)]
    rps, p50, p99 = (statistics.median(r[i] for r in runs) for i in range(3))
    print(
        f"GET loan detail, 1 worker, {n} requests x 3 runs, concurrency {concurrency}: "
        f"{rps:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms (medians)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=8091)
    args = parser.parse_args()
    env = {
        **os.environ,
        "LEDGER_HTTP_PORT": str(args.port),
        "LEDGER_RUN_CONSUMERS": "false",
        "LEDGER_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([sys.executable, "-m", "ledger"], env=env)
    try:
        asyncio.run(main(args.requests, args.concurrency, args.port))
    finally:
        server.terminate()
        server.wait(timeout=15)
