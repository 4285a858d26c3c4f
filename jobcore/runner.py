"""Running one delivery of a job message: claim, run the task, report - all through ``updateJob``.

The worker never writes the store itself. Every step is a report that the API validates against
the state machine, which is what lets the worker distrust the queue: a redelivered message for a
finished job is refused by its claim and simply acknowledged.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from jobcore.errors import InvalidTransition, JobNotFound, JobsError, LeaseHeld, StaleLease, UnknownTask
from jobcore.limits import MAX_RESULT_BYTES, check_json
from jobcore.metrics import Metric, MetricsSink, NullMetrics, record
from jobcore.registry import CancelledByRequest, NonRetryableError, TaskRegistry
from jobcore.settings import Settings
from jobcore.wire import JobShape

logger = logging.getLogger("appsync_jobs.runner")


class JobReporter(Protocol):
    """Sends ``updateJob`` and returns the job it answers with, or raises the mapped ``JobsError``."""

    def update(self, job_id: str, fields: dict[str, Any]) -> JobShape: ...


class RetryLater(Exception):
    """Raised to hand the message back to the queue (a partial batch failure) for a later attempt."""


class Outcome(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One receive of a job message, with what the runner needs from the queue."""

    job_id: str
    receive_count: int
    max_receive_count: int
    #: Extends the message's visibility (seconds from now) so a healthy long task is not redelivered.
    extend_visibility: Callable[[int], None] = field(default=lambda seconds: None)


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """Timing of one attempt; build it from ``Settings`` with ``RunnerConfig.from_settings``."""

    lease_seconds: int = 60
    #: Extra hiding beyond the lease, so the message reappears only after a dead attempt's lease lapsed.
    visibility_margin_seconds: int = 10
    min_progress_interval: float = 0.2
    retry_backoff_base_seconds: int = 2
    retry_backoff_max_seconds: int = 300
    #: The queue's own visibility timeout: how long a delivery that found another live attempt hides.
    queue_visibility_timeout_seconds: int = 900

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerConfig:
        return cls(
            lease_seconds=settings.lease_seconds,
            visibility_margin_seconds=settings.visibility_margin_seconds,
            retry_backoff_base_seconds=settings.retry_backoff_base_seconds,
            queue_visibility_timeout_seconds=settings.visibility_timeout_seconds,
        )


class _RunningTask:
    """The ``TaskContext`` handed to a task, plus the lease heartbeat behind it."""

    def __init__(self, job: JobShape, reporter: JobReporter, token: str, delivery: Delivery, config: RunnerConfig):
        self._job = job
        self._reporter = reporter
        self._token = token
        self._delivery = delivery
        self._config = config
        self._lock = threading.Lock()
        self._last_report = 0.0
        self._cancelled = bool(job.get("cancelRequested"))
        self._stop = threading.Event()
        # The heartbeat runs in this delivery's context: its reports carry the same trace header and
        # its log lines the same job id and correlation id as the task's (both live in contextvars).
        self._heartbeat = threading.Thread(
            target=contextvars.copy_context().run, args=(self._beat,), name=f"heartbeat-{job['id'][:8]}", daemon=True
        )

    @property
    def job_id(self) -> str:
        return self._job["id"]

    @property
    def payload(self) -> Any:
        return self._job.get("payload")

    @property
    def attempt(self) -> int:
        return int(self._job["attempts"])

    @property
    def idempotency_key(self) -> str:
        return f"appsync-jobs:{self._job['id']}"

    def progress(self, percent: int, message: str | None = None) -> None:
        now = time.monotonic()
        if now - self._last_report < self._config.min_progress_interval and percent < 100:
            return  # coalesce bursts: the next report or the outcome carries the newer state
        self._report({"progress": percent, "message": message, "leaseSeconds": self._config.lease_seconds})

    def cancel_requested(self) -> bool:
        return self._cancelled

    def check_cancelled(self) -> None:
        if self._cancelled:
            raise CancelledByRequest(f"job {self.job_id} was cancelled")

    def _report(self, fields: dict[str, Any]) -> None:
        with self._lock:
            job = self._reporter.update(self.job_id, {"leaseToken": self._token, **fields})
            self._last_report = time.monotonic()
            self._cancelled = self._cancelled or bool(job.get("cancelRequested"))
        self._delivery.extend_visibility(self._config.lease_seconds + self._config.visibility_margin_seconds)

    def _beat(self) -> None:
        interval = max(1.0, self._config.lease_seconds / 3)
        while not self._stop.wait(interval):
            if time.monotonic() - self._last_report < interval:
                continue
            try:
                self._report({"leaseSeconds": self._config.lease_seconds})
            except JobsError as exc:  # the outcome report will tell the real story
                logger.warning("heartbeat for job %s failed: %s", self.job_id, exc)

    def __enter__(self) -> _RunningTask:
        self._heartbeat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._heartbeat.join(timeout=5)


