"""The fault run (issue 14): the simulator's portfolio run twice on a private PostgreSQL and
Kafka of its own, once quietly and once while a seeded, printed fault schedule runs:
``kill -9`` of random service processes (during close of business, during payment bursts,
during relay publishing), a Kafka broker restart, PostgreSQL restarts (fast and immediate
shutdown), a broker stall (SIGSTOP, then SIGCONT). A supervisor restarts what was killed, as
an orchestrator would. At the end: the simulator's invariants, the fault run's own checks
(every accepted payment allocated exactly once, consumer lag back to 0 within a stated time
after the last fault) and the faulted report's results equal to the quiet run's.

    .venv/bin/python bench/faults.py --loans 1000 --days 30 --seed 42

PostgreSQL and Kafka come from ``scripts/infra/postgres.sh`` / ``kafka.sh`` with their data
under ``--var`` and on ``--pg-port`` / ``--kafka-port`` (never the shared 54329 / 19092).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("close_of_business", "payments", "relay")
#: After the last fault, every consumer group's lag must be 0 again within this time.
LAG_BOUND_SECONDS = 120.0
console = Console(stderr=True)
app = typer.Typer(add_completion=False, help=__doc__)


# -- the private infrastructure (the project's scripts, other ports and data) -----------------


@dataclass(frozen=True)
class Infra:
    var: Path
    pg_port: int
    kafka_port: int
    controller_port: int

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "INFRA_VAR": str(self.var),
            "INFRA_CACHE": os.environ.get("INFRA_CACHE", str(_jar_cache())),
            "PG_PORT": str(self.pg_port),
            "KAFKA_PORT": str(self.kafka_port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            **extra,
        }

    def script(self, name: str, command: str, **extra: str) -> None:
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "infra" / name), command],
            env=self.env(**extra),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self.script("postgres.sh", "start")
        self.script("kafka.sh", "start")

    def stop(self) -> None:
        self.script("kafka.sh", "stop")
        self.script("postgres.sh", "stop")

    @property
    def pg_server(self) -> str:
        return f"postgres:platform@127.0.0.1:{self.pg_port}"

    @property
    def kafka(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def kafka_pid(self) -> int:
        return int((self.var / "run" / "kafka.pid").read_text())


def _jar_cache() -> Path:
    # The Kafka jars: this checkout's cache, else the main checkout's (a git worktree's
    # common directory), so a worktree does not fetch them from Maven Central again.
    own = ROOT / ".cache"
    if (own / "kafka" / "libs" / ".complete").exists():
        return own
    common = subprocess.run(
        ["git", "rev-parse", "--git-common-dir"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    main = (ROOT / common).resolve().parent / ".cache" if common else own
    return main if (main / "kafka" / "libs" / ".complete").exists() else own


# -- the schedule ---------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str  # kill | broker_restart | pg_restart_fast | pg_restart_immediate | broker_stall
    day: int
    phase: str
    delay: float  # seconds into the phase
    service: str | None = None
    injected_at: float | None = None
    recovered_at: float | None = None
    note: str = ""

    @property
    def survived(self) -> bool:
        return self.injected_at is not None and self.recovered_at is not None


def schedule(
    seed: int, days: int, kills: int, stall_seconds: float, services: tuple[str, ...]
) -> list[Fault]:
    """Seeded: the same seed and size give the same faults on the same days and phases."""
    rng = random.Random(f"faults-{seed}")
    # From the second day to the last but one: the last day's settled wait sees lag 0
    # after the last fault.
    span = range(1, max(days - 1, 2))
    faults = [
        Fault(
            "kill",
            rng.choice(span),
            PHASES[i % 3],
            round(rng.uniform(0, 0.5), 3),
            rng.choice(services),
        )
        for i in range(kills)
    ]
    for kind in ("broker_restart", "pg_restart_fast", "pg_restart_immediate"):
        faults.append(
            Fault(kind, rng.choice(span), rng.choice(PHASES), round(rng.uniform(0, 0.3), 3))
        )
    if stall_seconds > 0:
        faults.append(Fault("broker_stall", rng.choice(span), rng.choice(PHASES), 0.0))
    return sorted(faults, key=lambda f: (f.day, PHASES.index(f.phase), f.delay))


@dataclass
class Burst:
    """Payments at ``rate`` per second while one close of business runs, in both runs (the
    same day, loans and amounts: part of the workload, not a fault). One small payment (1.00)
    per loan that was never past due, with no instalment due within three days either side and
    two or more ahead (``burst_loans``): the close of business has nothing to do with them, so whether a
    payment lands before or after it cannot change what the day books."""

    day: int
    rate: float = 200.0
    limit: int = 1_000
    amount_minor: int = 100
    sent: int = 0
    accepted: int = 0
    refused: list[str] | None = None
    window: tuple[float, float] | None = None  # first and last send, s since the burst began
    close: tuple[float, float] | None = None  # the close of business request, same clock
    latencies_ms: list[float] | None = None
    finished: float | None = None  # the last answer, same clock

    @property
    def answered_rate(self) -> float | None:
        """Accepted payments per second, first send to last answer."""
        if self.finished is None or self.finished <= 0:
            return None
        return round(self.accepted / self.finished, 1)

    @property
    def achieved_rate(self) -> float | None:
        if self.window is None or self.sent < 2 or self.window[1] <= self.window[0]:
            return None
        return round((self.sent - 1) / (self.window[1] - self.window[0]), 1)

    @property
    def during_close(self) -> bool:
        """The close of business request began after the first payment was sent and before
        the last was answered: payments were arriving while it ran."""
        if self.window is None or self.close is None or self.finished is None:
            return False
        return self.window[0] <= self.close[0] < self.finished

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms or [])

        def pct(q: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(q * len(lat)))], 1) if lat else None

        return {
            "day": self.day,
            "target_rate": self.rate,
            "achieved_rate": self.achieved_rate,
            "answered_rate": self.answered_rate,
            "sent": self.sent,
            "accepted": self.accepted,
            "refused": (self.refused or [])[:20],
            "window_seconds": self.window,
            "last_answer_seconds": self.finished,
            "close_of_business_seconds": self.close,
            "during_close": self.during_close,
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
        }


def burst_loans(views: dict[str, Any], facts: dict[str, Any], today: Any, limit: int) -> list[str]:
    """The burst's loans: the close of business of ``today`` books nothing on them, so a
    payment landing before or after it cannot change what the day books. A loan that has never
    been past due by the overdue service's events (the bucket is ``current`` from the first
    day past due, while "became overdue" waits for the grace, and the penalty runs from day
    one), not settled, no promise open, no instalment due within three days either side (one
    due yesterday and unpaid is still ``current`` until today's close makes it a day past due)
    and two or more due after that."""
    from datetime import timedelta

    soon, lately = today + timedelta(days=3), today - timedelta(days=3)
    picked = [
        loan
        for loan, view in sorted(views.items())
        if loan in facts
        and facts[loan].bucket == "current"
        and not facts[loan].ever_overdue
        and view.overdue_since is None
        and not view.settled
        and view.promise_due is None
        and not any(lately <= d <= soon for d in view.due_dates)
        and sum(d > soon for d in view.due_dates) >= 2
    ]
    return picked[:limit]


def burst_day(seed: int, days: int) -> int:
    """Seeded, in the run's second half (most loans out by then), not the last day."""
    rng = random.Random(f"burst-{seed}")
    return rng.randrange(max(days // 2, 1), max(days - 1, 2))


# -- the supervisor: the services as processes, restarted when they die ------------------------


class Supervisor:
    def __init__(self, target: Any, log_dir: Path) -> None:
        from simulator import local_platform as lp
        from simulator.target import SERVICES

        self.target, self.log_dir, self.services = target, log_dir, SERVICES
        self.env = {s: {**os.environ, **lp.service_env(target, s)} for s in SERVICES}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, int] = dict.fromkeys(SERVICES, 0)
        self.stopping = False
        log_dir.mkdir(parents=True, exist_ok=True)

    def spawn(self, service: str) -> None:
        with (self.log_dir / f"{service}.log").open("ab") as log:
            self.procs[service] = subprocess.Popen(
                [sys.executable, "-m", service],
                env=self.env[service],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, service: str, timeout: float = 180) -> None:
        from lendkit.testing import wait_ready

        await wait_ready(self.target.urls[service], timeout)

    async def start(self) -> None:
        for s in self.services:
            self.spawn(s)
        for s in self.services:
            await self.ready(s)

    def kill(self, service: str) -> int:
        pid = self.procs[service].pid
        os.kill(pid, signal.SIGKILL)
        return pid

    async def watch(self) -> None:
        """An orchestrator's restart policy: a process that exited is started again."""
        while not self.stopping:
            for s, proc in list(self.procs.items()):
                if proc.poll() is not None and not self.stopping:
                    self.restarts[s] += 1
                    self.spawn(s)
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        self.stopping = True
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- the injector -----------------------------------------------------------------------------


class Injector:
    def __init__(
        self, faults: list[Fault], supervisor: Supervisor, infra: Infra, stall_seconds: float
    ) -> None:
        self.faults, self.supervisor, self.infra = faults, supervisor, infra
        self.stall_seconds = stall_seconds
        self.started = time.perf_counter()
        self.tasks: list[asyncio.Task[None]] = []
        self.fired: set[tuple[int, str]] = set()
        #: One server fault at a time: a restart that meets another's stop would fail.
        self.servers = asyncio.Lock()

    def phase(self, day: int, phase: str) -> None:
        """The day's phase begins: its faults start (once; a day without payments has its
        ``payments`` faults with the close of business)."""
        if (day, phase) in self.fired:
            return
        self.fired.add((day, phase))
        for f in self.faults:
            if f.day == day and f.phase == phase:
                self.tasks.append(asyncio.create_task(self._inject(f)))

    def _now(self) -> float:
        return round(time.perf_counter() - self.started, 2)

    async def _inject(self, f: Fault) -> None:
        await asyncio.sleep(f.delay)
        if f.kind == "kill":
            await self._apply(f)
            return
        async with self.servers:
            await self._apply(f)

    async def _apply(self, f: Fault) -> None:
        f.injected_at = self._now()
        console.print(f"[yellow]fault[/] {f.kind} {f.service or ''} day {f.day} {f.phase}")
        try:
            if f.kind == "kill":
                assert f.service is not None
                f.note = f"pid {self.supervisor.kill(f.service)}"
                await asyncio.sleep(0.5)  # the supervisor notices and restarts
                await self.supervisor.ready(f.service)
            elif f.kind == "broker_restart":
                await asyncio.to_thread(self.infra.script, "kafka.sh", "stop")
                await asyncio.to_thread(self.infra.script, "kafka.sh", "start")
            elif f.kind.startswith("pg_restart_"):
                mode = f.kind.removeprefix("pg_restart_")
                await asyncio.to_thread(self.infra.script, "postgres.sh", "stop", PG_STOP_MODE=mode)
                await asyncio.to_thread(self.infra.script, "postgres.sh", "start")
            elif f.kind == "broker_stall":
                pid = self.infra.kafka_pid()
                os.kill(pid, signal.SIGSTOP)
                try:
                    await asyncio.sleep(self.stall_seconds)
                finally:
                    os.kill(pid, signal.SIGCONT)
                f.note = f"SIGSTOP {self.stall_seconds:.0f} s"
            f.recovered_at = self._now()
        except Exception as e:
            f.note = f"{type(e).__name__}: {e}"

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks)

    @property
    def last_recovered(self) -> float | None:
        done = [f.recovered_at for f in self.faults if f.recovered_at is not None]
        return max(done) if len(done) == len(self.faults) and done else None


# -- the simulation, with the faults' phases and tolerant waits --------------------------------


def faulted_simulation(
    config: Any, target: Any, injector: Injector | None, burst: Burst | None = None
) -> Any:
    """The simulator's ``Simulation``, unchanged but for the seams a subclass takes: the
    close of business (the faults of the phase ``close_of_business`` start with the request,
    those of ``relay`` when it is answered and the relays publish the day; on the burst's day
    the payment burst runs around it), the payment gateway (``payments``: with the day's
    batch; every accepted payment id recorded) and the settler (a wait that meets a
    restarting database or broker tries again). Without an injector: the quiet run, with the
    same burst."""
    from lendkit.auth import Role
    from simulator.client import Platform, PlatformError
    from simulator.runner import Simulation

    class FaultedGateway:
        def __init__(self, inner: Any, sim: Any) -> None:
            self.inner, self.sim, self.name = inner, sim, inner.name

        async def send(self, orders: list[Any]) -> list[Any]:
            if injector is not None:
                injector.phase((orders[0].value_date - self.sim.start).days, "payments")
            results: list[Any] = await self.inner.send(orders)
            self.sim.accepted_payments += [r.payment_id for r in results if r.payment_id]
            return results

    class TolerantSettler:
        def __init__(self, inner: Any) -> None:
            self.inner = inner
            self.lag_zero_after_last_fault: float | None = None

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        async def _retry(self, work: Any) -> Any:
            deadline = time.monotonic() + 600
            while True:
                try:
                    return await work()
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)

        async def wait(self, timeout: float = 600.0) -> Any:
            settled = await self._retry(lambda: self.inner.wait(timeout))
            last = injector.last_recovered if injector is not None else None
            if last is not None and self.lag_zero_after_last_fault is None:
                assert injector is not None
                self.lag_zero_after_last_fault = round(injector._now() - last, 2)
            return settled

        async def lags(self) -> dict[str, int]:
            return dict(await self._retry(self.inner.lags))

    class FaultedSimulation(Simulation):
        accepted_payments: list[str]

        def __init__(self) -> None:
            super().__init__(config, target)
            self.platform.attempts = 400  # a killed service is away for seconds
            self.accepted_payments = []

        @property
        def gateway(self) -> Any:
            return self._gateway

        @gateway.setter
        def gateway(self, inner: Any) -> None:
            self._gateway = FaultedGateway(inner, self)

        @property
        def settler(self) -> Any:
            return self._settler

        @settler.setter
        def settler(self, inner: Any) -> None:
            self._settler = TolerantSettler(inner)

        async def _close(self, day: Any) -> None:
            index = (day - self.start).days
            if injector is not None:
                injector.phase(index, "payments")  # a day without payments: with the close
                injector.phase(index, "close_of_business")
            if burst is not None and index == burst.day:
                await self._close_under_burst(day, burst)
            else:
                await super()._close(day)
            if injector is not None:
                injector.phase(index, "relay")

        def _burst_loans(self, today: Any) -> list[str]:
            if burst is None:
                return []
            return burst_loans(self.views, self.record.loans, today, burst.limit)

        async def _close_under_burst(self, day: Any, b: Burst) -> None:
            """The day's payments at ``b.rate`` per second (open loop: each sent at its
            moment, whatever the answers' latency), the close of business started once a
            third of them are out and running while the rest arrive."""
            loans = self._burst_loans(day)
            client = Platform(self.target, concurrency=256)
            client.attempts = self.platform.attempts
            b.refused, b.latencies_ms = [], []
            sends: list[float] = []
            t0 = time.perf_counter()

            async def pay(i: int, loan: str) -> None:
                await asyncio.sleep(max(0.0, t0 + i / b.rate - time.perf_counter()))
                sends.append(time.perf_counter() - t0)
                ref = f"burst-{loan}-{b.day}"
                started = time.perf_counter()
                try:
                    body = await client.call(
                        "ledger",
                        "POST",
                        f"/loans/{loan}/payments",
                        role=Role.SERVICE,
                        json={
                            "external_reference": ref,
                            "amount_minor": b.amount_minor,
                            "value_date": day.isoformat(),
                        },
                        idempotency_key=ref,
                    )
                except PlatformError as e:
                    assert b.refused is not None
                    b.refused.append(f"{loan}: {e}")
                    return
                assert b.latencies_ms is not None
                b.latencies_ms.append((time.perf_counter() - started) * 1000)
                b.accepted += 1
                self.accepted_payments.append(body["payment_id"])
                self.tallies.payments += 1
                self.tallies.paid_minor[self.currency_of[loan]] += b.amount_minor

            try:
                tasks = [asyncio.create_task(pay(i, loan)) for i, loan in enumerate(loans)]
                b.sent = len(tasks)
                await asyncio.sleep(len(loans) / b.rate / 3)
                started = time.perf_counter() - t0
                await Simulation._close(self, day)
                b.close = (round(started, 3), round(time.perf_counter() - t0, 3))
                await asyncio.gather(*tasks)
                b.finished = round(time.perf_counter() - t0, 3)
            finally:
                await client.close()
            if sends:
                b.window = (round(min(sends), 3), round(max(sends), 3))
            if b.refused:
                raise RuntimeError(f"burst payments refused: {b.refused[:3]}")

    return FaultedSimulation()


