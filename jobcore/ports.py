"""The two ports every runtime plugs adapters into: where jobs live and how work is queued.

Public methods keep the shared bookkeeping; adapters implement the underscored hooks. The store's
only write primitive besides ``create`` is a compare-and-set on ``version`` - the mechanism behind
"nothing moves backwards" in every adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from jobcore.domain.job import Job
from jobcore.errors import ValidationError


@dataclass(frozen=True, slots=True)
class CreateResult:
    job: Job
    #: False when the idempotency key already named a job, which is returned instead.
    created: bool


class JobStore(ABC):
    def create(self, job: Job) -> CreateResult:
        """Insert a new job; if its (owner, idempotency key) is taken, return the existing job."""
        if job.version != 1:
            raise ValidationError("a new job starts at version 1")
        return self._create(job)

    def get(self, job_id: str) -> Job | None:
        return self._get(job_id)

    def replace(self, new: Job, *, expected_version: int) -> Job:
        """Write ``new`` only if the stored job is still at ``expected_version``.

        Raises ``TransitionConflict`` otherwise, so a racing or duplicate writer loses cleanly.
        """
        if new.version <= expected_version:
            raise ValidationError("a replacement must carry a higher version")
        self._replace(new, expected_version)
        return new

    def find_stuck(self, now: datetime, *, pending_before: datetime, limit: int = 100) -> list[Job]:
        """RUNNING jobs past their deadline and PENDING jobs older than ``pending_before`` (for the reaper)."""
        return list(self._find_stuck(now, pending_before, limit))

    @abstractmethod
    def _create(self, job: Job) -> CreateResult: ...

    @abstractmethod
    def _get(self, job_id: str) -> Job | None: ...

    @abstractmethod
    def _replace(self, new: Job, expected_version: int) -> None: ...

    @abstractmethod
    def _find_stuck(self, now: datetime, pending_before: datetime, limit: int) -> Iterator[Job]: ...


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One delivery of a queued message, shaped after what SQS hands a Lambda."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    sent_at: datetime


class JobQueue(ABC):
    """SQS semantics: at-least-once, visibility timeout, receive count, delete on success, redrive."""

    def send(self, body: str, *, delay_seconds: int = 0) -> str:
        """Enqueue ``body``; returns the message id."""
        return self._send(body, delay_seconds)

    def receive(self, max_messages: int = 10, *, visibility_timeout: int | None = None) -> list[ReceivedMessage]:
        """Lease up to ``max_messages`` visible messages (moving over-received ones to the DLQ)."""
        return self._receive(max_messages, visibility_timeout)

    def delete(self, receipt_handle: str) -> None:
        self._delete(receipt_handle)

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        """Hide an in-flight message for ``seconds`` more from now (0 makes it visible at once)."""
        self._change_visibility(receipt_handle, seconds)

    @abstractmethod
    def _send(self, body: str, delay_seconds: int) -> str: ...

    @abstractmethod
    def _receive(self, max_messages: int, visibility_timeout: int | None) -> list[ReceivedMessage]: ...

    @abstractmethod
    def _delete(self, receipt_handle: str) -> None: ...

    @abstractmethod
    def _change_visibility(self, receipt_handle: str, seconds: int) -> None: ...


