"""A borrower's contact profile as the policy and the templates see it (ids, no addresses)."""

from __future__ import annotations

from dataclasses import dataclass

from notifier.domain.policy import Channel, Jurisdiction


@dataclass(frozen=True, slots=True)
class ChannelSetting:
    channel: Channel
    address_id: str
    priority: int = 100
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class ContactProfile:
    borrower_id: str
    language: str
    timezone: str | None
    jurisdiction: Jurisdiction
    channels: tuple[ChannelSetting, ...]

    def by_priority(self) -> tuple[ChannelSetting, ...]:
        return tuple(sorted(self.channels, key=lambda c: (c.priority, c.channel)))


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """What sending a queued message needs of a profile: the language of its text, and the
    zone and jurisdiction whose quiet hours it must not fall in."""

    language: str
    timezone: str | None
    jurisdiction: Jurisdiction


@dataclass(frozen=True, slots=True)
class Trigger:
    """One reason to contact a borrower, keyed so the same trigger twice is one attempt."""

    trigger_key: str
    loan_id: str
    borrower_id: str
    purpose: str
    mandatory: bool
    context: dict[str, str]


MANDATORY_PURPOSES = frozenset({"credit_report_notice"})

#: ``Trigger.context["kind"]`` of a call task (decided by the call caps, listed for the call
#: centre, never sent by a provider) and of an opt-out confirmation (the one message allowed
#: on the channel just opted out).
CALL_TASK = "call"
OPT_OUT_CONFIRMATION = "opt_out_confirmation"
