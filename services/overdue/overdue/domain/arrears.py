"""What is past due on a loan, as the ledger reports it."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from lendkit.contracts.money import InstalmentBalance


@dataclass(frozen=True)
class OverdueBreakdown:
    """Past-due amounts of a loan by component, in integer minor units.

    ``principal_minor`` and ``interest_minor`` are the unpaid principal and contract
    interest of instalments whose due date has passed. ``penalty_minor`` and
    ``fees_minor`` are carried so that one value describes the whole arrears, but no
    penalty is ever computed on them (see ``penalty.penalty_base``).
    """

    principal_minor: int = 0
    interest_minor: int = 0
    penalty_minor: int = 0
    fees_minor: int = 0

    def __post_init__(self) -> None:
        p, i, n, f = self.principal_minor, self.interest_minor, self.penalty_minor, self.fees_minor
        if int is type(p) is type(i) is type(n) is type(f) and min(p, i, n, f) >= 0:
            return  # the common case, checked at once
        for name in ("principal_minor", "interest_minor", "penalty_minor", "fees_minor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be int minor units, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.penalty_minor + self.fees_minor

    def less(self, principal: int, interest: int, penalty: int, fees: int) -> "OverdueBreakdown":
        """What is left after paying these amounts (never below zero)."""
        return OverdueBreakdown(
            max(0, self.principal_minor - principal),
            max(0, self.interest_minor - interest),
            max(0, self.penalty_minor - penalty),
            max(0, self.fees_minor - fees),
        )


@dataclass(frozen=True)
class Arrears:
    """A loan's arrears at one moment: the oldest unpaid due date and what is past due.

    ``oldest_unpaid_due_date`` is the due date of the oldest instalment not yet fully
    paid, or ``None`` when every instalment due so far is paid.
    """

    oldest_unpaid_due_date: date | None
    overdue: OverdueBreakdown = field(default_factory=OverdueBreakdown)

    @classmethod
    def of_open_instalments(cls, balances: Iterable[InstalmentBalance], as_of: date) -> "Arrears":
        """The arrears on ``as_of`` of a loan whose open instalments are ``balances`` (every
        other instalment paid): what the read model's ``arrears_on`` answers once they are
        stored, without reading them back."""
        past_due = [b for b in balances if b.due_date < as_of]
        unpaid = [b.due_date for b in past_due if b.principal_minor + b.interest_minor > 0]
        return cls(
            oldest_unpaid_due_date=min(unpaid, default=None),
            overdue=OverdueBreakdown(
                sum(b.principal_minor for b in past_due),
                sum(b.interest_minor for b in past_due),
                sum(b.penalty_minor for b in past_due),
                sum(b.fee_minor for b in past_due),
            ),
        )
