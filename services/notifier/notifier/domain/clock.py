"""The simulated time: the platform's business date plus a time of day that a simulator sets,
read in the business timezone. Pure: the service layer keeps it and persists it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class SimulatedTime:
    business_date: date
    time_of_day: time
    timezone: str

    def instant(self) -> datetime:
        """The aware instant (zoneinfo resolves the offset, DST included)."""
        return datetime.combine(
            self.business_date, self.time_of_day, tzinfo=ZoneInfo(self.timezone)
        )
