"""Benchmark: close of business end to end, until every event is published AND booked.

    .venv/bin/python bench/close_of_business_chain.py --loans 1000000 --runs 3 --baseline 100000
    (add --trigger ops-command to time the ops command instead of the ledger's markers)

Per size, four template databases are seeded once with set-based SQL (not timed):

- the overdue read model (``chain_overdue_tpl``): N active loans of 1,000,000.00 CNY with
  4 monthly instalments; 8 % overdue on D (DPD 1..60, bucket, stage and credit-report
  gate as of D-1, arrears flag after the 3-day grace), 3 % fall due on D, the rest later;
- the ledger (``chain_ledger_tpl``): the same loans, schedule version 1 and instalments
  (same due dates and amounts, nothing paid) under product BENCH;
- the notifier (``chain_notifier_tpl``): the product with its notification policy, loan ->
  borrower, a contact profile (SMS then email, 5 % opted out of SMS, 1 % with none) for
  every loan the close can trigger, and its clock at 09:30 Shanghai time on D;
- the restructure service (``chain_restructure_tpl``): the product as its own handler of
  ``ledger.product.published`` keeps it, every loan with its instalments.

Each run clones both templates (``CREATE DATABASE ... TEMPLATE``), makes a fresh topic
namespace (``lendkit.testing.create_platform_topics``), and starts two service processes
with that namespace and database (untimed, until healthy), each under its own consumer group
name (dead letters on ``<namespace><group>.dlt``):

- ``python -m overdue`` (its outbox relay publishes; its consumer reads the namespace's
  ``ledger.loans`` with ``--trigger markers``, and is off with ``--trigger ops-command``),
- ``python -m ledger`` (its consumer books ``overdue.penalty.assessed`` in batch mode,
  its relay publishes ``ledger.charge.booked``),
- ``python -m notifier`` (its consumer decides the day's overdue notices and stage messages,
  its dispatcher hands them to the sandbox provider; 100 ms pauses),
- ``python -m restructure`` (its consumer keeps the loans' balances and delinquency).

Timed, from the trigger:

- ``--trigger markers`` (default, the production path): a ``BusinessDayClosed`` marker for
  D on each of the six partitions of ``ledger.loans``, as the ledger writes them at the end
  of its own close; the overdue service closes D in its consumer once it has them all;
- ``--trigger ops-command``: ``python -m overdue.entrypoints.cli close-of-business D`` (a
  third process, as ops would run it, start-up and imports included);

then until the overdue outbox is fully published, every penalty of D
is a charge in the ledger database, the ledger outbox is fully published (every
``ChargeBooked`` acknowledged by Kafka), and then the notifier's and the restructure
service's groups have read both topics to their ends (lag 0 on every partition), their
outboxes are published and the notifier's send queue is empty. Stage times are measured
from the start: COB committed, overdue events published, penalties booked, ChargeBooked
published, notifier done, restructure done; the run's time is the last of them. A dead
letter in any of the four groups fails the run.
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
from notifier_triggers import NOTIFIER_SEED
from overdue_portfolio import DUE_DATE, OVERDUE_SEED, POLICY, bound

from ledger.adapters.repository import ProductRepository
from ledger.domain import LoanProduct, ScheduleType
from ledger.service_layer.commands import product_published
from lendkit.contracts.ledger import BusinessDayClosed
from lendkit.contracts.topics import LEDGER_LOANS, LOAN_PARTITIONS, kafka_group_id
from lendkit.db import asyncpg_dsn
from lendkit.events import new_event
from lendkit.migrations import upgrade
from lendkit.ops.dead_letters import list_dead_letters
from lendkit.ops.lag import LagReader
from lendkit.testing import (
    KAFKA,
    PG_SERVER,
    create_platform_topics,
    database_url,
    delete_namespace_topics,
    unique,
)
from notifier.entrypoints.consumers import CONSUMERS as NOTIFIER_CONSUMERS
from restructure.entrypoints.consumers import CONSUMERS as RESTRUCTURE_CONSUMERS

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


#: The book's one product, as the ledger stores it and publishes it to the other services.
PRODUCT = LoanProduct(
    code="BENCH",
    currency="CNY",
    annual_rate=Decimal("0.144"),
    term=4,
    schedule_type=ScheduleType.EQUAL_PRINCIPAL,
    overdue_policy={"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
)
#: The notifier's copy of the book (its seed of the trigger benchmark: the product with its
#: notification policy, loan -> borrower and a contact profile for every loan the close can
#: trigger), and its clock at 09:30 Shanghai time on D, the morning after the close, so
#: what it decides may be sent at once whenever the benchmark runs.
NOTIFIER_CHAIN_SEED = [
    *NOTIFIER_SEED[:-1],
    f"""INSERT INTO notifier_clock (id, simulated, business_date, time_of_day, timezone)
        VALUES (1, true, DATE '{BUSINESS_DATE}', TIME '09:30', 'Asia/Shanghai')""",
    "ANALYZE",
]
#: The restructure service's copy of the book (its product comes from the published
#: product, ``_seed_restructure``): every loan with the ledger's instalments, nothing paid.
RESTRUCTURE_SEED = [
    """
    INSERT INTO loans (loan_id, borrower_id, product_code, currency, annual_rate, schedule_type,
                       frequency, day_count, rounding, disbursed_on)
    SELECT 'L' || lpad(i::text, 8, '0'), 'B' || i, p.code, p.currency, 0.144, p.schedule_type,
           p.frequency, p.day_count, p.rounding, DATE '2025-09-20'
    FROM generate_series(1, CAST(:n AS int)) AS i CROSS JOIN products p
    """,
    f"""
    INSERT INTO loan_instalments (loan_id, seq, due_date, principal_minor, interest_minor)
    SELECT 'L' || lpad(i::text, 8, '0'), k,
           ({DUE_DATE} + make_interval(months => k - 1))::date, 250000, 12000
    FROM generate_series(1, CAST(:n AS int)) AS i CROSS JOIN generate_series(1, 4) AS k
    """,
    "ANALYZE",
]
#: The services of the chain, by consumer group: the overdue service closes the day, the
#: ledger books its penalties, the notifier and the restructure service consume both.
SERVICES = ("overdue", "ledger", "notifier", "restructure")
CONSUMER_TOPICS = {
    "notifier": NOTIFIER_CONSUMERS.topics,
    "restructure": RESTRUCTURE_CONSUMERS.topics,
}


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
    + hashlib.sha256(
        "\n".join(
            [POLICY, repr(PRODUCT), *OVERDUE_SEED, *LEDGER_SEED, *NOTIFIER_CHAIN_SEED,
             *RESTRUCTURE_SEED]
        ).encode()
    ).hexdigest()[:16]
)  # fmt: skip


async def seed_templates(loans: int, reuse: bool = False) -> dict[str, str]:
    """Each service's template database (``SERVICES`` order), seeded with the book."""
    templates = {s: f"chain_{s}_tpl_{loans}" for s in SERVICES}
    if reuse and await _templates_current(templates):
        return templates
    urls = {s: await _recreate(t) for s, t in templates.items()}
    for service, url in urls.items():
        await asyncio.to_thread(upgrade, service, url)
    overdue_url, ledger_url = urls["overdue"], urls["ledger"]
    conn = await asyncpg.connect(asyncpg_dsn(overdue_url))
    try:
        for statement in OVERDUE_SEED:
            await conn.execute(_bind(statement, loans))
    finally:
        await conn.close()
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine(ledger_url)
    async with AsyncSession(engine) as session, session.begin():
        await ProductRepository(session).add(PRODUCT)
    await engine.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(ledger_url))
    try:
        for statement in LEDGER_SEED:
            await conn.execute(_bind(statement, loans))
    finally:
        await conn.close()
    await _seed_notifier(urls["notifier"], loans)
    await _seed_restructure(urls["restructure"], loans)
    # Vacuumed and analysed like long-lived production tables, so every run starts from the
    # same state (a fresh seed and an autovacuumed one differ by about 1 s at 1M loans).
    for url in urls.values():
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("VACUUM (ANALYZE)")
        finally:
            await conn.close()
    conn = await _admin()
    try:  # which seed the templates hold: --reuse-templates never reuses an older one
        for name in templates.values():
            await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{SEED_FINGERPRINT}'")
    finally:
        await conn.close()
    return templates


