"""Errors raised by the ledger's domain rules.

Every error is a ``LedgerDomainError``, a ``lendkit.errors.Invalid`` (422, mapped to
problem+json once by the app; dead-lettered with the reason by the consumers), and still a
``ValueError`` (pydantic validators that call the domain turn it into a validation error).
The subclasses say which rule was broken.
"""

from __future__ import annotations

from lendkit.errors import Invalid


class LedgerDomainError(Invalid, ValueError):
    """A ledger business rule was broken by the input."""


class UnknownCurrency(LedgerDomainError):
    """The ISO 4217 code is not one the ledger knows the minor-unit exponent of."""


class InvalidProduct(LedgerDomainError):
    """A loan product's terms are inconsistent or out of range."""


class InvalidSchedule(LedgerDomainError):
    """A repayment schedule cannot be built from the given inputs."""


class InvalidAllocation(LedgerDomainError):
    """A payment cannot be allocated (negative amount, duplicate instalments...)."""


class UnbalancedEntry(LedgerDomainError):
    """A journal entry whose debits and credits differ, or with a bad line."""


class InvalidWaiver(LedgerDomainError):
    """A waiver would reduce more than is charged on or before its date and not yet waived."""


class InvalidValueDate(LedgerDomainError):
    """A date the business clock cannot have (a payment's value date, a day to close)."""
