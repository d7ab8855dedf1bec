"""The platform's REST API as the simulated world uses it: ops and admin set up products and
loans, borrowers read their own loans with borrower tokens, a payment gateway posts payments
with the service role, ops close business days.

Tokens are signed like ``python -m lendkit.dev_tokens`` does (development mode: the platform
``scripts/up.sh`` starts accepts the kit's development secret)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from lendkit.auth import Role, TokenCodec
from lendkit.settings import DEVELOPMENT_JWT_SECRET, ServiceSettings
from simulator.target import SERVICES, PlatformTarget

TOKEN_TTL = 24 * 3600


class PlatformError(RuntimeError):
    pass


@dataclass
class CallStats:
    """Requests made and the time spent waiting on the platform's answers."""

    count: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


class Platform:
    def __init__(self, target: PlatformTarget, concurrency: int = 16) -> None:
        self.target = target
        self.stats = CallStats()
        self._limit = asyncio.Semaphore(concurrency)
        self._clients = {
            s: httpx.AsyncClient(
                base_url=target.urls[s],
                timeout=httpx.Timeout(120.0),
                limits=httpx.Limits(
                    max_connections=concurrency, max_keepalive_connections=concurrency
                ),
            )
            for s in SERVICES
        }
        secret = target.jwt_secret or DEVELOPMENT_JWT_SECRET
        self._codecs = {
            s: TokenCodec(ServiceSettings(service_name=s, development_mode=True, jwt_secret=secret))
            for s in SERVICES
        }
        self._tokens: dict[tuple[str, str, str | None], str] = {}
        #: Tries per request on a lost connection or a 502/503 (a fault run raises it: a
        #: killed service is down for seconds; the idempotency keys make a retry safe).
        self.attempts = 5
        self.paths: dict[str, set[str]] = {}

    async def close(self) -> None:
        for c in self._clients.values():
            await c.aclose()

    def token(self, service: str, role: Role, borrower_id: str | None = None) -> str:
        key = (service, role.value, borrower_id)
        if key not in self._tokens:
            self._tokens[key] = self._codecs[service].issue(
                f"simulator-{borrower_id or role.value}",
                [role],
                borrower_id=borrower_id,
                ttl_seconds=TOKEN_TTL,
            )
        return self._tokens[key]

    async def discover(self) -> None:
        """Which routes each service has (its OpenAPI), for the behaviours that need some."""
        for s in SERVICES:
            r = await self._clients[s].get("/openapi.json")
            r.raise_for_status()
            self.paths[s] = set(r.json()["paths"])

    def has(self, service: str, path: str) -> bool:
        return path in self.paths.get(service, set())

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        role: Role = Role.OPS,
        borrower_id: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token(service, role, borrower_id)}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        label = f"{service} {method} {_route_label(path)}"
        async with self._limit:
            started = time.perf_counter()
            last = self.attempts - 1
            for attempt in range(self.attempts):
                try:
                    r = await self._clients[service].request(
                        method, path, json=json, params=params, headers=headers
                    )
                except httpx.TransportError:
                    if attempt == last:
                        raise
                    await asyncio.sleep(min(0.2 * (attempt + 1), 1.0))
                    continue
                if r.status_code in (502, 503) and attempt < last:
                    await asyncio.sleep(min(0.2 * (attempt + 1), 1.0))
                    continue
                break
            self.stats.count[label] += 1
            self.stats.seconds[label] += time.perf_counter() - started
        if r.status_code not in ok:
            raise PlatformError(f"{label}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    async def paged(
        self, service: str, path: str, role: Role = Role.OPS, **params: Any
    ) -> list[Any]:
        items: list[Any] = []
        cursor: str | None = None
        while True:
            page = await self.call(
                service,
                "GET",
                path,
                role=role,
                params={**params, **({"cursor": cursor} if cursor else {})},
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items


def _route_label(path: str) -> str:
    # /loans/{id}/payments -> /loans/{}/payments (timings grouped by route, not by loan)
    return "/".join("{}" if any(ch.isdigit() for ch in p) else p for p in path.split("/"))