async def _seed_notifier(url: str, loans: int) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for statement in NOTIFIER_CHAIN_SEED:
            await conn.execute(_bind(statement, loans))
    finally:
        await conn.close()


async def _seed_restructure(url: str, loans: int) -> None:
    """The product through the service's own handler of ``ledger.product.published`` (its
    policy and schedule terms exactly as it keeps them), then the loans."""
    from restructure.bootstrap import create_runtime
    from restructure.service_layer.handlers import on_product_published
    from restructure.settings import Settings

    runtime = create_runtime(Settings(database_url=url, development_mode=True, run_consumers=False))
    await runtime.start(background=False)
    try:
        async with runtime.uow() as uow:
            await on_product_published(
                uow, new_event(product_published(PRODUCT), source="/ledger", key=PRODUCT.code)
            )
            await uow.commit()
    finally:
        await runtime.stop()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for statement in RESTRUCTURE_SEED:
            await conn.execute(_bind(statement, loans))
    finally:
        await conn.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _templates_current(templates: dict[str, str]) -> bool:
    """Whether every template exists at its service's latest migration, seeded by the
    seed statements of this version of the benchmark."""
    conn = await _admin()
    try:
        for name in templates.values():
            comment = await conn.fetchval(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                name,
            )
            if comment != SEED_FINGERPRINT:
                return False
    finally:
        await conn.close()
    for service, name in templates.items():
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
        str(ROOT / p) for p in ("shared", *(f"services/{s}" for s in SERVICES))
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
    messages: int = 0

    @property
    def total(self) -> float:
        """Until the last of the four services is done with the day."""
        return max(self.stages.values())


