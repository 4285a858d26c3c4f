"""The two ports every runtime plugs adapters into: where jobs live and how work is queued.

Public methods keep the shared bookkeeping; adapters implement the underscored hooks. The store's
only write primitive besides ``create`` is a compare-and-set on ``version`` - the mechanism behind
"nothing moves backwards" in every adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from jobcore.domain.job import Job, JobStatus
from jobcore.errors import ValidationError
from jobcore.wire import format_datetime

#: Largest page a store is asked for (``listJobs``' limit is at most 100).
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class CreateResult:
    job: Job
    #: False when the idempotency key already named a job, which is returned instead.
    created: bool


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, newest first, and where the next page starts.

    ``cursor`` is the store's position after the last job it examined (``listing_position`` of a job:
    creation instant and id, so it is unique and time-ordered), or None when nothing older is left.
    A store may return fewer than the requested jobs with a cursor (DynamoDB filters after reading);
    only ``cursor is None`` means the end. The service signs the cursor before a client sees it.
    """

    items: list[Job]
    cursor: str | None


def listing_position(job: Job) -> str:
    """A job's place in its owner's newest-first listing: ``<createdAt>#<id>`` (sorts as text)."""
    return f"{format_datetime(job.created_at)}#{job.id}"


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

    def mark_requeued(self, job: Job, at: datetime) -> bool:
        """Move a PENDING job's place in the stuck index to ``at`` (its message was just sent again).

        Without this a PENDING job stays indexed at its creation time and, during a backlog, every
        reaper run would enqueue it once more. Only the index moves (not the job or its version); a
        job that left PENDING meanwhile is left alone. Returns whether the index moved.
        """
        return self._mark_requeued(job, at)

    @abstractmethod
    def _mark_requeued(self, job: Job, at: datetime) -> bool: ...
    def list_by_owner(
        self,
        owner: str,
        *,
        status: JobStatus | None = None,
        job_type: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> Page:
        """``owner``'s jobs, newest first, optionally of one status and/or type, strictly older than
        the position ``after`` (a ``Page.cursor`` from the previous page, trusted: the service has
        checked its signature). No other owner's job can appear: every adapter reads one owner's index
        partition, never the table."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        return self._list_by_owner(owner, status, job_type, limit, after)

    @abstractmethod
    def _create(self, job: Job) -> CreateResult: ...

    @abstractmethod
    def _list_by_owner(
        self, owner: str, status: JobStatus | None, job_type: str | None, limit: int, after: str | None
    ) -> Page: ...

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
    #: String message attributes (SQS ``MessageAttributes``), e.g. the dead-letter archive's provenance.
    attributes: Mapping[str, str] = field(default_factory=dict)
    #: The X-Ray trace header the sender attached (SQS's ``AWSTraceHeader`` system attribute).
    trace_header: str | None = None


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """SQS's approximate counts of one queue: ``ApproximateNumberOfMessages`` (visible),
    ``...NotVisible`` (in flight: received and not yet deleted, including retries in backoff) and
    ``...Delayed`` (sent with a delay that has not passed)."""

    queue: str
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


class JobQueue(ABC):
    """SQS semantics: at-least-once, visibility timeout, receive count, delete on success, redrive."""

    def send(
        self,
        body: str,
        *,
        delay_seconds: int = 0,
        attributes: Mapping[str, str] | None = None,
        trace_header: str | None = None,
    ) -> str:
        """Enqueue ``body``; returns the message id.

        ``attributes`` travel as string message attributes; ``trace_header`` as the ``AWSTraceHeader``
        system attribute, which X-Ray uses to link the consumer's trace to the sender's.
        """
        return self._send(body, delay_seconds, dict(attributes or {}), trace_header)

    def receive(self, max_messages: int = 10, *, visibility_timeout: int | None = None) -> list[ReceivedMessage]:
        """Lease up to ``max_messages`` visible messages (moving over-received ones to the DLQ)."""
        return self._receive(max_messages, visibility_timeout)

    def delete(self, receipt_handle: str) -> None:
        self._delete(receipt_handle)

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        """Hide an in-flight message for ``seconds`` more from now (0 makes it visible at once)."""
        self._change_visibility(receipt_handle, seconds)

    def approximate_depth(self) -> QueueDepth:
        """How many messages wait, are in flight and are delayed (``appsync-jobs stats``, ``/metrics``)."""
        return self._approximate_depth()

    @abstractmethod
    def _approximate_depth(self) -> QueueDepth: ...

    @abstractmethod
    def _send(self, body: str, delay_seconds: int, attributes: dict[str, str], trace_header: str | None) -> str: ...

    @abstractmethod
    def _receive(self, max_messages: int, visibility_timeout: int | None) -> list[ReceivedMessage]: ...

    @abstractmethod
    def _delete(self, receipt_handle: str) -> None: ...

    @abstractmethod
    def _change_visibility(self, receipt_handle: str, seconds: int) -> None: ...


