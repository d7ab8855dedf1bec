"""Where the platform a simulation drives is: service URLs, topic namespace, consumer groups
and (for the read-only checks the REST API cannot answer) the services' database URLs.

The defaults are those of ``scripts/up.sh``: ports 8001-8004, no namespace, groups named
after the services, databases ``ledger``/``overdue``/``notifier``/``restructure``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

SERVICES = ("ledger", "overdue", "notifier", "restructure")
DEFAULT_PORTS = {"ledger": 8001, "overdue": 8002, "notifier": 8003, "restructure": 8004}
PG_SERVER = os.environ.get("SIM_PG_SERVER", "postgres:platform@127.0.0.1:54329")


@dataclass(frozen=True)
class PlatformTarget:
    urls: dict[str, str]
    namespace: str = ""
    #: The consumer group of each service (its ``*_CONSUMER_GROUP``, default its name).
    groups: dict[str, str] = field(default_factory=lambda: {s: s for s in SERVICES})
    #: asyncpg DSNs (``postgresql://``) of the services' databases, read only.
    databases: dict[str, str] = field(
        default_factory=lambda: {s: f"postgresql://{PG_SERVER}/{s}" for s in SERVICES}
    )
    kafka: str = "127.0.0.1:19092"
    jwt_secret: str | None = None

    @classmethod
    def default(cls) -> PlatformTarget:
        return cls(urls={s: f"http://127.0.0.1:{p}" for s, p in DEFAULT_PORTS.items()})

    def topic(self, name: str) -> str:
        return self.namespace + name

    def dead_letter_topic(self, service: str) -> str:
        return self.namespace + self.groups[service] + ".dlt"
