"""Operational metrics: one vocabulary for both runtimes.

In AWS the sink is powertools ``Metrics`` (CloudWatch EMF, namespace ``AppSyncJobs``, dimension
``service=appsync-jobs``; ``jobcore.adapters.powertools_metrics``). Locally it is ``InMemoryMetrics``,
which the local server exposes at ``/metrics``. The use cases and the worker only call ``count`` and
``duration_ms``; which sink is behind them is the composition root's choice.

What each metric means (README, Operations):

- ``JobsSubmitted``: a ``submitJob`` that created a job (an idempotent replay is not counted).
- ``JobsSucceeded`` / ``JobsFailed`` / ``JobsCancelled``: a job reached that terminal status, whoever
  decided it (the task, the reaper's ``TimedOut``, the DLQ consumer's ``DeadLettered``, a cancel).
- ``JobsRetried``: a worker attempt failed with a retryable error and the job will be tried again
  (counted by the worker; a last attempt that fails counts as ``JobsFailed`` instead).
- ``JobsDeadLettered``: the DLQ consumer received a job's message (its deliveries were exhausted).
- ``FailedRecords``: records a worker or DLQ-consumer invocation handed back to SQS
  (``batchItemFailures``). Lambda's ``Errors`` misses these; alarm on this.
- ``QueueWaitMs``: from when a job became claimable (its submit, or the previous attempt's last
  report for a retry) to a worker's claim.
- ``RunDurationMs``: from a job's first claim to its outcome.
The two durations are emitted with ``service`` alone and again with ``taskType``.

A sink failing never fails the work it observes (metrics are events, not commands).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from jobcore.domain.job import Job, JobStatus

NAMESPACE = "AppSyncJobs"
SERVICE = "appsync-jobs"

logger = logging.getLogger("appsync_jobs.metrics")


class Metric(StrEnum):
    JOBS_SUBMITTED = "JobsSubmitted"
    JOBS_SUCCEEDED = "JobsSucceeded"
    JOBS_FAILED = "JobsFailed"
    JOBS_CANCELLED = "JobsCancelled"
    JOBS_RETRIED = "JobsRetried"
    JOBS_DEAD_LETTERED = "JobsDeadLettered"
    FAILED_RECORDS = "FailedRecords"
    QUEUE_WAIT_MS = "QueueWaitMs"
    RUN_DURATION_MS = "RunDurationMs"


COUNTS = (
    Metric.JOBS_SUBMITTED, Metric.JOBS_SUCCEEDED, Metric.JOBS_FAILED, Metric.JOBS_CANCELLED,
    Metric.JOBS_RETRIED, Metric.JOBS_DEAD_LETTERED, Metric.FAILED_RECORDS,
)
DURATIONS = (Metric.QUEUE_WAIT_MS, Metric.RUN_DURATION_MS)

_TERMINAL_COUNT = {
    JobStatus.SUCCEEDED: Metric.JOBS_SUCCEEDED,
    JobStatus.FAILED: Metric.JOBS_FAILED,
    JobStatus.CANCELLED: Metric.JOBS_CANCELLED,
}


class MetricsSink(Protocol):
    def count(self, name: Metric, value: int = 1) -> None: ...

    def duration_ms(self, name: Metric, value: float, *, task_type: str) -> None: ...

    def flush(self) -> None:
        """Publish what was recorded during this invocation (EMF prints it; in-memory keeps it)."""


class NullMetrics:
    """Records nothing: tests and callers that do not care."""

    def count(self, name: Metric, value: int = 1) -> None:
        return None

    def duration_ms(self, name: Metric, value: float, *, task_type: str) -> None:
        return None

    def flush(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class DurationSummary:
    count: int
    sum_ms: float


class InMemoryMetrics:
    """The local runtime's sink: process-wide counters and duration sums, thread-safe (the local
    worker runs deliveries in threads beside the server's event loop)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[Metric, int] = dict.fromkeys(COUNTS, 0)
        self._durations: dict[tuple[Metric, str], tuple[int, float]] = {}

    def count(self, name: Metric, value: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + value

    def duration_ms(self, name: Metric, value: float, *, task_type: str) -> None:
        with self._lock:
            count, total = self._durations.get((name, task_type), (0, 0.0))
            self._durations[(name, task_type)] = (count + 1, total + value)

    def flush(self) -> None:
        return None

    def counts(self) -> dict[Metric, int]:
        with self._lock:
            return dict(self._counts)

    def durations(self) -> dict[tuple[Metric, str], DurationSummary]:
        with self._lock:
            return {key: DurationSummary(count, total) for key, (count, total) in self._durations.items()}


def _ms(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() * 1000)


def observe_transition(sink: MetricsSink, before: Job, after: Job) -> None:
    """Record what a persisted write means: a claim (queue wait) or an outcome (count, run time)."""
    try:
        if after.attempts > before.attempts and after.status is JobStatus.RUNNING:
            claimable_since = before.created_at if before.attempts == 0 else before.updated_at
            sink.duration_ms(Metric.QUEUE_WAIT_MS, _ms(after.updated_at, claimable_since), task_type=after.type)
        if after.status is not before.status and after.status.is_terminal:
            sink.count(_TERMINAL_COUNT[after.status])
            if after.started_at is not None and after.finished_at is not None:
                sink.duration_ms(Metric.RUN_DURATION_MS, _ms(after.finished_at, after.started_at), task_type=after.type)
    except Exception:  # an event: never fail the write it describes
        logger.warning("could not record metrics for job %s", after.id, exc_info=True)


def record(sink: MetricsSink, name: Metric, value: int = 1) -> None:
    """``sink.count`` that never raises."""
    try:
        sink.count(name, value)
    except Exception:
        logger.warning("could not record metric %s", name, exc_info=True)