PORTS = {"ledger": 18801, "overdue": 18802, "notifier": 18803, "restructure": 18804}


async def one_run(loans: int, templates: dict[str, str], log_dir: Path, trigger: str) -> RunResult:
    namespace = unique("chain") + "."
    await create_platform_topics(namespace)
    urls = {s: await _recreate(f"chain_{s}_run", t) for s, t in templates.items()}
    overdue_url, ledger_url = urls["overdue"], urls["ledger"]
    # Each service under its own group name (its dead letters on ``<ns><group>.dlt``), the
    # namespace keeping runs apart.
    common = {"topic_namespace": namespace, "log_level": "WARNING"}
    fast = {"outbox_batch_size": "5000", "outbox_poll_interval_ms": "100"}
    envs = {
        "overdue": _env(
            "OVERDUE_",
            database_url=overdue_url,
            http_port=str(PORTS["overdue"]),
            run_consumers="true" if trigger == "markers" else "false",
            **fast,
            **common,
        ),
        "ledger": _env(
            "LEDGER_",
            database_url=ledger_url,
            http_port=str(PORTS["ledger"]),
            consumer_batch_size="5000",
            **fast,
            **common,
        ),
        "notifier": _env(
            "NOTIFIER_",
            database_url=urls["notifier"],
            http_port=str(PORTS["notifier"]),
            dispatch_interval_ms="100",
            **fast,
            **common,
        ),
        "restructure": _env(
            "RESTRUCTURE_",
            database_url=urls["restructure"],
            http_port=str(PORTS["restructure"]),
            **fast,
            **common,
        ),
    }
    services = {
        name: Service(name, _start(name, envs[name], log_dir / f"{name}.log"), PORTS[name])
        for name in SERVICES
    }
    overdue = services["overdue"]
    result = RunResult(loans)
    db = {name: await asyncpg.connect(asyncpg_dsn(url)) for name, url in urls.items()}
    odb, ldb = db["overdue"], db["ledger"]
    lags = LagReader(KAFKA)
    await lags.start()
    try:
        await asyncio.gather(*(s.healthy() for s in services.values()))
        service_cpu = {s.name: cpu_seconds(s.process.pid) for s in services.values()}
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
            await _run_ops_command(envs["overdue"], result)
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
            if "overdue_published" in pending and not await _unpublished(odb):
                result.stages["overdue_published"] = now
                pending.discard("overdue_published")
            if "penalties_booked" in pending:
                booked = await ldb.fetchval("SELECT count(*) FROM charges")
                if booked >= result.penalties:
                    result.stages["penalties_booked"] = now
                    pending.discard("penalties_booked")
            elif not await _unpublished(ldb):
                result.stages["chargebooked_published"] = now
                pending.discard("chargebooked_published")
            _check_running(services, now, pending)
            await asyncio.sleep(0.05)
        # Everything upstream is on the broker now: the notifier and the restructure service
        # are done when their groups have read it all, their outboxes are published and the
        # notifier has sent what it queued.
        pending = {"notifier_done", "restructure_done"}
        while pending:
            now = time.perf_counter() - started
            for name in ("notifier", "restructure"):
                if f"{name}_done" in pending and await _consumed(lags, namespace, name, db[name]):
                    result.stages[f"{name}_done"] = time.perf_counter() - started
                    pending.discard(f"{name}_done")
            _check_running(services, now, pending)
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
        result.messages = int(
            await db["notifier"].fetchval(
                "SELECT count(*) FROM contact_attempts WHERE state = 'sent'"
            )
        )
        dead = [
            f"{d.group}: {d.type} {d.key}: {d.reason}"
            for group in SERVICES
            for d in await list_dead_letters(KAFKA, group, namespace=namespace)
        ]
        if dead:  # every event was applied: a dead letter is a defect of the run or the seed
            raise RuntimeError(f"{len(dead)} dead letter(s), the first: {dead[:3]}")
    finally:
        for service in services.values():
            service.stop()
        for conn in db.values():
            await conn.close()
        await lags.close()
        await delete_namespace_topics(namespace)  # runs must not pile up on the broker
    for name, service in services.items():
        result.peaks[f"{name}-service"] = service.peak_mb
        result.cpu[f"{name}-service"] = service.cpu_s - service_cpu[name]
    return result


