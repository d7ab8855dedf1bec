"""Keyset pagination: opaque cursors, ``Page[T]`` and one ``paginate``.

A list route reads ``limit + 1`` rows ordered by a unique key, after the position its
cursor names; :func:`paginate` keeps ``limit`` of them and, when there was one more, gives
the cursor of the last row kept. Clients treat cursors as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from lendkit.problems import ProblemError

T = TypeVar("T")
R = TypeVar("R")


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True, default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode())
        # A NUL (raw, or escaped in the JSON) could never reach PostgreSQL as text.
        value = None if b"\x00" in raw or b"\\u0000" in raw else json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise ProblemError(400, "Invalid cursor", "The cursor is not one this service issued.")
    return value


def cursor_after(cursor: str | None, field: str = "after") -> str | None:
    """The key a cursor continues after (``None`` for the first page); 400 for a cursor this
    service did not issue."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    value = position.get(field)
    if not isinstance(value, str):
        raise ProblemError(400, "Invalid cursor", "The cursor is not one this service issued.")
    return value


class Page(BaseModel, Generic[T]):
    """One page of a list, and the cursor of the next (``null`` on the last page)."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


def paginate(
    rows: Sequence[R],
    limit: int,
    *,
    key: Callable[[R], str],
    item: Callable[[R], T],
    field: str = "after",
) -> Page[T]:
    """``rows`` (read with ``limit + 1``, in key order) as a page of at most ``limit`` items."""
    kept = rows[:limit]
    more = len(rows) > limit and bool(kept)
    return Page[T](
        items=[item(r) for r in kept],
        next_cursor=encode_cursor({field: key(kept[-1])}) if more else None,
    )
