"""Alembic helpers shared by every service's migrations.

A service's ``migrations/env.py`` is two lines: import its metadata, call
``run_migrations``. Its first revision calls ``create_kit_tables`` for the outbox,
processed-event and idempotency tables. ``python -m lendkit.migrations SERVICE`` (or
``upgrade``) brings a service database to head.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Sequence
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from lendkit.kit_tables import kit_metadata, outbox_quarantine, parked_keys


def run_migrations(target_metadata: MetaData) -> None:
    """Body of every service's env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(online())


def create_kit_tables() -> None:
    kit_metadata.create_all(op.get_bind())


def drop_kit_tables() -> None:
    kit_metadata.drop_all(op.get_bind())


# Kit revision 2 (each service's ``*_kit`` revision): parked keys, the outbox quarantine and
# the retention indexes. A database whose first revision ran on this kit has them already
# (``create_kit_tables`` makes the kit's current tables), so every step is "if missing".
_KIT_2_INDEXES = {
    "ix_processed_events_processed_at": "processed_events USING brin (processed_at)",
    "ix_idempotency_keys_created_at": "idempotency_keys (created_at)",
}


def upgrade_kit_reliability() -> None:
    kit_metadata.create_all(op.get_bind(), tables=[parked_keys, outbox_quarantine])
    for name, target in _KIT_2_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def downgrade_kit_reliability() -> None:
    for name in _KIT_2_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    kit_metadata.drop_all(op.get_bind(), tables=[outbox_quarantine, parked_keys])


def alembic_config(service: str, database_url: str) -> Config:
    package = importlib.import_module(service)
    assert package.__file__ is not None
    script_location = Path(package.__file__).resolve().parent.parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    """Must be called outside a running event loop (env.py runs its own)."""
    command.upgrade(alembic_config(service, database_url), revision)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lendkit.migrations")
    parser.add_argument("services", nargs="+", help="service packages, e.g. ledger overdue")
    parser.add_argument("--revision", default="head")
    args = parser.parse_args(argv)
    for service in args.services:
        settings_module = importlib.import_module(f"{service}.settings")
        settings = settings_module.Settings()
        upgrade(service, settings.database_url, args.revision)
        print(f"{service}: database at {args.revision}")


if __name__ == "__main__":
    main()
