"""Test helpers (development only: nothing under ``lendkit`` outside this package imports it).

- :mod:`lendkit.testing.servers`: databases, topics and event reading against the real
  PostgreSQL and Kafka that ``scripts/infra`` starts (re-exported here).
- :mod:`lendkit.testing.fakes`: ``FakeUnitOfWork`` and fake repositories, for handler unit
  tests that need no server.
- :mod:`lendkit.testing.consumer_contract`: the consumer contract suite every service's
  handler table re-runs.
- :mod:`lendkit.testing.openapi_contract`: schemathesis checks of a service's OpenAPI.
- :mod:`lendkit.testing.platform`: the four services and the console as processes, with a
  seeded portfolio and a bulk book (the console's e2e tests and ``bench/console_pages.py``).
- :mod:`lendkit.testing.bench`: a ``bench/`` script loaded as a module, for its tests.
"""

from lendkit.testing.servers import (
    DB_PREFIX,
    KAFKA,
    PG_SERVER,
    blocks_another_session,
    create_platform_topics,
    create_topics,
    database_url,
    delete_namespace_topics,
    drop_database,
    eventually,
    fresh_database,
    read_events,
    start_group_at_end,
    unique,
    wait_ready,
)

__all__ = [
    "DB_PREFIX",
    "KAFKA",
    "PG_SERVER",
    "blocks_another_session",
    "create_platform_topics",
    "create_topics",
    "database_url",
    "delete_namespace_topics",
    "drop_database",
    "eventually",
    "fresh_database",
    "read_events",
    "start_group_at_end",
    "unique",
    "wait_ready",
]