async def _unpublished(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)")
    )


async def _consumed(
    lags: LagReader, namespace: str, service: str, conn: asyncpg.Connection
) -> bool:
    """The service's group has read every topic it subscribes to to its end, its outbox is
    published and (the notifier) nothing it queued is still unsent."""
    topics = [namespace + t for t in CONSUMER_TOPICS[service]]
    group = kafka_group_id(namespace, service)
    if any(p.lag for p in await lags.lags([group], {group: topics})):
        return False
    if await _unpublished(conn):
        return False
    if service == "notifier":
        return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM send_queue)")
    return True


def _check_running(services: dict[str, Service], now: float, pending: set[str]) -> None:
    for service in services.values():
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {service.process.returncode}")
    if now > 600:
        raise RuntimeError(f"not done after 600 s: {pending}")


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
        f"published {s['chargebooked_published']:.2f}s, notifier done {s['notifier_done']:.2f}s "
        f"({r.messages:,} messages sent), restructure done {s['restructure_done']:.2f}s | "
        f"peak RSS: {peaks} | CPU: {cpu}"
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
    """The median of a stage's times, or (``total``) of the runs' ends."""
    if stage == "total":
        return statistics.median(r.total for r in results)
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
        f"\nmedian end-to-end, triggered by {trigger} (COB start -> every ChargeBooked "
        "published, and the notifier and restructure service done with the day):"
    )
    base = measured.get(baseline)
    for size, results in measured.items():
        total = _median(results, "total")
        peak = {k: max(r.peaks[k] for r in results) for k in results[0].peaks}
        ratio = f", x{total / _median(base, 'total'):.2f} baseline" if base else ""
        print(
            f"  loans={size:,} ({len(results)} run(s)): total {total:.2f}s{ratio} | COB "
            f"{_median(results, 'cob_committed'):.2f}s, published "
            f"{_median(results, 'overdue_published'):.2f}s, booked "
            f"{_median(results, 'penalties_booked'):.2f}s, notifier "
            f"{_median(results, 'notifier_done'):.2f}s, restructure "
            f"{_median(results, 'restructure_done'):.2f}s | max peak RSS "
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
                    "total_s": _median(results, "total"),
                    "chargebooked_published_s": _median(results, "chargebooked_published"),
                    "notifier_done_s": _median(results, "notifier_done"),
                    "restructure_done_s": _median(results, "restructure_done"),
                    "messages_sent": statistics.median(r.messages for r in results),
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
