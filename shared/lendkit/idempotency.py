"""Idempotency-Key for POSTs that move money or state.

The first request with a key inserts the key row and does the work in the same
transaction, storing its response. Concurrent requests with the same key block on that
row until the first commits, then return the stored response. A key reused with a
different request body is refused (422). If the first request fails, its transaction
rolls back with the key row, and a retry does the work afresh.

Keys are the caller's own: the stored scope names the token's subject, so two callers
that happen to send the same key neither see each other's response nor block each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Integer, Text, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.auth import Principal
from lendkit.db import UnitOfWork
from lendkit.failures import rerun_on_conflict
from lendkit.kit_tables import idempotency_keys
from lendkit.problems import ProblemError
from lendkit.runtime import runtime_of

MAX_KEY_LENGTH = 200


def idempotency_key_header(request: Request) -> str | None:
    """The Idempotency-Key header, read as a dependency so that the OpenAPI document shows it
    once, as required (``lendkit.openapi.IDEMPOTENT``); ``require_key`` answers 400 without it."""
    return request.headers.get("idempotency-key")


#: The header as a route parameter: ``idempotency_key: IdempotencyKey``.
IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    replayed: bool


def request_fingerprint(body: Any) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(raw).hexdigest()


def require_key(key: str | None) -> str:
    if not key:
        raise ProblemError(
            400, "Idempotency-Key required", "Send an Idempotency-Key header with this POST."
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ProblemError(400, "Idempotency-Key too long", f"At most {MAX_KEY_LENGTH} characters.")
    return key


async def run_once(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> StoredResponse:
    """Do ``work`` once per (scope, key) inside the caller's open transaction.

    The caller commits. ``work`` returns (status code, JSON-able body).
    """
    inserted = await session.scalar(
        insert(idempotency_keys)
        .values(scope=scope, key=key, request_hash=fingerprint)
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.key)
    )
    if inserted is None:
        row = (
            await session.execute(
                select(
                    idempotency_keys.c.request_hash,
                    idempotency_keys.c.status_code,
                    idempotency_keys.c.response_body,
                ).where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
            )
        ).one()
        if row.request_hash != fingerprint:
            raise ProblemError(
                422,
                "Idempotency-Key reused",
                "This Idempotency-Key was used with a different request.",
            )
        return StoredResponse(row.status_code, row.response_body, replayed=True)
    status, body = await work()
    await session.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        .values(status_code=status, response_body=body)
    )
    return StoredResponse(status, body, replayed=False)


class StoredJSONResponse(JSONResponse):
    """Keys sorted, so a first response and its replays (stored as JSONB) are byte-identical."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def caller_scope(caller: Principal, scope: str) -> str:
    """``scope`` for one caller (the subject length-prefixed, so no two pairs collide)."""
    return f"{len(caller.subject)}:{caller.subject}:{scope}"


