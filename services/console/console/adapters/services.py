"""The four services' REST APIs, called with the console's service token.

Each call answers the JSON body, or ``None`` for a 404 (no such loan, or a route the service
does not serve yet), or raises :class:`ServiceUnavailable` (the service is down, too slow,
or answered an error): a page shows that panel as unavailable and the rest as usual.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from console.settings import SERVICES, Settings
from lendkit.auth import Role, TokenCodec
from lendkit.settings import ServiceSettings

#: The console reads as a service and as ops (the contact-attempt record and the journal
#: are ops reads).
CONSOLE_ROLES = (Role.SERVICE, Role.OPS)
_TOKEN_TTL = 3600


class ServiceUnavailable(Exception):
    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class PlatformApi:
    """One HTTP client per service, with a token minted for its audience (renewed before
    it expires)."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self._settings = settings
        self._codecs = {
            s: TokenCodec(
                ServiceSettings(
                    service_name=s,
                    jwt_secret=settings.service_secret(s),
                    jwt_algorithm=settings.jwt_algorithm,
                    jwt_issuer=settings.jwt_issuer,
                    development_mode=settings.development_mode,
                )
            )
            for s in SERVICES
        }
        self._tokens: dict[str, tuple[str, float]] = {}
        self._clients = {
            s: httpx.AsyncClient(
                base_url=settings.service_url(s),
                timeout=settings.service_timeout_seconds,
                transport=transport,
            )
            for s in SERVICES
        }

    def _token(self, service: str) -> str:
        loop_now = asyncio.get_running_loop().time()
        cached = self._tokens.get(service)
        if cached is None or cached[1] < loop_now:
            token = self._codecs[service].issue("console", CONSOLE_ROLES, ttl_seconds=_TOKEN_TTL)
            cached = (token, loop_now + _TOKEN_TTL - 300)
            self._tokens[service] = cached
        return cached[0]

    async def get(self, service: str, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        try:
            response = await self._clients[service].get(
                path,
                params=query,
                headers={"Authorization": f"Bearer {self._token(service)}"},
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(service, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            detail = response.text[:300]
            raise ServiceUnavailable(service, f"HTTP {response.status_code}: {detail}")
        return response.json()

    async def maybe(self, service: str, path: str, **params: Any) -> Any:
        """Like :meth:`get`, but an unavailable service answers ``None`` too."""
        try:
            return await self.get(service, path, **params)
        except ServiceUnavailable:
            return None

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
