"""JWT bearer authentication with roles.

Roles: ``borrower`` (sees only their own loans: the token's ``borrower_id`` claim, or its
subject), ``ops``, ``admin`` and ``service``. Every route but health requires a token.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends
from starlette.requests import Request

from lendkit.problems import ProblemError
from lendkit.settings import DEVELOPMENT_JWT_SECRET, MIN_JWT_SECRET_BYTES, ServiceSettings


class Role(StrEnum):
    BORROWER = "borrower"
    OPS = "ops"
    ADMIN = "admin"
    SERVICE = "service"


STAFF = frozenset({Role.OPS, Role.ADMIN, Role.SERVICE})
_VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    borrower_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF)

    def may_see_borrower(self, borrower_id: str) -> bool:
        return self.is_staff or (Role.BORROWER in self.roles and self.borrower_id == borrower_id)


class InsecureJwtSecret(ValueError):
    """The published development secret, or a short one, outside development mode."""


def _checked_secret(settings: ServiceSettings) -> str:
    secret = settings.jwt_secret.get_secret_value()
    if not settings.development_mode and (
        secret == DEVELOPMENT_JWT_SECRET or len(secret.encode()) < MIN_JWT_SECRET_BYTES
    ):
        raise InsecureJwtSecret(
            "the JWT secret is the published development secret or shorter than "
            f"{MIN_JWT_SECRET_BYTES} bytes: set a strong *_JWT_SECRET (or "
            "*_DEVELOPMENT_MODE=true on a development machine)"
        )
    return secret


class TokenCodec:
    """Issues and verifies the service's tokens; refuses an insecure secret outside
    development mode (:class:`InsecureJwtSecret`)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._secret = _checked_secret(settings)
        self._algorithm = settings.jwt_algorithm
        self._issuer = settings.jwt_issuer
        self._audience = settings.token_audience
        self._verified: dict[str, tuple[Principal, float]] = {}

    def issue(
        self,
        subject: str,
        roles: Iterable[Role | str],
        *,
        borrower_id: str | None = None,
        ttl_seconds: int = 3600,
    ) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": subject,
            "roles": sorted(str(r) for r in roles),
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + ttl_seconds,
        }
        if borrower_id is not None:
            claims["borrower_id"] = borrower_id
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def decode(self, token: str) -> Principal:
        """The token's principal. Verified tokens are remembered until they expire, so a
        client's repeated requests skip the signature check (bounded memory)."""
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        principal, expires = self._verify(token)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"Token rejected: {exc}") from exc
        raw_roles = claims.get("roles", [])
        if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
            raise _unauthorized("Token claim 'roles' must be a list of role names")
        try:
            roles = frozenset(Role(r) for r in raw_roles)
        except ValueError as exc:
            raise _unauthorized("Token carries an unknown role") from exc
        subject, borrower_id = claims["sub"], claims.get("borrower_id")
        if not isinstance(subject, str) or not isinstance(borrower_id, str | None):
            raise _unauthorized("Token claims 'sub' and 'borrower_id' must be strings")
        if Role.BORROWER in roles and borrower_id is None:
            borrower_id = subject
        return Principal(subject, roles, borrower_id), float(claims["exp"])


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="overdue-platform"'}
    )


def authenticate(request: Request, codec: TokenCodec) -> Principal:
    """The principal of the request's bearer token (401 without a valid one)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("A bearer token is required")
    return codec.decode(token.strip())


def principal_from(request: Request) -> Principal:
    """The caller: verified by ``lendkit.middleware.RequestGate`` before the body was read,
    or here (an app without the gate)."""
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal):
        return principal
    codec: TokenCodec = request.app.state.tokens
    return authenticate(request, codec)


class RoleCheck:
    """FastAPI dependency: the caller's principal, if it holds one of ``roles`` (else 403).

    The OpenAPI document lists each operation's ``roles`` (``x-roles`` and the description,
    ``lendkit.openapi.complete_openapi``) from this same object, so what is documented is what
    is enforced."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, request: Request) -> Principal:
        principal = principal_from(request)
        if not principal.roles & self.roles:
            raise ProblemError(
                403, "Forbidden", f"This needs one of the roles: {', '.join(sorted(self.roles))}"
            )
        return principal


def require_roles(*allowed: Role) -> RoleCheck:
    """FastAPI dependency: the caller's principal, if it holds one of ``allowed``."""
    return RoleCheck(allowed)


def ensure_may_see(principal: Principal, borrower_id: str) -> None:
    """A borrower asking for someone else's data gets 404: existence is not disclosed."""
    if not principal.may_see_borrower(borrower_id):
        raise ProblemError(404, "Not Found", "No such resource")


# The callers a route admits, as ``Annotated`` parameters (``caller: Staff``). Every service
# uses these; a route that needs another set builds one with ``require_roles``.
Anyone = Annotated[
    Principal, Depends(require_roles(Role.BORROWER, Role.OPS, Role.ADMIN, Role.SERVICE))
]
"""Any authenticated caller; a borrower is then limited to their own data."""
Staff = Annotated[Principal, Depends(require_roles(Role.OPS, Role.ADMIN, Role.SERVICE))]
"""Operations people and other services (the payment channel, the simulator)."""
Ops = Annotated[Principal, Depends(require_roles(Role.OPS, Role.ADMIN))]
"""Operations people only."""
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
"""Administrators only (products and their policies)."""
