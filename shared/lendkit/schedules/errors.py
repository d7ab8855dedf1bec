"""Errors of the pure schedule arithmetic (422 problems: the input breaks a rule)."""

from __future__ import annotations

from lendkit.errors import Invalid


class ScheduleMathError(Invalid, ValueError):
    """Schedule arithmetic refused its input."""


class UnknownCurrency(ScheduleMathError):
    """The ISO 4217 code is not one the platform knows the minor-unit exponent of."""


class InvalidSchedule(ScheduleMathError):
    """A repayment schedule cannot be built from the given inputs."""
