"""Where the platform a simulation drives is: service URLs, topic namespace, consumer groups
and (for the read-only checks the REST API cannot answer) the services' database URLs.

The defaults are those of ``scripts/up.sh``: ports 8001-8004, no namespace, groups named
after the services, databases ``ledger``/``overdue``/``notifier``/``restructure``.
"""

from __future__ import annotations

import importlib
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

    @classmethod
    def from_service_settings(cls, urls: dict[str, str | None] | None = None) -> PlatformTarget:
        """The platform as its services' own settings describe it (``LEDGER_HTTP_PORT``,
        ``*_TOPIC_NAMESPACE``, ``*_CONSUMER_GROUP``, ``*_DATABASE_URL`` ... from the
        environment, as ``scripts/up.sh`` starts them); ``urls`` overrides the addresses."""
        settings = {s: importlib.import_module(f"{s}.settings").Settings() for s in SERVICES}
        given = urls or {}
        return cls(
            urls={s: given.get(s) or f"http://127.0.0.1:{settings[s].http_port}" for s in SERVICES},
            namespace=settings["ledger"].topic_namespace,
            groups={s: settings[s].group_id for s in SERVICES},
            databases={
                s: settings[s].database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
                for s in SERVICES
            },
            kafka=settings["ledger"].kafka_bootstrap_servers,
        )

    def topic(self, name: str) -> str:
        return self.namespace + name

    def dead_letter_topic(self, service: str) -> str:
        return self.namespace + self.groups[service] + ".dlt"
