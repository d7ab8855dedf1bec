"""Digests: several triggers for one borrower on one business day become one message, unless a
purpose is urgent (the credit-report notice is mandatory and urgent; an opt-out confirmation
answers the borrower at once).

Triggers ready to send together (queued in the same dispatch, for example the deferred sends
of a night's close of business due at 08:00) are grouped by borrower, channel and business
day; each group is one message whose attempts are all recorded as sent by it. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

URGENT_PURPOSES = frozenset({"credit_report_notice", "opt_out_confirmation"})

T = TypeVar("T")


def is_urgent(purpose: str, mandatory: bool) -> bool:
    return mandatory or purpose in URGENT_PURPOSES


def digest_groups(items: Sequence[T], key: Callable[[T], Hashable | None]) -> list[list[T]]:
    """``items`` in groups, in order of first appearance; an item whose key is None (urgent)
    is a group of its own."""
    groups: list[list[T]] = []
    index: dict[Hashable, int] = {}
    for item in items:
        k = key(item)
        if k is None:
            groups.append([item])
        elif k in index:
            groups[index[k]].append(item)
        else:
            index[k] = len(groups)
            groups.append([item])
    return groups
