"""Running one delivery of a job message: claim, run the task, report - all through ``updateJob``.

The worker never writes the store itself. Every step is a report that the API validates against
the state machine, which is what lets the worker distrust the queue: a redelivered message for a
finished job is refused by its claim and simply acknowledged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from jobcore.artifacts import RESULT_ARTIFACT, ArtifactStore, artifact_key, result_pointer, upload_key
from jobcore.errors import (
    InvalidTransition,
    JobNotFound,
    JobsError,
    LeaseHeld,
    PayloadTooLarge,
    StaleLease,
    UnknownTask,
)
from jobcore.limits import (
    MAX_ARTIFACTS,
    PUBLISH_BUDGET_BYTES,
    check_artifact_name,
    check_content_type,
    check_json,
    published_size,
)
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


class AttemptStopped(BaseException):
    """Raised inside a task (by ``progress``/``check_cancelled``) once its attempt hit a deadline.

    A ``BaseException``, like ``KeyboardInterrupt``, so a task's broad ``except Exception`` cannot
    swallow it and keep running past its deadline.
    """


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
    #: ``time.monotonic()`` instant by which this attempt must have stopped and reported: the Lambda's
    #: remaining time minus the hand-back margin. None outside Lambda (the long worker): only the
    #: task's own time limit applies.
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """Timing of one attempt. Its tunable fields are ``Settings`` fields of the same name, copied by
    ``from_settings`` (the one place a runner is derived from settings); the rest are fixed."""

    lease_seconds: int = 60
    #: Extra hiding beyond the lease, so the message reappears only after a dead attempt's lease lapsed.
    visibility_margin_seconds: int = 10
    min_progress_interval: float = 0.2
    retry_backoff_base_seconds: int = 2
    retry_backoff_max_seconds: int = 300
    #: The queue's own visibility timeout: how long a delivery that found another live attempt hides.
    visibility_timeout_seconds: int = 900
    #: After a deadline, how long the task gets to notice (its next ``progress``/``check_cancelled``
    #: raises) before the runner reports without it.
    stop_grace_seconds: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerConfig:
        return cls(
            lease_seconds=settings.lease_seconds,
            visibility_margin_seconds=settings.visibility_margin_seconds,
            retry_backoff_base_seconds=settings.retry_backoff_base_seconds,
            visibility_timeout_seconds=settings.visibility_timeout_seconds,
        )


class _RunningTask:
    """The ``TaskContext`` handed to a task, plus the lease heartbeat behind it."""

    def __init__(
        self,
        job: JobShape,
        reporter: JobReporter,
        token: str,
        delivery: Delivery,
        config: RunnerConfig,
        artifacts: ArtifactStore | None = None,
    ):
        self._job = job
        #: The job as the API last answered (message, cancelRequested...), for the final size check.
        self.latest: JobShape = job
        self._store = artifacts
        #: Artifacts saved by this attempt, reported with its outcome.
        self.saved: dict[str, dict[str, Any]] = {}
        #: Set once the attempt must stop: the next progress()/check_cancelled() raises AttemptStopped.
        self._stop_reason: str | None = None
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
        self._raise_if_stopped()
        now = time.monotonic()
        if now - self._last_report < self._config.min_progress_interval and percent < 100:
            return  # coalesce bursts: the next report or the outcome carries the newer state
        self._report({"progress": percent, "message": message, "leaseSeconds": self._config.lease_seconds})

    def cancel_requested(self) -> bool:
        return self._cancelled

    def check_cancelled(self) -> None:
        self._raise_if_stopped()
        if self._cancelled:
            raise CancelledByRequest(f"job {self.job_id} was cancelled")

    def stop(self, reason: str) -> None:
        self._stop_reason = reason

    def _raise_if_stopped(self) -> None:
        if self._stop_reason is not None:
            raise AttemptStopped(self._stop_reason)

    def save_artifact(self, name: str, data: bytes | str | Path, content_type: str = "application/octet-stream") -> None:
        """Save a file for the job's readers: ``data`` is bytes, text (UTF-8) or a path to a file.

        Stored under ``jobs/<job id>/<name>`` (saving a name again replaces it); the outcome report
        lists it in ``Job.artifacts`` and ``job(id)`` gives readers a presigned URL to it.
        """
        check_artifact_name(name)
        check_content_type(content_type)
        if self._store is None:
            raise NonRetryableError("this worker has no artifact store configured (JOBS_ARTIFACT_BUCKET)",
                                    error_type="ArtifactStoreMissing")
        if name not in self.saved and len(self.saved) >= MAX_ARTIFACTS:
            raise NonRetryableError(f"a job may save at most {MAX_ARTIFACTS} artifacts", error_type="ValidationError")
        key = artifact_key(self.job_id, name)
        if isinstance(data, Path):
            size = self._store.put_file(key, data, content_type)
        else:
            size = self._store.put_bytes(key, data.encode() if isinstance(data, str) else bytes(data), content_type)
        self.saved[name] = {"name": name, "size": size, "contentType": content_type}

    def open_upload(self, ref: str) -> BinaryIO:
        """A readable stream of a client upload named in the payload (``Upload.ref`` from ``createUpload``).

        submitJob already checked that the reference is the submitter's own and that it exists.
        """
        if self._store is None:
            raise NonRetryableError("this worker has no artifact store configured", error_type="ArtifactStoreMissing")
        return self._store.open(upload_key(ref))
    def _report(self, fields: dict[str, Any]) -> None:
        with self._lock:
            job = self._reporter.update(self.job_id, {"leaseToken": self._token, **fields})
            self.latest = job
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
    artifacts: ArtifactStore | None = None,
) -> Outcome:
    """Run one delivery to an outcome, or raise ``RetryLater`` to have the queue redeliver it.

    ``metrics`` counts ``JobsRetried``; outcomes are counted where they are decided, by ``updateJob``.
    """
    config = config or RunnerConfig()
    metrics = metrics or NullMetrics()
    if delivery.deadline is not None and delivery.deadline <= time.monotonic():
        # Not enough of the invocation left to claim and report: hand the message straight back.
        delivery.extend_visibility(0)
        raise RetryLater(f"job {delivery.job_id}: too little time left in this invocation to start it")
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
        delivery.extend_visibility(config.visibility_timeout_seconds)
        raise RetryLater(f"job {delivery.job_id} is running under another live attempt") from exc
    started = time.monotonic()
    saved: dict[str, dict[str, Any]] = {}

    def finish(fields: dict[str, Any]) -> None:
        if saved:
            fields = {**fields, "artifacts": list(saved.values())}
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

    task_deadline = started + spec.time_limit_seconds
    lambda_first = delivery.deadline is not None and delivery.deadline < task_deadline
    deadline = delivery.deadline if lambda_first and delivery.deadline is not None else task_deadline
    with _RunningTask(job, reporter, token, delivery, config, artifacts) as context:
        saved = context.saved  # the same dict: filled as the task saves
        try:
            result = _run_until(spec.fn, context, deadline, config.stop_grace_seconds)
            fields = _success_fields(context, result, artifacts)
        except AttemptStopped:
            if lambda_first:
                return _hand_back(delivery, token, reporter, time.monotonic() - started)
            finish({"status": "FAILED", "error": {
                "type": "TimedOut",
                "message": f"the task ran past its time limit of {spec.time_limit_seconds} s and was stopped",
            }})
            return Outcome.FAILED
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
    try:
        finish(fields)
    except PayloadTooLarge as exc:
        # The API measured the event over the budget (the job changed since our estimate): put the
        # result in the store and report the pointer; without a store, fail with the API's reason.
        if artifacts is None or fields.get("result") is None:
            finish({"status": "FAILED", "error": {"type": exc.error_type, "message": exc.message}})
            return Outcome.FAILED
        finish({**fields, "result": _offload_result(context, fields["result"], artifacts)})
    return Outcome.SUCCEEDED


def _run_until(fn: Callable[[Any], Any], context: _RunningTask, deadline: float, grace: float) -> Any:
    """Run the task in its own thread and wait for it until ``deadline``.

    Python cannot kill a thread, so stopping is cooperative: past the deadline the task's next
    ``progress``/``check_cancelled`` raises ``AttemptStopped``; after ``grace`` more seconds the
    runner stops waiting and reports anyway (a task that never checks is abandoned in its thread,
    and any late report it makes carries a lease that no longer counts).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn(context)
        except BaseException as exc:  # handed to the runner's thread as is
            box["error"] = exc

    # In a copy of this context, so the task's log lines carry the delivery's job id and correlation id.
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(target,), name=f"task-{context.job_id[:8]}", daemon=True
    )
    thread.start()
    thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        context.stop("the attempt reached its deadline")
        thread.join(timeout=grace)
        if thread.is_alive() or isinstance(box.get("error"), AttemptStopped):
            raise AttemptStopped("the attempt reached its deadline")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def _success_fields(context: _RunningTask, result: Any, artifacts: ArtifactStore | None) -> dict[str, Any]:
    """The SUCCEEDED report, with the result moved to the store if the event would exceed the budget."""
    check_json("result", result, max_bytes=2**62)  # depth and JSON-ability (size is decided below)
    candidate = {**context.latest, "status": "SUCCEEDED", "progress": 100, "result": result,
                 "finishedAt": context.latest.get("updatedAt"),
                 "artifacts": [{**a, "url": None, "expiresAt": None} for a in context.saved.values()]}
    if published_size(dict(candidate)) <= PUBLISH_BUDGET_BYTES:
        return {"status": "SUCCEEDED", "result": result}
    if artifacts is None:
        raise PayloadTooLarge(
            f"the result would publish the job as {published_size(dict(candidate))} bytes (budget "
            f"{PUBLISH_BUDGET_BYTES}) and this worker has no artifact store (JOBS_ARTIFACT_BUCKET)"
        )
    return {"status": "SUCCEEDED", "result": _offload_result(context, result, artifacts)}


