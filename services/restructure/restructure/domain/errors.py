"""Refusals of the restructure service's domain rules (422 unless said otherwise)."""

from __future__ import annotations

from lendkit.errors import Conflict, Forbidden, Invalid, NotFound


class RestructureDomainError(Invalid, ValueError):
    """A restructuring rule was broken by the input."""


class UnbalancedQuote(RestructureDomainError):
    """A quote that does not reconcile with the outstanding balance to the minor unit."""


class InvalidPlan(RestructureDomainError):
    """A plan's parameters cannot apply to this loan (no remaining instalments...)."""


class LoanNotFound(NotFound):
    """No such loan, or one the caller may not see (existence is not disclosed)."""

    def __init__(self) -> None:
        super().__init__("No such resource")


class LoanTermsUnknown(Conflict):
    """The loan's product (its schedule terms) has not reached this service yet."""

    title = "Loan terms unknown"


class PendingRequestExists(Conflict):
    """One pending hardship request per loan."""

    title = "Pending request exists"


class OfferNotOpen(Conflict):
    """The offer is not open for this step (accepted, declined, expired, awaiting approval)."""

    title = "Offer not open"


class OfferHasExpired(Conflict):
    """The offer's last day has passed on the business clock."""

    title = "Offer expired"


class StaleQuote(Conflict):
    """The loan's balance changed since the quote: a new request quotes it again."""

    title = "Quote stale"


class PlanNotCancellable(Conflict):
    title = "Plan not cancellable"


class FourEyesViolation(Forbidden):
    """The maker of an offer may not approve it (maker-checker, no bypass)."""

    title = "Maker cannot approve"


class NotEligible(Invalid):
    """The plan type is refused for this loan; ``reasons`` lists every reason."""

    title = "Not eligible"

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons
