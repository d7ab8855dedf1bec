"""The idempotent consumer: at-least-once delivery, effects exactly once.

For each record: decode the CloudEvent; in one database transaction record the event
id as processed for this consumer group and apply the handler's effect; commit; then
commit the Kafka offset. A redelivered event finds its id already recorded and does
nothing. Records of one partition are handled in order (one loan's events stay
ordered); partitions of a batch are handled concurrently.

Batch mode (optional): a handler wrapped in :class:`Batchable` can also apply a run of
events at once. A partition's consecutive records handled by the same ``Batchable`` are
applied in ONE transaction (records of types the consumer ignores have no effect, so
they do not end a run): their ids go into ``processed_events`` with one statement
(``ON CONFLICT DO NOTHING RETURNING``) and the batch function gets only the first-seen
events, in partition order. Any other record in between flushes the run first, so a
partition's order is kept. If the batch fails for a reason that is not transient, or one
of its keys is parked, it is rolled back and its events are applied one by one (each in
its own transaction, through the same ``Batchable`` with a list of one), so a poison
event is isolated and dead-lettered while the others are applied. Offsets are committed
only after the database commits, as for single events.

Failures (:mod:`lendkit.failures` classifies them):

- An event that can never pass (not a valid CloudEvent, a payload that does not fit its
  type, an unknown version of a handled type, a handler's ``RejectedEvent``) goes to the
  dead-letter topic at once, with the reason.
- A transient failure (SQLSTATE of a failover, deadlock, serialization failure, lost
  connection, pool timeout) is retried with capped, jittered exponential backoff; any
  other error up to ``max_attempts`` times. Either way one event is retried for at most
  ``RetryPolicy.key_budget_ms``: then it is dead-lettered, so the other keys of its
  partition wait no longer than that. Only if the database itself is unreachable does a
  transient failure keep being retried past the budget (every key is blocked then, and
  dead-lettering good events would only lose their order).
- A dead-lettered event parks its key (:mod:`lendkit.parked_keys`): the key's later events
  are dead-lettered behind it, in order, until a replay applies them in order. A handler's
  ``RejectedEvent`` is the exception: the handler decided the event never has an effect,
  so nothing can overtake it and the key goes on.

Layout: :mod:`.handlers` (``Handler``, ``Batchable``, ``rejecting``), :mod:`.decoding`
(record -> CloudEvent, the handler table and its version verdicts), :mod:`.retry` (the one
retry loop, for single events, batches and bookkeeping), :mod:`.transactions` (the
processed-event record and the effect in one transaction), :mod:`.batch` (runs of a
``Batchable``), :mod:`.dead_lettering` (dead letters and parked keys), :mod:`.runner`
(``IdempotentConsumer``: Kafka, partitions, offsets).
"""

from lendkit.consumer.handlers import Batchable, BatchFunction, Handler, rejecting
from lendkit.consumer.runner import IdempotentConsumer
from lendkit.failures import RejectedEvent, RetryPolicy, is_transient

__all__ = [
    "BatchFunction",
    "Batchable",
    "Handler",
    "IdempotentConsumer",
    "RejectedEvent",
    "RetryPolicy",
    "is_transient",
    "rejecting",
]
