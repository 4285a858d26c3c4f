"""What the worker's entrypoints need, built once per process (warm Lambdas reuse it)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from jobcore.artifacts import ArtifactStore
from jobcore.errors import JobsError
from jobcore.lazy import Lazy
from jobcore.metrics import Metric, MetricsSink, NullMetrics, record
from jobcore.ports import JobQueue
from jobcore.registry import TaskRegistry
from jobcore.runner import JobReporter, RunnerConfig
from jobcore.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = logging.getLogger("appsync_jobs.worker")

#: The core's stdlib loggers that log about one delivery: they print through the worker's powertools
#: handler, so their lines are JSON and carry the same job id and correlation id.
CORE_LOGGERS = ("appsync_jobs.runner", "appsync_jobs.worker", "appsync_jobs.metrics")


@dataclass
class WorkerDeps:
    reporter: JobReporter
    registry: TaskRegistry
    settings: Settings
    #: The queue a record came from, by its ``eventSourceARN`` (for visibility heartbeats).
    queue_for: Callable[[str], JobQueue]
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    #: JobsRetried, JobsDeadLettered and FailedRecords go here (``jobcore.metrics``).
    metrics: MetricsSink = field(default_factory=NullMetrics)
    #: Where the dead-letter consumer copies each dead letter before failing its job (None: no copy).
    archive: JobQueue | None = None
    #: Where tasks save artifacts and large results go (S3 / the local data directory).
    artifacts: ArtifactStore | None = None

    def visibility_extender(self, event_source_arn: str, receipt_handle: str) -> Callable[[int], None]:
        queue = self.queue_for(event_source_arn)

        def extend(seconds: int) -> None:
            try:
                queue.change_visibility(receipt_handle, seconds)
            except JobsError as exc:  # the message is no longer ours to hide; the lease still rules
                logger.warning("could not extend visibility: %s", exc)

        return extend


def _build_deps() -> WorkerDeps:
    """What this Lambda's environment (``JOBS_*``) describes, built on the first invocation."""
    import functools

    from jobcore.bootstrap import (
        artifact_store_from_settings,
        dead_letter_archive,
        metrics_from_settings,
        queue_for_visibility,
        reporter_from_settings,
    )
    from worker.tasks import load_registry

    settings = Settings.from_env()
    registry = load_registry(settings.task_modules)
    registry.check_routes(settings.lambda_budget_seconds)
    return WorkerDeps(
        reporter=reporter_from_settings(settings),
        registry=registry,
        settings=settings,
        queue_for=functools.cache(lambda arn: queue_for_visibility(settings, arn)),
        runner=RunnerConfig.from_settings(settings),
        metrics=metrics_from_settings(settings),
        archive=dead_letter_archive(settings),
        artifacts=artifact_store_from_settings(settings),
    )


#: ``deps()`` for the entrypoints; ``configure(...)`` injects (the local runtime, tests), ``reset()``
#: forgets (tests).
deps: Lazy[WorkerDeps] = Lazy(_build_deps)
configure = deps.configure
reset = deps.reset


def share_log_format(source: Logger) -> None:
    """Print the core's delivery loggers through ``source``'s handler (JSON, with its keys)."""
    for name in CORE_LOGGERS:
        core = logging.getLogger(name)
        core.handlers = list(source.handlers)
        core.setLevel(source.log_level)
        core.propagate = False


@contextlib.contextmanager
def delivery_log_keys(source: Logger, **keys: str) -> Iterator[None]:
    """``job_id``/``correlation_id`` on every line logged while one record is handled.

    Thread-safe keys (a contextvar), not ``append_keys``: the local runtime handles several records
    at once in threads, and one record's ids must not leak onto another's lines.
    """
    source.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        source.thread_safe_remove_keys(keys)


_processors = threading.local()


def batch_processor() -> BatchProcessor:
    """A BatchProcessor per thread: it keeps per-batch state, and the local runtime runs several
    batches at once in threads (in Lambda there is one thread, so this is one processor)."""
    processor: BatchProcessor | None = getattr(_processors, "processor", None)
    if processor is None:
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        _processors.processor = processor
    return processor


def handle_batch(event: dict[str, Any], context: LambdaContext, handler: Callable[..., Any], log: Logger) -> dict[str, Any]:
    """Process one SQS batch with partial failures, count the records handed back (``FailedRecords``,
    the alarm's source: Lambda's ``Errors`` never sees them) and publish the invocation's metrics."""
    worker = deps()
    try:
        response: dict[str, Any] = dict(process_partial_response(
            event=event, record_handler=handler, processor=batch_processor(), context=context
        ))
        failures = len(response.get("batchItemFailures") or [])
        record(worker.metrics, Metric.FAILED_RECORDS, failures)
        if failures:
            log.warning("records handed back to the queue", extra={"failed_records": failures})
        return response
    finally:
        worker.metrics.flush()
