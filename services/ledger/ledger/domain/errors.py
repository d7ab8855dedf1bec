"""Errors raised by the ledger's domain rules.

Every error is a ``LedgerDomainError``, a ``lendkit.errors.Invalid`` (422, mapped to
problem+json once by the app; dead-lettered with the reason by the consumers), and still a
``ValueError`` (pydantic validators that call the domain turn it into a validation error).
The subclasses say which rule was broken. ``UnknownCurrency`` and ``InvalidSchedule``
come from the kit's schedule arithmetic (:mod:`lendkit.schedules.errors`): ``Invalid``
and ``ValueError`` too, but not ``LedgerDomainError``.
"""

from __future__ import annotations

from lendkit.errors import Invalid
from lendkit.schedules.errors import InvalidSchedule, UnknownCurrency

__all__ = [
    "InvalidAllocation",
    "InvalidProduct",
    "InvalidSchedule",
    "InvalidValueDate",
    "InvalidWaiver",
    "LedgerDomainError",
    "UnbalancedEntry",
    "UnknownCurrency",
]


class LedgerDomainError(Invalid, ValueError):
    """A ledger business rule was broken by the input."""


class InvalidProduct(LedgerDomainError):
    """A loan product's terms are inconsistent or out of range."""


class InvalidAllocation(LedgerDomainError):
    """A payment cannot be allocated (negative amount, duplicate instalments...)."""


class UnbalancedEntry(LedgerDomainError):
    """A journal entry whose debits and credits differ, or with a bad line."""


class InvalidWaiver(LedgerDomainError):
    """A waiver would reduce more than is charged on or before its date and not yet waived."""


class InvalidValueDate(LedgerDomainError):
    """A date the business clock cannot have (a payment's value date, a day to close)."""