def run_delivery(
    delivery: Delivery,
    reporter: JobReporter,
    registry: TaskRegistry,
    config: RunnerConfig | None = None,
    metrics: MetricsSink | None = None,
) -> Outcome:
    """Run one delivery to an outcome, or raise ``RetryLater`` to have the queue redeliver it.

    ``metrics`` counts ``JobsRetried``; outcomes are counted where they are decided, by ``updateJob``.
    """
    config = config or RunnerConfig()
    metrics = metrics or NullMetrics()
    token = str(uuid.uuid4())
    # Tie the message to the lease *before* claiming: a worker that dies from here on leaves the
    # message to reappear once the lease lapsed (lease + margin), not after the queue's whole
    # visibility timeout (6x the worker timeout on the cloud stack). The margin covers the claim's
    # own latency; heartbeats renew both every lease/3.
    delivery.extend_visibility(config.lease_seconds + config.visibility_margin_seconds)
    try:
        job = reporter.update(
            delivery.job_id, {"leaseToken": token, "status": "RUNNING", "leaseSeconds": config.lease_seconds}
        )
    except (InvalidTransition, StaleLease):
        logger.info("job %s is already finished; delivery acknowledged", delivery.job_id)
        return Outcome.SKIPPED
    except JobNotFound:
        logger.warning("job %s does not exist; delivery acknowledged", delivery.job_id)
        return Outcome.SKIPPED
    except LeaseHeld as exc:
        # A duplicate of a message another worker is running: look again only after the queue's
        # full timeout, so a long healthy attempt is not met by this copy every lease.
        delivery.extend_visibility(config.queue_visibility_timeout_seconds)
        raise RetryLater(f"job {delivery.job_id} is running under another live attempt") from exc

    def finish(fields: dict[str, Any]) -> None:
        try:
            reporter.update(delivery.job_id, {"leaseToken": token, **fields})
        except (StaleLease, InvalidTransition) as exc:
            logger.warning("job %s outcome not recorded (%s): another attempt owns it", delivery.job_id, exc)

    if job.get("cancelRequested"):
        finish({"status": "CANCELLED", "message": "cancelled before it started"})
        return Outcome.CANCELLED
    try:
        spec = registry.get(job["type"])
    except UnknownTask as exc:
        finish({"status": "FAILED", "error": {"type": exc.error_type, "message": exc.message}})
        return Outcome.FAILED

    with _RunningTask(job, reporter, token, delivery, config) as context:
        try:
            result = spec.fn(context)
            check_json("result", result, MAX_RESULT_BYTES)
        except CancelledByRequest:
            finish({"status": "CANCELLED", "message": "cancelled on request"})
            return Outcome.CANCELLED
        except NonRetryableError as exc:
            finish({"status": "FAILED", "error": {"type": exc.error_type, "message": str(exc)}})
            return Outcome.FAILED
        except JobsError as exc:  # e.g. a result too large to deliver: retrying cannot help
            finish({"status": "FAILED", "error": {"type": exc.error_type, "message": exc.message}})
            return Outcome.FAILED
        except Exception as exc:
            return _retry_or_fail(delivery, token, reporter, config, exc, metrics)
    finish({"status": "SUCCEEDED", "result": result})
    return Outcome.SUCCEEDED


def _retry_or_fail(
    delivery: Delivery, token: str, reporter: JobReporter, config: RunnerConfig, exc: Exception, metrics: MetricsSink
) -> Outcome:
    description = f"{type(exc).__name__}: {exc}"[:1000]
    attempt = delivery.receive_count
    if attempt >= delivery.max_receive_count:
        # Last allowed receive: record the real error now; the queue still dead-letters the message
        # (for forensics) and the dead-letter handler finds the job already FAILED.
        reporter.update(
            delivery.job_id,
            {"leaseToken": token, "status": "FAILED", "error": {"type": "TaskError", "message": description}},
        )
        logger.error("job %s failed for good after %d attempts: %s", delivery.job_id, attempt, description)
        raise RetryLater(description) from exc
    backoff = min(config.retry_backoff_max_seconds, config.retry_backoff_base_seconds ** attempt)
    reporter.update(
        delivery.job_id,
        {"leaseToken": token, "leaseSeconds": 0,
         "message": f"attempt {attempt} failed ({description}); retrying in {backoff}s"},
    )
    delivery.extend_visibility(backoff)
    record(metrics, Metric.JOBS_RETRIED)
    logger.warning("job %s attempt %d failed, retrying in %ds: %s", delivery.job_id, attempt, backoff, description)
    raise RetryLater(description) from exc
