"""The notifier's "now": the wall clock unless pinned (tests; later the simulator's clock)."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def now(self) -> datetime:
        return self.pinned or datetime.now(UTC)


CLOCK = Clock()
