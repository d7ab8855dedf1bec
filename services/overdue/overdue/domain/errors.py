"""The overdue service's refusals, as ``lendkit.errors`` kinds (mapped to problem+json once
by the app; a consumer handler's refusal becomes a dead letter through ``@rejecting``).

``title`` is the problem's title (and its type's slug)."""

from __future__ import annotations

from lendkit.errors import Conflict, Invalid, NotFound


class LoanNotFound(NotFound):
    """No such loan, or one the caller may not see (existence is not disclosed)."""

    def __init__(self) -> None:
        super().__init__("No such resource")


class NoBusinessDayClosed(Conflict):
    title = "No business day closed"

    def __init__(self) -> None:
        super().__init__("Pass as_of: no close of business has run yet.")


class ProductNotKnown(NotFound):
    """No product of that code was published by the ledger (or it has not arrived yet)."""

    def __init__(self, product_code: str) -> None:
        super().__init__(f"No product {product_code} has been published to this service.")


class ProductPolicyUnknown(Conflict):
    """The loan's product has no valid overdue policy yet: nothing can be explained (its
    loans are blocked: no penalty, no DPD-driven events until the policy arrives)."""

    title = "Product policy unknown"

    def __init__(self, product_code: str) -> None:
        super().__init__(
            f"Product {product_code} has no valid overdue policy yet: the loan is blocked (no "
            "penalty, no overdue events) until it arrives."
        )
        self.product_code = product_code


class WaiverNotAllowed(Invalid):
    title = "Waiver not allowed"


class BucketsDoNotMatch(Invalid):
    title = "Buckets do not match"
