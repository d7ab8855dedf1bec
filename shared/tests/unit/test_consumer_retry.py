"""The consumer's one retry loop (``lendkit.consumer.retry``): attempts, budget, database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from lendkit.consumer.retry import GaveUp, retry
from lendkit.failures import RejectedEvent, RetryPolicy

FAST = RetryPolicy(max_attempts=3, backoff_ms=1, backoff_max_ms=1, key_budget_ms=60_000)
NO_BUDGET = RetryPolicy(max_attempts=3, backoff_ms=1, backoff_max_ms=1, key_budget_ms=0)


def failing(
    *errors: BaseException, then: str = "done"
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return then

    return attempt, calls


def reachable(answers: list[bool]) -> Callable[[], Awaitable[bool]]:
    async def ask() -> bool:
        return answers.pop(0)

    return ask


async def test_transient_failures_are_retried_until_they_pass() -> None:
    attempt, calls = failing(*(ConnectionError("lost") for _ in range(6)))
    assert await retry(attempt, policy=FAST, what="t", database_reachable=reachable([])) == "done"
    assert len(calls) == 7, "transient failures do not count against max_attempts"


async def test_other_failures_give_up_after_max_attempts() -> None:
    attempt, calls = failing(*(ValueError(str(n)) for n in range(5)))
    with pytest.raises(GaveUp) as stop:
        await retry(attempt, policy=FAST, what="t")
    assert (len(calls), stop.value.tries, str(stop.value.error)) == (3, 3, "2")


async def test_a_final_error_is_not_retried() -> None:
    attempt, calls = failing(RejectedEvent("never"))
    with pytest.raises(GaveUp) as stop:
        await retry(attempt, policy=FAST, what="t", final=(RejectedEvent,))
    assert (len(calls), stop.value.tries) == (1, 1)
    assert isinstance(stop.value.error, RejectedEvent)


async def test_past_the_budget_a_reachable_database_gets_one_more_try_then_gives_up() -> None:
    attempt, calls = failing(*(ConnectionError() for _ in range(5)))
    with pytest.raises(GaveUp) as stop:
        await retry(attempt, policy=NO_BUDGET, what="t", database_reachable=reachable([True]))
    assert len(calls) == 2 and stop.value.tries == 2


async def test_past_the_budget_a_batch_gives_up_once_the_database_is_reachable() -> None:
    attempt, calls = failing(*(ConnectionError() for _ in range(5)))
    with pytest.raises(GaveUp):
        await retry(
            attempt,
            policy=NO_BUDGET,
            what="t",
            database_reachable=reachable([True]),
            once_more_when_reachable=False,
        )
    assert len(calls) == 1


async def test_past_the_budget_retries_go_on_while_the_database_is_unreachable() -> None:
    attempt, calls = failing(*(ConnectionError() for _ in range(3)))
    answers = [False, False, False]
    result = await retry(attempt, policy=NO_BUDGET, what="t", database_reachable=reachable(answers))
    assert result == "done" and len(calls) == 4 and answers == []


async def test_past_the_budget_a_non_transient_failure_gives_up_without_asking() -> None:
    attempt, calls = failing(ValueError("bad"), then="never")
    with pytest.raises(GaveUp):
        await retry(attempt, policy=NO_BUDGET, what="t", database_reachable=reachable([]))
    assert len(calls) == 1


async def test_without_a_budget_a_transient_failure_is_retried_past_it() -> None:
    attempt, calls = failing(*(ConnectionError() for _ in range(4)))
    assert await retry(attempt, policy=NO_BUDGET, what="t", max_failures=1) == "done"
    assert len(calls) == 5
