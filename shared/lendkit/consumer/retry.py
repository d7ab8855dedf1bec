"""The one retry loop of the consumer: single events, batches and bookkeeping.

A transient failure (:func:`lendkit.failures.is_transient`) is retried with the policy's
capped, jittered exponential backoff; any other error up to ``max_failures`` times. With a
key budget (``database_reachable`` given), an attempt is retried for at most
``RetryPolicy.key_budget_ms``, except that a transient failure keeps being retried past
the budget while the database itself is unreachable (every key is blocked then). Without
one, transient failures are retried until they pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from lendkit.failures import RetryPolicy, is_transient
from lendkit.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


class GaveUp(Exception):
    """``error`` ended the retries after ``tries`` attempts (a final error, or out of
    attempts or budget)."""

    def __init__(self, error: BaseException, tries: int) -> None:
        super().__init__(f"gave up after {tries} tries: {error!r}")
        self.error = error
        self.tries = tries


async def retry(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    what: str,
    max_failures: int | None = None,
    final: tuple[type[BaseException], ...] = (),
    database_reachable: Callable[[], Awaitable[bool]] | None = None,
    once_more_when_reachable: bool = True,
) -> T:
    """``await attempt()`` until it returns; raises :class:`GaveUp` when retrying ends.

    - ``final``: errors never retried (raised as ``GaveUp`` at once).
    - ``max_failures``: non-transient failures allowed (default ``policy.max_attempts``).
    - ``database_reachable``: enables the key budget. Past it, a non-transient failure
      gives up; a transient one asks whether the database is reachable: if not, retries go
      on; if it is, the failure is the attempt's own: one more try at once
      (``once_more_when_reachable``) and give up on the next, or give up now.
    """
    limit = policy.max_attempts if max_failures is None else max_failures
    budget = policy.key_budget_ms / 1000.0
    started = time.monotonic()
    tries = failures = 0
    confirmed_reachable = False
    while True:
        tries += 1
        try:
            return await attempt()
        except final as exc:
            raise GaveUp(exc, tries) from exc
        except Exception as exc:
            transient = is_transient(exc)
            failures += 0 if transient else 1
            delay = policy.delay(tries)
            if not transient and failures >= limit:
                raise GaveUp(exc, tries) from exc
            if database_reachable is not None and time.monotonic() - started + delay > budget:
                if not transient or confirmed_reachable:
                    raise GaveUp(exc, tries) from exc
                # Past the budget: give up only if the failure is this attempt's, not the
                # database's (then every key waits, and giving up is no help).
                confirmed_reachable = await database_reachable()
                if confirmed_reachable:
                    if not once_more_when_reachable:
                        raise GaveUp(exc, tries) from exc
                    continue  # the database is back: one more try at once
            log.warning(f"{what} failed; retrying", error=repr(exc), tries=tries)
            await asyncio.sleep(delay)
