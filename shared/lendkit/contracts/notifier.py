"""Events the notifier publishes on ``notifier.contacts`` (key = loan id). Ids only, no personal data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from lendkit.contracts.money import Currency, NonNegativeMinor
from lendkit.contracts.topics import NOTIFIER_CONTACTS
from lendkit.events.catalogue import EventPayload, event_type


@event_type(
    "notifier.message.delivered.v1",
    topic=NOTIFIER_CONTACTS,
    description="A message reached the borrower (provider delivery receipt). Carries ids and the "
    "purpose only, never a phone number or address. The overdue service's credit-report gate "
    "opens only after a delivered message with purpose credit_report_notice.",
)
class MessageDelivered(EventPayload):
    loan_id: str
    message_id: str
    purpose: str
    channel: str
    delivered_on: date


@event_type(
    "notifier.message.sent.v1",
    topic=NOTIFIER_CONTACTS,
    description="A message was handed to a provider (after the contact policy allowed it). Ids, "
    "the purpose, the channel and the template version only; never an address.",
)
class MessageSent(EventPayload):
    loan_id: str
    message_id: str
    borrower_id: str
    purpose: str
    channel: str
    provider: str
    template_version: str
    sent_at: datetime


@event_type(
    "notifier.message.failed.v1",
    topic=NOTIFIER_CONTACTS,
    description="Every provider of the channel failed for a message after its retries.",
)
class MessageFailed(EventPayload):
    loan_id: str
    message_id: str
    borrower_id: str
    purpose: str
    channel: str
    reason: str
    failed_at: datetime


@event_type(
    "notifier.message.suppressed.v1",
    topic=NOTIFIER_CONTACTS,
    description="The contact policy refused a message; ``rule`` names the rule (opt_out, "
    "third_party, debt_calls_7_in_7_days, person_calls_7_in_7_days, after_conversation_7_days, "
    "unanswered_per_number_per_day, robot_connected_per_day, no_allowed_channel, ...). "
    "``undeliverable`` marks a mandatory notice with no allowed channel left (for ops).",
)
class MessageSuppressed(EventPayload):
    loan_id: str
    message_id: str
    borrower_id: str
    purpose: str
    rule: str
    undeliverable: bool = False
    decided_at: datetime


@event_type(
    "notifier.message.deferred.v1",
    topic=NOTIFIER_CONTACTS,
    description="A message fell in the borrower's quiet hours and is deferred to ``until`` "
    "(the next allowed moment in the borrower's timezone), never dropped.",
)
class MessageDeferred(EventPayload):
    loan_id: str
    message_id: str
    borrower_id: str
    purpose: str
    channel: str
    until: datetime
    decided_at: datetime


@event_type(
    "notifier.call.outcome_recorded.v1",
    topic=NOTIFIER_CONTACTS,
    description="The call centre reported the outcome of a call task (no_answer, answered, "
    "conversation, wrong_party, promise_to_pay). Ids only: never the number called.",
)
class CallOutcomeRecorded(EventPayload):
    loan_id: str
    call_id: str
    borrower_id: str
    outcome: Literal["no_answer", "answered", "conversation", "wrong_party", "promise_to_pay"]
    automated: bool = False
    occurred_at: datetime


@event_type(
    "notifier.promise.made.v1",
    topic=NOTIFIER_CONTACTS,
    description="On a call the borrower promised to pay ``amount_minor`` (``currency``) by "
    "``promised_on``; for the restructure service to track. No personal data.",
)
class PromiseMade(EventPayload):
    promise_id: str
    loan_id: str
    call_id: str
    promised_on: date
    amount_minor: NonNegativeMinor
    currency: Currency
    made_at: datetime
