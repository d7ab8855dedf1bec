"""Errors raised by the ledger's domain rules.

Every error is a ``LedgerDomainError`` so an entrypoint can map the whole family
to one problem+json type; the subclasses say which rule was broken.
"""

from __future__ import annotations


class LedgerDomainError(ValueError):
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
