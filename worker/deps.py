"""What the worker's entrypoints need, built once per process (warm Lambdas reuse it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from jobcore.artifacts import ArtifactStore
from jobcore.errors import JobsError
from jobcore.ports import JobQueue
from jobcore.registry import TaskRegistry
from jobcore.runner import JobReporter, RunnerConfig
from jobcore.settings import Settings

logger = logging.getLogger("appsync_jobs.worker")


@dataclass
class WorkerDeps:
    reporter: JobReporter
    registry: TaskRegistry
    settings: Settings
    #: The queue a record came from, by its ``eventSourceARN`` (for visibility heartbeats).
    queue_for: Callable[[str], JobQueue]
    runner: RunnerConfig = field(default_factory=RunnerConfig)
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


_deps: WorkerDeps | None = None


def configure(deps: WorkerDeps) -> None:
    """Inject dependencies (the local runtime and tests) instead of building them from the environment."""
    global _deps
    _deps = deps


def deps() -> WorkerDeps:
    global _deps
    if _deps is None:
        import functools

        from jobcore.bootstrap import artifact_store_from_settings, queue_for_visibility, reporter_from_settings
        from worker.tasks import load_registry

        settings = Settings.from_env()
        registry = load_registry(settings.task_modules)
        registry.check_routes(settings.lambda_budget_seconds)
        _deps = WorkerDeps(
            reporter=reporter_from_settings(settings),
            registry=registry,
            settings=settings,
            queue_for=functools.cache(lambda arn: queue_for_visibility(settings, arn)),
            runner=RunnerConfig.from_settings(settings),
            artifacts=artifact_store_from_settings(settings),
        )
    return _deps


_processors = threading.local()


def batch_processor() -> BatchProcessor:
    """A BatchProcessor per thread: it keeps per-batch state, and the local runtime runs several
    batches at once in threads (in Lambda there is one thread, so this is one processor)."""
    processor: BatchProcessor | None = getattr(_processors, "processor", None)
    if processor is None:
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        _processors.processor = processor
    return processor
