"""Maker-checker: settlements and waivers that forgive more than the product's
``approval_threshold_minor`` need a second person, never the maker (no action bypasses
it; the ``offers_four_eyes`` CHECK holds it in the database as well)."""

from __future__ import annotations

from restructure.domain.errors import FourEyesViolation
from restructure.domain.plans import PlanType, Quote

#: The plan types that forgive money.
FORGIVING = frozenset({PlanType.DISCOUNTED_SETTLEMENT, PlanType.PENALTY_WAIVER})


def needs_second_person(quote: Quote, threshold_minor: int) -> bool:
    """A settlement or waiver forgiving more than ``threshold_minor``."""
    return quote.plan_type in FORGIVING and quote.waived_total > threshold_minor


def ensure_four_eyes(maker: str, checker: str) -> None:
    if maker == checker:
        raise FourEyesViolation(
            f"{checker} made this offer and may not approve it: a second person must"
        )
