"""The one error a misconfigured product policy raises.

Kept apart from ``policy`` so that the value objects a policy is made of
(``Buckets``, ``EscalationLadder``) can raise it without an import cycle.
"""


class InvalidPolicy(ValueError):
    """A product's overdue policy is inconsistent; the message says which setting and why."""
