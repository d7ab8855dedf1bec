"""Domain values as the contract shapes events and responses carry."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.adapters.records import InstalmentRecord
from ledger.domain import AllocationResult, LedgerComponent
from lendkit.contracts.money import AllocationLine as AllocationLineShape
from lendkit.contracts.money import Component as ContractComponent
from lendkit.contracts.money import InstalmentBalance, InstalmentTerms


def contract_component(component: LedgerComponent) -> ContractComponent:
    return ContractComponent(component.value.lower())


def domain_component(component: ContractComponent) -> LedgerComponent:
    return LedgerComponent(component.value.upper())


def balance(i: InstalmentRecord) -> InstalmentBalance:
    return InstalmentBalance(
        seq=i.seq,
        due_date=i.due_date,
        principal_minor=i.outstanding[LedgerComponent.PRINCIPAL],
        interest_minor=i.outstanding[LedgerComponent.INTEREST],
        penalty_minor=i.outstanding[LedgerComponent.PENALTY],
        fee_minor=i.outstanding[LedgerComponent.FEE],
    )


def open_balances(instalments: Iterable[InstalmentRecord]) -> list[InstalmentBalance]:
    """Each instalment that still owes something, after the change."""
    return [balance(i) for i in instalments if i.owed > 0]


def terms(instalments: Iterable[InstalmentRecord]) -> list[InstalmentTerms]:
    return [
        InstalmentTerms(
            seq=i.seq, due_date=i.due_date, principal_minor=i.principal, interest_minor=i.interest
        )
        for i in instalments
    ]


def allocation_lines(result: AllocationResult) -> list[AllocationLineShape]:
    return [
        AllocationLineShape(
            seq=line.seq, component=contract_component(line.component), amount_minor=line.amount
        )
        for line in result.lines
    ]