# -- the fault run's own checks ----------------------------------------------------------------

ALLOCATED = """
SELECT p.payment_id::text AS payment_id, p.reversed,
       count(a.*) FILTER (WHERE a.current) AS current_allocations
FROM payments p LEFT JOIN allocations a
  ON a.source_kind = 'payment' AND a.source_id = p.payment_id::text AND a.loan_id = p.loan_id
WHERE p.payment_id::text = ANY($1::text[])
GROUP BY p.payment_id, p.reversed
"""


async def payments_allocated_once(sim: Any) -> dict[str, Any]:
    """Every payment the gateway was told was accepted is on the ledger and allocated once
    (a reversed one no longer: its allocation is undone)."""
    import asyncpg

    ids = list(dict.fromkeys(sim.accepted_payments))
    conn = await asyncpg.connect(sim.target.databases["ledger"])
    try:
        rows = {r["payment_id"]: r for r in await conn.fetch(ALLOCATED, ids)}
    finally:
        await conn.close()
    failures = [f"payment {i} accepted, not on the ledger" for i in ids if i not in rows]
    for i, r in rows.items():
        want = 0 if r["reversed"] else 1
        if r["current_allocations"] != want:
            failures.append(f"payment {i}: {r['current_allocations']} current allocations")
    return {
        "name": "every accepted payment allocated exactly once (0 lost)",
        "source": "gateway's accepted payment ids vs database (read only): ledger.allocations",
        "passed": not failures,
        "checked": len(ids),
        "failures": failures[:20],
        "note": "",
    }


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two reports' results differ: the paths of the differing leaves (a list or a
    value that is not a mapping is one leaf), each with the two values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b), key=str)
            for d in differences(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        ]
    if a == b:
        return []
    shown = [json.dumps(v, default=str) for v in (a, b)]
    return [f"{path}: {' vs '.join(v if len(v) <= 80 else v[:77] + '...' for v in shown)}"]


