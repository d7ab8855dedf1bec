"""Events the notifier publishes on ``notifier.contacts`` (key = loan id). Ids only, no personal data."""

from __future__ import annotations

from datetime import date

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
