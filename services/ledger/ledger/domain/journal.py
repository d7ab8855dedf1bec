"""Double-entry journal: every money movement as a balanced entry.

Sign convention for :func:`balances`: debit-normal. An account's balance is
``sum(debits) - sum(credits)``, so asset accounts (cash clearing, loan
principal, receivables) are positive and liability and income accounts
(borrower credit, disbursement clearing, income) are negative. The balances of
any set of balanced entries sum to zero: that is the trial balance.

Interest received before its instalment falls due is credited to
``INTEREST_RECEIVABLE`` ahead of ``interest_due_entry``: a negative interest
receivable is interest received in advance and clears when the instalment falls
due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from ledger.domain.allocation import AllocationLine, AllocationResult
from ledger.domain.component import LedgerComponent, component_amounts
from ledger.domain.errors import UnbalancedEntry
from ledger.domain.money import is_known_currency


class Account(StrEnum):
    """The ledger's chart of accounts (per loan)."""

    CASH_CLEARING = "CASH_CLEARING"  # asset: money received, awaiting settlement
    LOAN_PRINCIPAL = "LOAN_PRINCIPAL"  # asset: principal owed by the borrower
    INTEREST_RECEIVABLE = "INTEREST_RECEIVABLE"  # asset
    PENALTY_RECEIVABLE = "PENALTY_RECEIVABLE"  # asset
    FEE_RECEIVABLE = "FEE_RECEIVABLE"  # asset
    INTEREST_INCOME = "INTEREST_INCOME"  # income
    PENALTY_INCOME = "PENALTY_INCOME"  # income
    FEE_INCOME = "FEE_INCOME"  # income
    BORROWER_CREDIT = "BORROWER_CREDIT"  # liability: over-payment held for the borrower
    DISBURSEMENT_CLEARING = "DISBURSEMENT_CLEARING"  # liability: loan paid out, to settle
    PRINCIPAL_WRITTEN_OFF = "PRINCIPAL_WRITTEN_OFF"  # expense: principal forgiven (settlement)


#: Where a paid component is credited.
RECEIVABLE_ACCOUNT: Mapping[LedgerComponent, Account] = MappingProxyType(
    {
        LedgerComponent.PRINCIPAL: Account.LOAN_PRINCIPAL,
        LedgerComponent.INTEREST: Account.INTEREST_RECEIVABLE,
        LedgerComponent.PENALTY: Account.PENALTY_RECEIVABLE,
        LedgerComponent.FEE: Account.FEE_RECEIVABLE,
    }
)

#: Where a booked charge is recognised as income.
INCOME_ACCOUNT: Mapping[LedgerComponent, Account] = MappingProxyType(
    {
        LedgerComponent.INTEREST: Account.INTEREST_INCOME,
        LedgerComponent.PENALTY: Account.PENALTY_INCOME,
        LedgerComponent.FEE: Account.FEE_INCOME,
    }
)


@dataclass(frozen=True)
class JournalLine:
    """One side of an entry: exactly one of ``debit`` / ``credit`` is positive."""

    account: Account
    debit: int = 0
    credit: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.account, Account):
            raise UnbalancedEntry(f"unknown account {self.account!r}")
        if self.debit < 0 or self.credit < 0:
            raise UnbalancedEntry(f"{self.account}: amounts must not be negative")
        if (self.debit > 0) == (self.credit > 0):
            raise UnbalancedEntry(f"{self.account}: exactly one of debit/credit must be positive")

    @property
    def signed(self) -> int:
        """Debit-normal signed amount: debit positive, credit negative."""
        return self.debit - self.credit


@dataclass(frozen=True)
class JournalEntry:
    """A balanced set of lines in one currency."""

    currency: str
    lines: tuple[JournalLine, ...]
    memo: str = ""

    def __post_init__(self) -> None:
        if not is_known_currency(self.currency):
            raise UnbalancedEntry(f"unknown currency {self.currency!r}")
        if len(self.lines) < 2:
            raise UnbalancedEntry("a journal entry needs at least two lines")
        if self.total_debit != self.total_credit:
            raise UnbalancedEntry(
                f"debits {self.total_debit} != credits {self.total_credit} ({self.memo})"
            )

    @property
    def total_debit(self) -> int:
        """Sum of the debit side."""
        return sum(line.debit for line in self.lines)

    @property
    def total_credit(self) -> int:
        """Sum of the credit side."""
        return sum(line.credit for line in self.lines)

    def reversed(self, memo: str | None = None) -> JournalEntry:
        """The mirror entry: every debit becomes a credit and vice versa."""
        return JournalEntry(
            self.currency,
            tuple(JournalLine(line.account, line.credit, line.debit) for line in self.lines),
            memo if memo is not None else f"reversal: {self.memo}",
        )


def _dr(account: Account, amount: int) -> JournalLine:
    return JournalLine(account, debit=amount)


def _cr(account: Account, amount: int) -> JournalLine:
    return JournalLine(account, credit=amount)


def _positive(amount: int, what: str) -> None:
    if amount <= 0:
        raise UnbalancedEntry(f"{what} must be positive, got {amount}")


def disbursement_entry(principal: int, currency: str) -> JournalEntry:
    """Loan paid out: Dr loan principal, Cr disbursement clearing."""
    _positive(principal, "principal")
    return JournalEntry(
        currency,
        (_dr(Account.LOAN_PRINCIPAL, principal), _cr(Account.DISBURSEMENT_CLEARING, principal)),
        "disbursement",
    )


