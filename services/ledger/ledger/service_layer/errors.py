"""Service-layer outcomes an entrypoint turns into a response (HTTP) or a verdict (consumer)."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of the service layer's refusals."""


class NotFound(LedgerError):
    """The loan, product or payment does not exist."""


class Conflict(LedgerError):
    """The request clashes with what exists (duplicate id or reference, wrong state)."""


class Invalid(LedgerError):
    """The request cannot apply to this loan (unknown instalment, wrong currency...).
    ``field``: the request field at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Forbidden(LedgerError):
    """The caller's roles do not allow this (a back-dated payment without ops or admin)."""