def _offload_result(context: _RunningTask, result: Any, artifacts: ArtifactStore) -> dict[str, Any]:
    """Write the result as ``result.json`` (streamed through a temporary file) and return its pointer."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(result, handle, separators=(",", ":"))
        path = Path(handle.name)
    try:
        context.save_artifact(RESULT_ARTIFACT, path, "application/json")
    finally:
        path.unlink(missing_ok=True)
    return result_pointer(int(context.saved[RESULT_ARTIFACT]["size"]))


def _hand_back(delivery: Delivery, token: str, reporter: JobReporter, ran_for: float) -> Outcome:
    """The invocation is about to end before the task could: release the lease and the message now,
    so the next delivery re-claims it at once - instead of Lambda killing the attempt mid-report and
    the message coming back only after its visibility (and, after a few of those, dead-lettered)."""
    try:
        reporter.update(delivery.job_id, {
            "leaseToken": token, "leaseSeconds": 0,
            "message": f"handed back after {ran_for:.0f}s: the worker invocation was ending; retrying",
        })
    except (StaleLease, InvalidTransition) as exc:
        logger.warning("job %s hand-back not recorded (%s)", delivery.job_id, exc)
    delivery.extend_visibility(0)
    logger.warning("job %s handed back before the invocation's end", delivery.job_id)
    raise RetryLater(f"job {delivery.job_id} handed back before the invocation's end")


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
