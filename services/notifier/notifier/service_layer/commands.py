"""What REST callers can change: profiles, a borrower's own preferences, opt-outs by inbound
message. An opt-out is committed before the answer, so the very next attempt honours it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lendkit.errors import NotFound
from notifier.domain.opt_out import is_opt_out
from notifier.domain.policy import Channel, Jurisdiction
from notifier.domain.profile import ContactProfile
from notifier.service_layer.unit_of_work import NotifierUnitOfWork


async def put_profile(
    uow: NotifierUnitOfWork,
    borrower_id: str,
    *,
    language: str,
    timezone: str | None,
    jurisdiction: Jurisdiction,
    channels: Sequence[tuple[Channel, str, int]],
) -> ContactProfile:
    await uow.profiles.put(borrower_id, language, timezone, jurisdiction, list(channels))
    profile = await uow.profiles.get(borrower_id)
    assert profile is not None
    return profile


async def set_preferences(
    uow: NotifierUnitOfWork,
    borrower_id: str,
    *,
    language: str | None,
    opted_out: Sequence[Channel],
    now: datetime,
) -> ContactProfile:
    profile = await uow.profiles.get(borrower_id)
    if profile is None:
        raise NotFound(f"no contact profile for borrower {borrower_id}")
    await uow.profiles.set_preferences(borrower_id, language, frozenset(opted_out), now)
    changed = await uow.profiles.get(borrower_id)
    assert changed is not None
    return changed


async def inbound_message(
    uow: NotifierUnitOfWork, channel: Channel, from_address: str, text: str, now: datetime
) -> bool:
    """True when the message opted its channel out (unknown senders change nothing)."""
    if not is_opt_out(text):
        return False
    borrower_id = await uow.profiles.borrower_by_address(channel, from_address)
    if borrower_id is None:
        return False
    return await uow.profiles.opt_out(borrower_id, channel, now)