def results_equal(quiet: dict[str, Any], faulted: dict[str, Any]) -> dict[str, Any]:
    a, b = quiet["results"], faulted["results"]
    differ = differences(a, b)
    return {
        "name": "the faulted report's results equal the quiet run's (same seed)",
        "source": "report results (bookings, contacts, plans, buckets, events), timings aside",
        "passed": not differ,
        "checked": len(set(a) | set(b)),
        "failures": [f"results differ in {d}" for d in differ[:20]],
        "note": f"digest {quiet.get('results_digest')} vs {faulted.get('results_digest')}",
    }


def burst_check(quiet: Burst, faulted: Burst) -> dict[str, Any]:
    failures: list[str] = []
    for name, b in (("quiet", quiet), ("faulted", faulted)):
        if b.sent == 0:
            failures.append(f"{name} run: no payment sent")
        if b.accepted != b.sent:
            failures.append(f"{name} run: {b.sent - b.accepted} of {b.sent} not accepted")
        if not b.during_close:
            failures.append(
                f"{name} run: no burst payment was in flight when the close of business began"
            )
    f = faulted.summary()
    return {
        "name": f"payments at {faulted.rate:.0f}/s during one close of business, each accepted",
        "source": "the burst's answers; their ids are in the allocated-once check",
        "passed": not failures,
        "checked": quiet.sent + faulted.sent,
        "failures": failures,
        "note": (
            f"day {faulted.day}: {f['sent']} sent at {f['achieved_rate']}/s, answered "
            f"{f['answered_rate']}/s, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms; close "
            f"{f['close_of_business_seconds']} s, sends {f['window_seconds']} s, last answer "
            f"{f['last_answer_seconds']} s"
        ),
    }


