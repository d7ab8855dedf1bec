"""Circuit breaker per provider: closed -> open after the threshold, an open breaker fails over
without calling its provider, half-open after the reset period lets one trial through."""

from __future__ import annotations

import pytest

from notifier.adapters.providers import (
    BreakerState,
    CircuitBreaker,
    Failover,
    OutgoingMessage,
    ProviderError,
    SandboxProvider,
)

pytestmark = pytest.mark.unit


class Ticks:
    """A hand-moved clock (seconds): no timing in these tests."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _message(n: int) -> OutgoingMessage:
    return OutgoingMessage(f"attempt-{n}", "sms", "addr", "body", "became_overdue")


def _chain(broken: SandboxProvider, spare: SandboxProvider, ticks: Ticks) -> Failover:
    return Failover(
        [broken, spare],
        breaker_defaults=lambda: CircuitBreaker(failure_threshold=3, reset_after_s=30, clock=ticks),
    )


async def test_an_open_breaker_fails_over_without_calling_the_broken_provider() -> None:
    ticks = Ticks()
    broken, spare = SandboxProvider("broken", always_fail=True), SandboxProvider("spare")
    chain = _chain(broken, spare, ticks)
    for n in range(3):  # three failures reach the threshold of 3
        assert (await chain.send(_message(n))).provider == "spare"
    assert chain.breakers["broken"].state is BreakerState.OPEN
    assert broken.calls == 3
    for n in range(3, 10):
        assert (await chain.send(_message(n))).provider == "spare"
    assert broken.calls == 3  # not called while open
    assert len(spare.messages) == 10


async def test_after_the_reset_period_one_trial_closes_the_breaker_on_success() -> None:
    ticks = Ticks()
    broken, spare = SandboxProvider("flaky", fail_times=3), SandboxProvider("spare")
    chain = _chain(broken, spare, ticks)
    for n in range(3):
        await chain.send(_message(n))
    assert chain.breakers["flaky"].state is BreakerState.OPEN
    ticks.now = 29.9
    assert (await chain.send(_message(3))).provider == "spare"
    assert broken.calls == 3
    ticks.now = 30.0  # half-open: one trial, which succeeds (its 4th call)
    assert (await chain.send(_message(4))).provider == "flaky"
    assert chain.breakers["flaky"].state is BreakerState.CLOSED
    assert (await chain.send(_message(5))).provider == "flaky"


async def test_a_failed_half_open_trial_opens_the_breaker_for_another_period() -> None:
    ticks = Ticks()
    broken, spare = SandboxProvider("broken", always_fail=True), SandboxProvider("spare")
    chain = _chain(broken, spare, ticks)
    for n in range(3):
        await chain.send(_message(n))
    ticks.now = 31.0
    await chain.send(_message(3))  # the trial fails
    assert broken.calls == 4
    breaker = chain.breakers["broken"]
    assert (breaker.state, breaker.opened_at) == (BreakerState.OPEN, 31.0)
    ticks.now = 60.0
    await chain.send(_message(4))
    assert broken.calls == 4  # still open until 61.0


def test_half_open_lets_exactly_one_trial_through() -> None:
    ticks = Ticks()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=10, clock=ticks)
    breaker.record_failure()
    assert not breaker.allows_call()
    ticks.now = 10.0
    assert breaker.allows_call()
    assert not breaker.allows_call()  # a second caller while the trial is in flight


async def test_with_every_breaker_open_the_send_fails_naming_the_open_circuits() -> None:
    ticks = Ticks()
    only = SandboxProvider("only", always_fail=True)
    chain = Failover(
        [only], breaker_defaults=lambda: CircuitBreaker(failure_threshold=1, clock=ticks)
    )
    with pytest.raises(ProviderError):
        await chain.send(_message(0))
    with pytest.raises(ProviderError, match="circuit open"):
        await chain.send(_message(1))
    assert only.calls == 1


async def test_a_failure_below_the_threshold_is_forgotten_after_a_success() -> None:
    breaker = CircuitBreaker(failure_threshold=2)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
