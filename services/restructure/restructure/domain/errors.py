"""Refusals of the restructure service's domain rules (422 unless said otherwise)."""

from __future__ import annotations

from lendkit.errors import Invalid


class RestructureDomainError(Invalid, ValueError):
    """A restructuring rule was broken by the input."""


class UnbalancedQuote(RestructureDomainError):
    """A quote that does not reconcile with the outstanding balance to the minor unit."""


class InvalidPlan(RestructureDomainError):
    """A plan's parameters cannot apply to this loan (no remaining instalments...)."""
