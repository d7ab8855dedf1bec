"""The simulator's day: the day's payments settle before the evening clock is set, so a
daytime notice's first decision never depends on how fast the platform caught up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from simulator.config import load_config
from simulator.runner import Simulation
from simulator.settle import Settled
from simulator.target import SERVICES, PlatformTarget

pytestmark = pytest.mark.unit


class Steps:
    def __init__(self) -> None:
        self.log: list[str] = []


class FakeSeams:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    async def time_of_day(self, _day: Any, at: str) -> None:
        self.steps.log.append(f"clock {at}")

    async def answer_calls(self, _outcome: Any) -> int:
        return 0


class FakeSettler:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    async def wait(self) -> Settled:
        self.steps.log.append("settle")
        return Settled(0.0, 1, {})


class FakeObserver:
    async def catch_up(self) -> int:
        return 0


class FakeRecord:
    def take_day(self) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
        return {}, set(), {}

    def take_settled(self) -> list[str]:
        return []

    def end_of_day(self, _window: int) -> None:
        return None


class FakePlatform:
    async def call(self, *_a: Any, **_k: Any) -> dict[str, Any]:
        return {}


def test_the_days_payments_settle_before_the_evening_clock_and_the_close() -> None:
    target = PlatformTarget(
        urls={s: f"http://127.0.0.1:{8220 + i}" for i, s in enumerate(SERVICES)},
        namespace="x.",
        groups={s: f"x-{s}" for s in SERVICES},
        databases={s: f"postgresql://h/x_{s}" for s in SERVICES},
        kafka="k:1",
    )
    sim = Simulation(load_config(loans=1, days=1, seed=1), target)
    steps = Steps()
    sim.seams = FakeSeams(steps)  # type: ignore[assignment]
    sim.settler = FakeSettler(steps)  # type: ignore[assignment]
    sim.observer = FakeObserver()  # type: ignore[assignment]
    sim.record = FakeRecord()  # type: ignore[assignment]
    sim.platform = FakePlatform()  # type: ignore[assignment]

    async def close(_day: Any) -> None:
        steps.log.append("close")

    sim._close = close  # type: ignore[method-assign]
    asyncio.run(sim._day(0, {}, []))
    assert steps.log == ["clock 08:00", "settle", "clock 23:30", "close", "settle"]