# -- the run ----------------------------------------------------------------------------------


def fault_run(
    *,
    loans: int,
    days: int,
    seed: int,
    kills: int,
    stall_seconds: float,
    infra: Infra,
    base_port: int,
    out: Path,
    prefix: str = "faults",
) -> dict[str, Any]:
    from simulator import local_platform as lp
    from simulator.config import load_config
    from simulator.target import SERVICES

    infra.start()
    config = load_config(loans=loans, days=days, seed=seed)
    faults = schedule(seed, days, kills, stall_seconds, SERVICES)
    print_schedule(faults)
    quiet_burst, burst = Burst(burst_day(seed, days)), Burst(burst_day(seed, days))
    console.print(f"payments at {burst.rate:.0f}/s during the close of business of day {burst.day}")

    started = time.perf_counter()
    quiet_target = lp.prepare(
        f"{prefix}_quiet", base_port, kafka=infra.kafka, pg_server=infra.pg_server
    )
    try:
        with lp.running(quiet_target, out / "quiet" / "logs"):
            quiet_sim = faulted_simulation(config, quiet_target, None, quiet_burst)
            quiet = asyncio.run(quiet_sim.run())
    finally:
        asyncio.run(lp.delete_topics(quiet_target))
    quiet_seconds = time.perf_counter() - started

    target = lp.prepare(
        f"{prefix}_faulted", base_port + 10, kafka=infra.kafka, pg_server=infra.pg_server
    )
    supervisor = Supervisor(target, out / "faulted" / "logs")

    async def faulted_run() -> tuple[dict[str, Any], dict[str, Any], float | None]:
        await supervisor.start()
        watch = asyncio.create_task(supervisor.watch())
        injector = Injector(faults, supervisor, infra, stall_seconds)
        sim = faulted_simulation(config, target, injector, burst)
        try:
            report = await sim.run()
            await injector.drain()
            extra = await payments_allocated_once(sim)
            lag_after = sim.settler.lag_zero_after_last_fault
        finally:
            supervisor.stopping = True
            await watch
            supervisor.stop()
        return report, extra, lag_after

    started = time.perf_counter()
    try:
        faulted, allocated, lag_after = asyncio.run(faulted_run())
    finally:
        asyncio.run(lp.delete_topics(target))
    faulted_seconds = time.perf_counter() - started

    invariants = [
        *faulted["invariants"],
        allocated,
        results_equal(quiet, faulted),
        burst_check(quiet_burst, burst),
    ]
    invariants.append(
        {
            "name": f"every consumer lag back to 0 within {LAG_BOUND_SECONDS:.0f} s of the last fault",
            "source": "broker: the settler's first settled wait after the last fault recovered",
            "passed": lag_after is not None and lag_after <= LAG_BOUND_SECONDS,
            "checked": 1,
            "failures": [] if lag_after is not None else ["no settled wait after the last fault"],
            "note": f"{lag_after} s" if lag_after is not None else "",
        }
    )
    summary = {
        "command": {"loans": loans, "days": days, "seed": seed, "kills": kills},
        "faults": [asdict(f) | {"survived": f.survived} for f in faults],
        "faults_injected": sum(f.injected_at is not None for f in faults),
        "faults_survived": sum(f.survived for f in faults),
        "restarts": supervisor.restarts,
        "invariants": invariants,
        "invariants_held": sum(bool(i["passed"]) for i in invariants),
        "lost": [f for i in invariants if not i["passed"] for f in i["failures"]],
        #: The quiet run's own invariants: a failure in both is not the faults' doing.
        "quiet_invariants": quiet["invariants"],
        "lag_zero_seconds_after_last_fault": lag_after,
        "burst": {"quiet": quiet_burst.summary(), "faulted": burst.summary()},
        "wall_seconds": {"quiet": round(quiet_seconds, 1), "faulted": round(faulted_seconds, 1)},
        "results_digest": {
            "quiet": quiet.get("results_digest"),
            "faulted": faulted.get("results_digest"),
        },
    }
    for name, report in (("quiet", quiet), ("faulted", faulted)):
        (out / name).mkdir(parents=True, exist_ok=True)
        (out / name / "report.json").write_text(
            json.dumps(report, indent=1, default=str), encoding="utf-8"
        )
    (out / "faults.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    return summary


def print_schedule(faults: list[Fault]) -> None:
    table = Table(title="fault schedule (seeded)")
    for c in ("#", "fault", "day", "phase", "delay s", "service"):
        table.add_column(c)
    for n, f in enumerate(faults, 1):
        table.add_row(str(n), f.kind, str(f.day), f.phase, f"{f.delay}", f.service or "")
    console.print(table)


def print_results(summary: dict[str, Any]) -> None:
    faults = Table(title="faults")
    for c in ("fault", "service", "day", "phase", "injected s", "recovered s", "survived", "note"):
        faults.add_column(c)
    for f in summary["faults"]:
        faults.add_row(
            f["kind"],
            f["service"] or "",
            str(f["day"]),
            f["phase"],
            str(f["injected_at"]),
            str(f["recovered_at"]),
            "yes" if f["survived"] else "[red]no[/]",
            f["note"],
        )
    console.print(faults)
    inv = Table(title="invariants")
    for c in ("invariant", "checked", "held", "note"):
        inv.add_column(c)
    for i in summary["invariants"]:
        inv.add_row(i["name"], str(i["checked"]), "yes" if i["passed"] else "[red]no[/]", i["note"])
    console.print(inv)
    total = Table(title="fault run")
    for c in ("faults injected", "faults survived", "invariants held", "lost / twice", "wall s"):
        total.add_column(c)
    total.add_row(
        str(summary["faults_injected"]),
        str(summary["faults_survived"]),
        f"{summary['invariants_held']}/{len(summary['invariants'])}",
        str(len(summary["lost"])),
        str(summary["wall_seconds"]),
    )
    console.print(total)


@app.command()
def main(
    loans: Annotated[int, typer.Option(help="borrowers and loans")] = 10_000,
    days: Annotated[int, typer.Option(help="business days")] = 60,
    seed: Annotated[int, typer.Option(help="the behaviour model's and the schedule's seed")] = 42,
    kills: Annotated[int, typer.Option(help="kill -9 of random service processes")] = 20,
    stall_seconds: Annotated[float, typer.Option(help="broker SIGSTOP; 0: no stall")] = 20.0,
    pg_port: Annotated[int, typer.Option()] = 54349,
    kafka_port: Annotated[int, typer.Option()] = 29092,
    controller_port: Annotated[int, typer.Option()] = 29093,
    base_port: Annotated[int, typer.Option(help="services: 4 ports from here, 4 from +10")] = 8700,
    var: Annotated[Path, typer.Option(help="the private servers' data")] = ROOT / ".var" / "faults",
    out: Annotated[Path, typer.Option()] = ROOT / ".var" / "faults" / "run",
    keep_servers: Annotated[
        bool, typer.Option(help="leave the private PostgreSQL and Kafka running for a look")
    ] = False,
) -> None:
    """Run the quiet and the faulted simulation; exit 1 unless every invariant held."""
    infra = Infra(var.resolve(), pg_port, kafka_port, controller_port)
    try:
        summary = fault_run(
            loans=loans,
            days=days,
            seed=seed,
            kills=kills,
            stall_seconds=stall_seconds,
            infra=infra,
            base_port=base_port,
            out=out,
        )
    finally:
        if not keep_servers:
            infra.stop()
    print_results(summary)
    console.print(f"written: {out / 'faults.json'}")
    if summary["lost"] or summary["faults_survived"] != len(summary["faults"]):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
