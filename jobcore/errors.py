"""One error hierarchy for the whole product.

Every boundary (the AppSync resolver, the local server, the worker) maps these exactly once, by
``error_type`` - never by message text. ``error_type`` is what clients see as a GraphQL
``errorType``, so it is part of the public contract.
"""

from __future__ import annotations

from typing import Any


class JobsError(Exception):
    """Base of every domain error; carries the client-facing ``errorType``."""

    error_type = "JobsError"
    #: Whether retrying the same call later can succeed (used by the worker to classify failures).
    retryable = False

    def __init__(self, message: str, *, info: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.info = info

    def to_graphql_error(self) -> dict[str, Any]:
        """The AppSync error fields (``errorType``, ``message``, ``errorInfo``)."""
        return {"errorType": self.error_type, "message": self.message, "errorInfo": self.info}


class ValidationError(JobsError):
    """Raised when a request is malformed: bad JSON, out-of-range numbers, unknown task type, too large."""

    error_type = "ValidationError"


class PayloadTooLarge(ValidationError):
    """Raised when a payload or result is over the size limit that keeps it deliverable."""

    error_type = "PayloadTooLarge"


class UnknownTask(ValidationError):
    """Raised when a job names a task type that no task is registered for."""

    error_type = "UnknownTaskType"


class JobNotFound(JobsError):
    """Raised when a job does not exist or the caller may not see it (the two are indistinguishable)."""

    error_type = "NotFound"


class InvalidTransition(JobsError):
    """Raised when a change is not allowed from the job's current status (e.g. anything after terminal)."""

    error_type = "InvalidTransition"


class LeaseHeld(JobsError):
    """Raised when another attempt holds a live lease on a RUNNING job; retry after it expires."""

    error_type = "LeaseHeld"
    retryable = True


class StaleLease(JobsError):
    """Raised when an update carries a lease that is no longer the job's current one (a zombie attempt)."""

    error_type = "StaleLease"


class TransitionConflict(JobsError):
    """Raised when a compare-and-set lost a race: the job changed since it was read. Safe to retry."""

    error_type = "ConflictError"
    retryable = True


class IdempotencyConflict(JobsError):
    """Raised when an idempotency key is reused with a different task type or payload."""

    error_type = "IdempotencyConflict"


class Unauthorized(JobsError):
    """Raised when the caller's identity may not perform the action."""

    error_type = "Unauthorized"


class QueueError(JobsError):
    """Raised when the queue could not accept or return a message."""

    error_type = "QueueError"
    retryable = True


def error_class_for(error_type: str | None) -> type[JobsError]:
    """The domain error a GraphQL ``errorType`` stands for (the worker reads updateJob errors this way)."""
    pending: list[type[JobsError]] = [JobsError]
    while pending:
        cls = pending.pop()
        if cls.error_type == error_type:
            return cls
        pending.extend(cls.__subclasses__())
    return JobsError
