"""A private platform instance: fresh databases, a topic namespace, consumer groups of its
own and the four services as subprocesses on given ports.

``scripts/up.sh`` starts *the* platform (ports 8001-8004, no namespace). This module starts
another one beside it on the same PostgreSQL and Kafka, for the simulator's end-to-end test
and for development (``python -m simulator run --local-platform PREFIX --base-port 8160``),
so a run never touches what others have on the shared servers.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient

from lendkit.contracts.topics import TOPICS, TopicSpec
from lendkit.migrations import upgrade
from lendkit.topic_admin import ensure_topics
from simulator.target import PG_SERVER, SERVICES, PlatformTarget

ENV_PREFIX = {s: s.upper() for s in SERVICES}


async def _fresh_databases(names: dict[str, str], server: str = PG_SERVER) -> None:
    conn = await asyncpg.connect(f"postgresql://{server}/postgres")
    try:
        for name in names.values():
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _topic_specs(target: PlatformTarget) -> list[TopicSpec]:
    # The platform's topics; the dead-letter topics are named after this instance's groups.
    specs = [s for s in TOPICS if not s.name.endswith(".dlt")]
    dlt = next(s for s in TOPICS if s.name.endswith(".dlt"))
    specs += [replace(dlt, name=target.groups[s] + ".dlt") for s in SERVICES]
    return specs


def prepare(
    prefix: str,
    base_port: int = 8160,
    kafka: str = "127.0.0.1:19092",
    ports: dict[str, int] | None = None,
    pg_server: str = PG_SERVER,
) -> PlatformTarget:
    """Fresh databases ``<prefix>_<service>``, migrated; fresh topics under
    ``<prefix>.<run>.`` and consumer groups ``<prefix>-<run>-<service>`` (a new ``run`` id
    each time: what an earlier run left on its topics or group offsets never reaches this
    one); the services on ``ports`` (default: ``base_port`` and the three after it), their
    databases on ``pg_server`` (``user:password@host:port``, default ``SIM_PG_SERVER``)."""
    run = uuid.uuid4().hex[:6]
    namespace = f"{prefix}.{run}."
    ports = ports or {s: base_port + i for i, s in enumerate(SERVICES)}
    target = PlatformTarget(
        urls={s: f"http://127.0.0.1:{ports[s]}" for s in SERVICES},
        namespace=namespace,
        groups={s: f"{prefix}-{run}-{s}" for s in SERVICES},
        databases={s: f"postgresql://{pg_server}/{prefix}_{s}" for s in SERVICES},
        kafka=kafka,
    )
    asyncio.run(_fresh_databases({s: f"{prefix}_{s}" for s in SERVICES}, pg_server))
    for s in SERVICES:
        upgrade(s, _sqlalchemy_url(target.databases[s]))
    asyncio.run(ensure_topics(kafka, _topic_specs(target), namespace=namespace))
    return target


async def delete_topics(target: PlatformTarget) -> None:
    """Delete the instance's topics (its namespace) once the run is over."""
    assert target.namespace, "refusing to delete the un-namespaced platform topics"
    admin = AIOKafkaAdminClient(bootstrap_servers=target.kafka)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(target.namespace)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def service_env(target: PlatformTarget, service: str) -> dict[str, str]:
    p = ENV_PREFIX[service]
    port = target.urls[service].rsplit(":", 1)[1]
    return {
        f"{p}_DATABASE_URL": _sqlalchemy_url(target.databases[service]),
        f"{p}_TOPIC_NAMESPACE": target.namespace,
        f"{p}_CONSUMER_GROUP": target.groups[service],
        f"{p}_HTTP_PORT": port,
        f"{p}_HTTP_HOST": "127.0.0.1",
        f"{p}_DEVELOPMENT_MODE": "true",
        f"{p}_KAFKA_BOOTSTRAP_SERVERS": target.kafka,
        f"{p}_LOG_LEVEL": "WARNING",
        "LEDGER_SIMULATED_CLOCK": "true",
        **FAST_POLLING,
    }


#: The simulation platform's idle waits, cut (``scripts/run.sh`` sets the same): a day's
#: events travel ledger -> overdue -> notifier / restructure, each hop through an outbox
#: the relay polls (1 s by default, so ~0.5 s a hop on average, and a day has 3-4 hops in
#: a row) and the notifier's dispatcher sends what a day queued (1 s by default). At 50 ms
#: an idle poll is one cheap indexed query; the simulator cannot move the clock before the
#: last hop has been published and consumed.
FAST_POLLING = {
    **{f"{ENV_PREFIX[s]}_OUTBOX_POLL_INTERVAL_MS": "50" for s in SERVICES},
    "NOTIFIER_DISPATCH_INTERVAL_MS": "50",
}


@contextmanager
def running(target: PlatformTarget, log_dir: Path) -> Iterator[PlatformTarget]:
    """The four services as subprocesses, ready; stopped (by their own pids) on exit."""
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for s in SERVICES:
            env = {**os.environ, **service_env(target, s)}
            with (log_dir / f"{s}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter and module
                        [sys.executable, "-m", s], env=env, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        deadline = time.monotonic() + 120
        for s, proc in zip(SERVICES, procs, strict=True):
            while True:
                if proc.poll() is not None:
                    tail = (log_dir / f"{s}.log").read_text()[-3000:]
                    raise RuntimeError(f"{s} exited with {proc.returncode}:\n{tail}")
                try:
                    if httpx.get(target.urls[s] + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{s} not ready within 120 s")
                time.sleep(0.2)
        yield target
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
