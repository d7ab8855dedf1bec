"""The refusals a service's use cases raise, mapped to problem+json once (``lendkit.problems``).

Service layers and domains raise these (or subclasses); entrypoints never translate them by
hand. A consumer handler that raises one has met an event that can never have an effect:
wrap it with :func:`lendkit.consumer.rejecting` to dead-letter it with the reason.

=================  ======  ==========================================================
exception          status  meaning
=================  ======  ==========================================================
``NotFound``       404     the loan, product, payment... does not exist (or is hidden)
``Conflict``       409     clashes with what exists: duplicate id, wrong state
``Invalid``        422     well-formed but cannot apply (``field`` names the culprit)
``Forbidden``      403     the caller's roles do not allow this particular request
=================  ======  ==========================================================
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every use-case refusal. ``status`` and ``title`` are its problem+json."""

    status = 400
    title = "Bad Request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(ServiceError):
    status = 404
    title = "Not Found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class Invalid(ServiceError):
    """The request cannot apply. ``field``: the request field at fault, when there is one."""

    status = 422
    title = "Unprocessable"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"