def interest_due_entry(interest: int, currency: str) -> JournalEntry:
    """Contractual interest recognised when its instalment falls due."""
    _positive(interest, "interest")
    return JournalEntry(
        currency,
        (_dr(Account.INTEREST_RECEIVABLE, interest), _cr(Account.INTEREST_INCOME, interest)),
        "interest due",
    )


def _income_account(component: LedgerComponent) -> Account:
    try:
        return INCOME_ACCOUNT[component]
    except KeyError:
        raise UnbalancedEntry(f"{component} cannot be booked as a charge") from None


def charge_booked_entry(component: LedgerComponent, amount: int, currency: str) -> JournalEntry:
    """A penalty or fee (or extra interest) charged: Dr receivable, Cr income."""
    _positive(amount, "charge")
    income = _income_account(component)
    receivable = RECEIVABLE_ACCOUNT[component]
    return JournalEntry(
        currency,
        (_dr(receivable, amount), _cr(income, amount)),
        f"{component.lower()} booked",
    )


def charge_waived_entry(component: LedgerComponent, amount: int, currency: str) -> JournalEntry:
    """A charge waived: Dr income, Cr receivable (the booking's mirror)."""
    return charge_booked_entry(component, amount, currency).reversed(f"{component.lower()} waived")


def capitalised_entry(component: LedgerComponent, amount: int, currency: str) -> JournalEntry:
    """A recognised receivable (interest, penalty, fee) capitalised by a restructuring plan:
    Dr loan principal, Cr the receivable (the debt changes form, no new income)."""
    _positive(amount, "capitalised amount")
    _income_account(component)
    return JournalEntry(
        currency,
        (_dr(Account.LOAN_PRINCIPAL, amount), _cr(RECEIVABLE_ACCOUNT[component], amount)),
        f"{component.lower()} capitalised",
    )


def deferred_interest_capitalised_entry(amount: int, currency: str) -> JournalEntry:
    """Interest of a payment holiday's deferred periods added to the principal: Dr loan
    principal, Cr interest income (earned over the holiday, owed as principal)."""
    _positive(amount, "deferred interest")
    return JournalEntry(
        currency,
        (_dr(Account.LOAN_PRINCIPAL, amount), _cr(Account.INTEREST_INCOME, amount)),
        "deferred interest capitalised",
    )


def principal_written_off_entry(amount: int, currency: str) -> JournalEntry:
    """Principal forgiven (a discounted settlement paid in time): Dr principal written off
    (expense), Cr loan principal."""
    _positive(amount, "principal written off")
    return JournalEntry(
        currency,
        (_dr(Account.PRINCIPAL_WRITTEN_OFF, amount), _cr(Account.LOAN_PRINCIPAL, amount)),
        "principal written off",
    )


def _receivable_credits(lines: Iterable[AllocationLine]) -> list[JournalLine]:
    totals = component_amounts((line.component, line.amount) for line in lines)
    return [
        _cr(RECEIVABLE_ACCOUNT[component], totals[component])
        for component in (
            LedgerComponent.PENALTY,
            LedgerComponent.FEE,
            LedgerComponent.INTEREST,
            LedgerComponent.PRINCIPAL,
        )
        if totals[component] > 0
    ]


def payment_entry(result: AllocationResult, currency: str) -> JournalEntry:
    """Payment received: Dr cash clearing; Cr each paid receivable; Cr borrower credit."""
    _positive(result.amount, "payment")
    credits = _receivable_credits(result.lines)
    if result.credit > 0:
        credits.append(_cr(Account.BORROWER_CREDIT, result.credit))
    return JournalEntry(currency, (_dr(Account.CASH_CLEARING, result.amount), *credits), "payment")


def payment_reversal_entry(result: AllocationResult, currency: str) -> JournalEntry:
    """A payment reversed (bounced, charged back): the exact mirror of its entry."""
    return payment_entry(result, currency).reversed("payment reversal")


def credit_applied_entry(lines: Iterable[AllocationLine], currency: str) -> JournalEntry:
    """Held borrower credit used to pay receivables: Dr borrower credit, Cr receivables."""
    credits = _receivable_credits(lines)
    total = sum(line.credit for line in credits)
    _positive(total, "credit applied")
    return JournalEntry(currency, (_dr(Account.BORROWER_CREDIT, total), *credits), "credit applied")


def credit_refunded_entry(amount: int, currency: str) -> JournalEntry:
    """Held credit paid back to the borrower: Dr borrower credit, Cr cash clearing."""
    _positive(amount, "refund")
    return JournalEntry(
        currency,
        (_dr(Account.BORROWER_CREDIT, amount), _cr(Account.CASH_CLEARING, amount)),
        "credit refunded",
    )


def balances(entries: Iterable[JournalEntry]) -> dict[Account, int]:
    """Debit-normal balance of every account (all accounts present, zeros included).

    Entries must share one currency; mixing currencies raises ``UnbalancedEntry``.
    """
    totals = dict.fromkeys(Account, 0)
    currencies: set[str] = set()
    for entry in entries:
        currencies.add(entry.currency)
        for line in entry.lines:
            totals[line.account] += line.signed
    if len(currencies) > 1:
        raise UnbalancedEntry(f"cannot add balances across currencies {sorted(currencies)}")
    return totals


def trial_balance_ok(entries: Iterable[JournalEntry]) -> bool:
    """True when every entry balances and the account balances sum to zero."""
    entry_list = list(entries)
    if any(e.total_debit != e.total_credit for e in entry_list):
        return False
    return sum(balances(entry_list).values()) == 0
