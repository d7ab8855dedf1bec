"""Benchmark: close of business end to end, until every event is published AND booked.

    .venv/bin/python bench/close_of_business_chain.py --loans 1000000 --runs 3 --baseline 100000
    (add --trigger ops-command to time the ops command instead of the ledger's markers)

Per size, two template databases are seeded once with set-based SQL (not timed):

- the overdue read model (``chain_overdue_tpl``): N active loans of 1,000,000.00 CNY with
  4 monthly instalments; 8 % overdue on D (DPD 1..60, bucket, stage and credit-report
  gate as of D-1, arrears flag after the 3-day grace), 3 % fall due on D, the rest later;
- the ledger (``chain_ledger_tpl``): the same loans, schedule version 1 and instalments
  (same due dates and amounts, nothing paid) under product BENCH.

Each run clones both templates (``CREATE DATABASE ... TEMPLATE``), makes a fresh topic
namespace (``lendkit.testing.create_platform_topics``), and starts two service processes
with that namespace and database (untimed, until healthy):

- ``python -m overdue`` (its outbox relay publishes; its consumer reads the namespace's
  ``ledger.loans`` with ``--trigger markers``, and is off with ``--trigger ops-command``),
- ``python -m ledger`` (its consumer books ``overdue.penalty.assessed`` in batch mode,
  its relay publishes ``ledger.charge.booked``).

Timed, from the trigger:

- ``--trigger markers`` (default, the production path): a ``BusinessDayClosed`` marker for
  D on each of the six partitions of ``ledger.loans``, as the ledger writes them at the end
  of its own close; the overdue service closes D in its consumer once it has them all;
- ``--trigger ops-command``: ``python -m overdue.entrypoints.cli close-of-business D`` (a
  third process, as ops would run it, start-up and imports included);

then until the overdue outbox is fully published, every penalty of D
is a charge in the ledger database, and the ledger outbox is fully published (every
``ChargeBooked`` acknowledged by Kafka). Stage times are measured from the start:
COB committed, overdue events published, penalties booked, ChargeBooked published.
Memory: each process's peak resident set (``VmHWM`` from ``/proc/<pid>/status``, read
just before it is stopped). PostgreSQL and Kafka run beside them on the same 2 cores.

Printed: each run, the median of the runs per size, and the ratio to the baseline size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from bench_results import write_results
from overdue_portfolio import DUE_DATE, OVERDUE_SEED, POLICY, bound

from ledger.adapters.repository import ProductRepository
from ledger.domain import LoanProduct, ScheduleType
from lendkit.contracts.ledger import BusinessDayClosed
from lendkit.contracts.topics import LEDGER_LOANS, LOAN_PARTITIONS
from lendkit.db import asyncpg_dsn
from lendkit.events import new_event
from lendkit.migrations import upgrade
from lendkit.testing import (
    KAFKA,
    PG_SERVER,
    create_platform_topics,
    database_url,
    delete_namespace_topics,
    unique,
)

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BUSINESS_DATE = date(2026, 3, 20)
LEDGER_SEED = [
    """
    INSERT INTO loans (loan_id, borrower_id, product_code, currency, principal, annual_rate,
                       disbursed_on, timezone, status, schedule_version, credit_balance)
    SELECT 'L' || lpad(i::text, 8, '0'), 'B' || i, 'BENCH', 'CNY', 1000000, '0.144',
           DATE '2025-09-20', 'Asia/Shanghai', 'active', 1, 0
    FROM generate_series(1, CAST(:n AS int)) AS i
    """,
    """
    INSERT INTO schedule_versions (loan_id, version, reason, effective_date, annual_rate)
    SELECT loan_id, 1, 'disbursement', disbursed_on, annual_rate FROM loans
    """,
    f"""
    INSERT INTO instalments (loan_id, version, seq, due_date, principal, interest,
                             outstanding_principal, outstanding_interest, interest_recognised)
    SELECT 'L' || lpad(i::text, 8, '0'), 1, k,
           ({DUE_DATE} + make_interval(months => k - 1))::date, 250000, 12000, 250000, 12000,
           false
    FROM generate_series(1, CAST(:n AS int)) AS i CROSS JOIN generate_series(1, 4) AS k
    """,
    "ANALYZE",
]


def _bind(sql: str, loans: int) -> str:
    return bound(sql, loans, BUSINESS_DATE)


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")


async def _recreate(name: str, template: str | None = None) -> str:
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        # FILE_COPY: a file-level copy (PostgreSQL 15's default, WAL_LOG, writes the whole
        # clone, ~2 GB at 1,000,000 loans, to the WAL, and the checkpoints that forces
        # then run inside the timed window)
        suffix = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await conn.close()
    return database_url(name)


SEED_FINGERPRINT = (
    "seed:"
    + hashlib.sha256("\n".join([POLICY, *OVERDUE_SEED, *LEDGER_SEED]).encode()).hexdigest()[:16]
)


async def seed_templates(loans: int, reuse: bool = False) -> tuple[str, str]:
    overdue_tpl, ledger_tpl = f"chain_overdue_tpl_{loans}", f"chain_ledger_tpl_{loans}"
    if reuse and await _templates_current(overdue_tpl, ledger_tpl):
        return overdue_tpl, ledger_tpl
    overdue_url = await _recreate(overdue_tpl)
    ledger_url = await _recreate(ledger_tpl)
    await asyncio.to_thread(upgrade, "overdue", overdue_url)
    await asyncio.to_thread(upgrade, "ledger", ledger_url)
    conn = await asyncpg.connect(asyncpg_dsn(overdue_url))
    try:
        for statement in OVERDUE_SEED:
            await conn.execute(_bind(statement, loans))
    finally:
        await conn.close()
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine(ledger_url)
    async with AsyncSession(engine) as session, session.begin():
        await ProductRepository(session).add(
            LoanProduct(
                code="BENCH",
                currency="CNY",
                annual_rate=Decimal("0.144"),
                term=4,
                schedule_type=ScheduleType.EQUAL_PRINCIPAL,
                overdue_policy={"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
            )
        )
    await engine.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(ledger_url))
    try:
        for statement in LEDGER_SEED:
            await conn.execute(_bind(statement, loans))
    finally:
        await conn.close()
    # Vacuumed and analysed like long-lived production tables, so every run starts from the
    # same state (a fresh seed and an autovacuumed one differ by about 1 s at 1M loans).
    for url in (overdue_url, ledger_url):
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("VACUUM (ANALYZE)")
        finally:
            await conn.close()
    conn = await _admin()
    try:  # which seed the templates hold: --reuse-templates never reuses an older one
        for name in (overdue_tpl, ledger_tpl):
            await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{SEED_FINGERPRINT}'")
    finally:
        await conn.close()
    return overdue_tpl, ledger_tpl


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _templates_current(*names: str) -> bool:
    """Whether every template exists at its service's latest migration, seeded by the
    seed statements of this version of the benchmark."""
    conn = await _admin()
    try:
        for name in names:
            comment = await conn.fetchval(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                name,
            )
            if comment != SEED_FINGERPRINT:
                return False
    finally:
        await conn.close()
    for name, service in zip(names, ("overdue", "ledger"), strict=True):
        try:
            conn = await asyncpg.connect(asyncpg_dsn(database_url(name)))
        except asyncpg.InvalidCatalogNameError:
            return False
        try:
            version = await conn.fetchval("SELECT version_num FROM alembic_version")
        finally:
            await conn.close()
        versions = ROOT / "services" / service / "migrations" / "versions"
        if version != max(p.name.split("_", 1)[0] for p in versions.glob("0*.py")):
            return False
    return True


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    peak_mb: float = 0.0
    cpu_s: float = 0.0

    async def healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
                try:
                    r = await client.get(f"http://127.0.0.1:{self.port}/readyz")
                    if r.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy within {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.peak_mb = peak_rss_mb(self.process.pid)
            self.cpu_s = cpu_seconds(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _env(prefix: str, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
    env.update({f"{prefix}{k.upper()}": v for k, v in values.items()})
    env[f"{prefix}DEVELOPMENT_MODE"] = "true"  # the kit's development JWT secret
    env["PYTHONPATH"] = os.pathsep.join(
        str(ROOT / p) for p in ("shared", "services/ledger", "services/overdue")
    )
    return env


def _start(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    command = [PYTHON, "-m", module]
    return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


@dataclass
class RunResult:
    loans: int
    examined: int = 0
    penalties: int = 0
    stages: dict[str, float] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.stages["chargebooked_published"]


async def one_run(loans: int, templates: tuple[str, str], log_dir: Path, trigger: str) -> RunResult:
    namespace = unique("chain") + "."
    await create_platform_topics(namespace)
    overdue_url = await _recreate("chain_overdue_run", templates[0])
    ledger_url = await _recreate("chain_ledger_run", templates[1])
    common = {"topic_namespace": namespace, "log_level": "WARNING"}
    overdue_env = _env(
        "OVERDUE_",
        database_url=overdue_url,
        http_port="18802",
        run_consumers="true" if trigger == "markers" else "false",
        consumer_group=unique("overdue-chain"),
        outbox_batch_size="5000",
        outbox_poll_interval_ms="100",
        **common,
    )
    ledger_env = _env(
        "LEDGER_",
        database_url=ledger_url,
        http_port="18801",
        consumer_group=unique("ledger-chain"),
        consumer_batch_size="5000",
        outbox_batch_size="5000",
        outbox_poll_interval_ms="100",
        **common,
    )
    overdue = Service("overdue", _start("overdue", overdue_env, log_dir / "overdue.log"), 18802)
    ledger = Service("ledger", _start("ledger", ledger_env, log_dir / "ledger.log"), 18801)
    result = RunResult(loans)
    odb = await asyncpg.connect(asyncpg_dsn(overdue_url))
    ldb = await asyncpg.connect(asyncpg_dsn(ledger_url))
    try:
        await asyncio.gather(overdue.healthy(), ledger.healthy())
        service_cpu = {s.name: cpu_seconds(s.process.pid) for s in (overdue, ledger)}
        started = time.perf_counter()
        if trigger == "markers":
            await _publish_markers(namespace)
            while not await odb.fetchval(
                "SELECT EXISTS (SELECT 1 FROM cob_runs WHERE finished_at IS NOT NULL)"
            ):
                if overdue.process.poll() is not None or time.perf_counter() - started > 600:
                    raise RuntimeError("close of business did not finish")
                await asyncio.sleep(0.05)
            result.stages["cob_committed"] = time.perf_counter() - started
        else:  # ops-command
            await _run_ops_command(overdue_env, result)
            result.stages["cob_committed"] = time.perf_counter() - started
        result.examined = int(await odb.fetchval("SELECT loans_examined FROM cob_runs"))
        result.penalties = int(
            await odb.fetchval(
                "SELECT count(*) FROM penalty_days WHERE business_date = $1 AND booked_minor > 0",
                BUSINESS_DATE,
            )
        )
        pending = {"overdue_published", "penalties_booked", "chargebooked_published"}
        while pending:
            now = time.perf_counter() - started
            if "overdue_published" in pending and not await odb.fetchval(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)"
            ):
                result.stages["overdue_published"] = now
                pending.discard("overdue_published")
            if "penalties_booked" in pending:
                booked = await ldb.fetchval("SELECT count(*) FROM charges")
                if booked >= result.penalties:
                    result.stages["penalties_booked"] = now
                    pending.discard("penalties_booked")
            elif not await ldb.fetchval(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)"
            ):
                result.stages["chargebooked_published"] = now
                pending.discard("chargebooked_published")
            if now > 600:
                raise RuntimeError(f"not done after 600 s: {pending}")
            await asyncio.sleep(0.05)
        booked_events = await ldb.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = 'ledger.charge.booked.v1'"
        )
        assert booked_events == result.penalties, (booked_events, result.penalties)
        penalty_sum = await ldb.fetchval("SELECT sum(outstanding_penalty) FROM instalments")
        journal_sum = await ldb.fetchval(
            "SELECT sum(debit - credit) FROM journal_lines WHERE account = 'PENALTY_RECEIVABLE'"
        )
        assessed = await odb.fetchval("SELECT sum(booked_minor) FROM penalty_days")
        assert penalty_sum == journal_sum == assessed, (penalty_sum, journal_sum, assessed)
    finally:
        overdue.stop()
        ledger.stop()
        await odb.close()
        await ldb.close()
        await delete_namespace_topics(namespace)  # runs must not pile up on the broker
    result.peaks["overdue-service"] = overdue.peak_mb
    result.peaks["ledger-service"] = ledger.peak_mb
    result.cpu["overdue-service"] = overdue.cpu_s - service_cpu["overdue"]
    result.cpu["ledger-service"] = ledger.cpu_s - service_cpu["ledger"]
    return result


async def _publish_markers(namespace: str) -> None:
    """What the ledger writes after the day's events: a BusinessDayClosed marker on every
    partition of ledger.loans. The overdue service closes the day once it has them all."""
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for p in range(LOAN_PARTITIONS):
            marker = new_event(
                BusinessDayClosed(
                    business_date=BUSINESS_DATE, partition=p, partitions=LOAN_PARTITIONS
                ),
                source="ledger",
                partition=p,
            )
            await producer.send_and_wait(
                namespace + LEDGER_LOANS, value=marker.data, partition=p, headers=marker.headers()
            )
    finally:
        await producer.stop()


async def _run_ops_command(overdue_env: dict[str, str], result: RunResult) -> None:
    """``python -m overdue.entrypoints.cli close-of-business D`` as ops would run it."""
    cob = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "overdue.entrypoints.cli",
        "close-of-business",
        str(BUSINESS_DATE),
        env=overdue_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    cob_peak = cob_cpu = 0.0
    while cob.returncode is None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            cob_peak = max(cob_peak, peak_rss_mb(cob.pid))
            cob_cpu = cpu_seconds(cob.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cob.wait(), timeout=0.05)
    output = (await cob.stdout.read()).decode() if cob.stdout else ""
    if cob.returncode != 0:
        raise RuntimeError(f"close of business failed:\n{output}")
    result.peaks["overdue-cob"] = cob_peak
    result.cpu["overdue-cob"] = cob_cpu


def _line(n: int, r: RunResult) -> str:
    s = r.stages
    peaks = ", ".join(f"{k} {v:.0f} MB" for k, v in r.peaks.items())
    cpu = ", ".join(f"{k} {v:.1f}s" for k, v in r.cpu.items())
    return (
        f"  run {n}: loans={r.loans:,} examined={r.examined:,} penalties={r.penalties:,} | "
        f"COB committed {s['cob_committed']:.2f}s, overdue published "
        f"{s['overdue_published']:.2f}s, booked {s['penalties_booked']:.2f}s, ChargeBooked "
        f"published {s['chargebooked_published']:.2f}s | peak RSS: {peaks} | CPU: {cpu}"
    )


async def measure(
    loans: int, runs: int, log_dir: Path, reuse: bool, trigger: str
) -> list[RunResult]:
    seed_started = time.perf_counter()
    templates = await seed_templates(loans, reuse)
    print(f"loans={loans:,}: seeded in {time.perf_counter() - seed_started:.1f}s (untimed)")
    results = []
    for n in range(1, runs + 1):
        r = await one_run(loans, templates, log_dir, trigger)
        results.append(r)
        print(_line(n, r), flush=True)
    return results


def _median(results: list[RunResult], stage: str) -> float:
    return statistics.median(r.stages[stage] for r in results)


async def main(
    loans: int,
    runs: int,
    baseline: int,
    baseline_runs: int,
    log_dir: Path,
    reuse: bool,
    trigger: str,
    json_path: str | None = None,
) -> None:
    sizes = [(baseline, baseline_runs), (loans, runs)] if baseline else [(loans, runs)]
    measured = {size: await measure(size, n, log_dir, reuse, trigger) for size, n in sizes}
    print(
        f"\nmedian end-to-end, triggered by {trigger} (COB start -> every ChargeBooked published):"
    )
    base = measured.get(baseline)
    for size, results in measured.items():
        total = _median(results, "chargebooked_published")
        peak = {k: max(r.peaks[k] for r in results) for k in results[0].peaks}
        ratio = f", x{total / _median(base, 'chargebooked_published'):.2f} baseline" if base else ""
        print(
            f"  loans={size:,} ({len(results)} run(s)): total {total:.2f}s{ratio} | COB "
            f"{_median(results, 'cob_committed'):.2f}s, published "
            f"{_median(results, 'overdue_published'):.2f}s, booked "
            f"{_median(results, 'penalties_booked'):.2f}s | max peak RSS "
            + ", ".join(f"{k} {v:.0f} MB" for k, v in peak.items())
        )
    write_results(
        json_path,
        "close_of_business_chain",
        {
            "trigger": trigger,
            "sizes": {
                str(size): {
                    "runs": len(results),
                    "total_s": _median(results, "chargebooked_published"),
                    "cob_committed_s": _median(results, "cob_committed"),
                    "overdue_published_s": _median(results, "overdue_published"),
                    "penalties_booked_s": _median(results, "penalties_booked"),
                    "peak_rss_mb": max(max(r.peaks.values()) for r in results),
                }
                for size, results in measured.items()
            },
            "baseline": baseline or None,
            "loans": loans,
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=int, default=100_000, help="0: no baseline")
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument(
        "--reuse-templates",
        action="store_true",
        help="keep existing template databases that are at the latest migrations",
    )
    parser.add_argument(
        "--trigger",
        choices=("markers", "ops-command"),
        default="markers",
        help="markers: the ledger's BusinessDayClosed markers, consumed by the overdue "
        "service (the production path); ops-command: the overdue CLI in a process of its own",
    )
    parser.add_argument("--json", help="write the medians there (bench/all.py)")
    args = parser.parse_args()
    logs = Path(os.environ.get("CHAIN_LOG_DIR", tempfile.gettempdir())) / "cob_chain_logs"
    logs.mkdir(parents=True, exist_ok=True)  # the services' output, for a failed run
    sys.exit(
        asyncio.run(
            main(
                args.loans,
                args.runs,
                args.baseline,
                args.baseline_runs,
                logs,
                args.reuse_templates,
                args.trigger,
                args.json,
            )
        )
    )