async def respond_once(
    uow: UnitOfWork,
    *,
    caller: Principal,
    key: str | None,
    scope: str,
    body: Any,
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """The whole Idempotency-Key protocol for a POST, inside ``uow``: requires the key, runs
    ``work`` once per caller and key, commits, and answers (replays carry
    ``Idempotent-Replayed: true``)."""
    stored = await run_once(
        uow.session,
        scope=caller_scope(caller, scope),
        key=require_key(key),
        fingerprint=request_fingerprint(body),
        work=work,
    )
    await uow.commit()
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return StoredJSONResponse(stored.body, status_code=stored.status_code, headers=headers)


U = TypeVar("U", bound=UnitOfWork)


async def idempotent_post(
    request: Request,
    *,
    caller: Principal,
    key: str | None,
    scope: str,
    body: Any,
    work: Callable[[U], Awaitable[tuple[int, Any]]],
    before: Callable[[U], Awaitable[None]] | None = None,
) -> JSONResponse:
    """A POST route's whole body: open the service's unit of work, run ``before`` (a lock
    to take before the key is claimed), then ``work`` once per caller and Idempotency-Key,
    commit and answer.

    The key is required before anything is opened. A refusal raised by ``work``
    (``lendkit.errors``) rolls the whole transaction back, key row included, and is
    answered as problem+json by the app's handlers, so a retry does the work afresh.
    A transaction the database aborts as a deadlock or serialization failure (a close of
    business's set-based statements against a payment on the same instalments, say) is
    run again from the start in a fresh transaction (``rerun_on_conflict``): nothing of
    the aborted run stayed, key row included.
    """
    require_key(key)

    async def once() -> JSONResponse:
        uow: U
        async with runtime_of(request).uow() as uow:
            if before is not None:
                await before(uow)
            return await respond_once(
                uow, caller=caller, key=key, scope=scope, body=body, work=lambda: work(uow)
            )

    return await rerun_on_conflict(once)


# --- many keys in one transaction (a batch whose items carry their own keys) -----------


@dataclass(frozen=True)
class KeyClaim:
    """One item's key: its scope (``caller_scope``), the key and its request's fingerprint."""

    scope: str
    key: str
    fingerprint: str


class KeyReused(ProblemError):
    def __init__(self) -> None:
        super().__init__(
            422, "Idempotency-Key reused", "This Idempotency-Key was used with a different request."
        )


_CLAIM_MANY = text(
    """
INSERT INTO idempotency_keys (scope, key, request_hash)
SELECT c.scope, c.key, c.hash
  FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[]), CAST(:hashes AS text[]))
       AS c(scope, key, hash)
 ORDER BY c.scope, c.key
ON CONFLICT DO NOTHING
RETURNING scope, key
"""
)
_STORED_MANY = text(
    """
SELECT k.scope, k.key, k.request_hash, k.status_code, k.response_body
  FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS c(scope, key)
  JOIN idempotency_keys k ON k.scope = c.scope AND k.key = c.key
"""
).columns(scope=Text, key=Text, request_hash=Text, status_code=Integer, response_body=JSONB)

_STORE_MANY = text(
    """
UPDATE idempotency_keys k SET status_code = u.status, response_body = u.body
  FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[]), CAST(:statuses AS integer[]),
              CAST(:bodies AS jsonb[])) AS u(scope, key, status, body)
 WHERE k.scope = u.scope AND k.key = u.key
"""
)
_RELEASE_MANY = text(
    """
DELETE FROM idempotency_keys k
 USING unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS u(scope, key)
 WHERE k.scope = u.scope AND k.key = u.key
"""
)


async def claim_each(
    uow: UnitOfWork, claims: Sequence[KeyClaim]
) -> list[StoredResponse | KeyReused | None]:
    """Claim every key of ``claims`` inside the caller's open transaction, in (scope, key)
    order (two batches sharing keys wait for each other, never deadlock): one answer per
    claim, in order. ``None``: claimed now, do the work and :func:`store_each` its response
    (or :func:`release_each` a refusal, as a single POST's rollback would). A stored
    response: the key was used before with the same request (a replay). ``KeyReused``:
    used before with another request. A key that comes twice in ``claims`` is claimed by
    its first occurrence; the later ones get ``KeyReused`` when their request differs, and
    ``None`` otherwise (the caller answers them with the first occurrence's result)."""
    if not claims:
        return []
    params = {
        "scopes": [c.scope for c in claims],
        "keys": [c.key for c in claims],
        "hashes": [c.fingerprint for c in claims],
    }
    session = uow.session
    claimed = {(r.scope, r.key) for r in await session.execute(_CLAIM_MANY, params)}
    earlier = [c for c in claims if (c.scope, c.key) not in claimed]
    stored = {}
    if earlier:
        rows = await session.execute(
            _STORED_MANY,
            {"scopes": [c.scope for c in earlier], "keys": [c.key for c in earlier]},
        )
        stored = {(r.scope, r.key): r for r in rows}
    first: dict[tuple[str, str], str] = {}
    answers: list[StoredResponse | KeyReused | None] = []
    for c in claims:
        at = (c.scope, c.key)
        if at in claimed:
            seen = first.setdefault(at, c.fingerprint)
            answers.append(None if seen == c.fingerprint else KeyReused())
            continue
        row = stored[at]
        if row.request_hash != c.fingerprint:
            answers.append(KeyReused())
        else:
            answers.append(StoredResponse(row.status_code, row.response_body, replayed=True))
    return answers


async def store_each(uow: UnitOfWork, done: Sequence[tuple[KeyClaim, int, Any]]) -> None:
    """Store the (status, JSON body) answered for each claimed key, in one statement."""
    if done:
        await uow.session.execute(
            _STORE_MANY,
            {
                "scopes": [c.scope for c, _, _ in done],
                "keys": [c.key for c, _, _ in done],
                "statuses": [status for _, status, _ in done],
                "bodies": [orjson.dumps(body).decode() for _, _, body in done],
            },
        )


async def release_each(uow: UnitOfWork, claims: Sequence[KeyClaim]) -> None:
    """Give up claimed keys whose work was refused: a retry does the work afresh."""
    if claims:
        await uow.session.execute(
            _RELEASE_MANY,
            {"scopes": [c.scope for c in claims], "keys": [c.key for c in claims]},
        )
