"""Log lines carry the right job id and correlation id, even with records handled at once in threads
(as the local runtime does), and metrics never fail the work they describe."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import resolvers.handler as resolvers
import worker.handler as handler
from jobcore import service
from jobcore.auth import API_KEY_CALLER
from jobcore.metrics import Metric
from jobcore.runner import RunnerConfig
from jobcore.service import Services
from jobcore.settings import Settings
from jobcore.tracing import trace_context
from support.events import CONTEXT, appsync_event, sqs_event
from support.services import DirectReporter, sqlite_services
from worker.deps import WorkerDeps, configure
from worker.tasks import load_registry


class Lines(logging.Handler):
    """Collects what a powertools logger prints, formatted by its own formatter."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[dict[str, Any]] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._guard:
            self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return sqlite_services(tmp_path, load_registry(["support.tasks"]))


@pytest.fixture
def worker_lines(services: Services) -> Iterator[Lines]:
    configure(WorkerDeps(
        reporter=DirectReporter(services), registry=services.registry, settings=Settings(backend="local", region="us-east-1"),
        queue_for=lambda arn: services.queue, runner=RunnerConfig(lease_seconds=30),
    ))
    lines = Lines(handler.logger.registered_formatter)
    targets = [logging.getLogger(handler.logger.name), logging.getLogger("appsync_jobs.runner")]
    levels = [t.level for t in targets]
    for target in targets:
        target.addHandler(lines)
        target.setLevel(logging.DEBUG)
    yield lines
    for target, level in zip(targets, levels, strict=True):
        target.removeHandler(lines)
        target.setLevel(level)
    import worker.deps

    worker.deps.reset()


def test_records_handled_at_once_keep_their_own_ids(services: Services, worker_lines: Lines) -> None:
    ids = [service.submit_job(services, API_KEY_CALLER, "test-count", {"seconds": 0.3}).id for _ in range(2)]
    barrier = threading.Barrier(2)
    events = []
    for n, job_id in enumerate(ids):
        event = sqs_event(job_id)
        event["Records"][0]["messageId"] = f"message-for-{n}"
        events.append(event)

    def deliver(event: dict[str, Any]) -> None:
        barrier.wait()
        handler.lambda_handler(event, CONTEXT)

    threads = [threading.Thread(target=deliver, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    about = {job_id: [line for line in worker_lines.lines if line.get("job_id") == job_id] for job_id in ids}
    for n, job_id in enumerate(ids):
        assert {line["message"] for line in about[job_id]} >= {"delivery received", "delivery done"}
        assert {line["correlation_id"] for line in about[job_id]} == {f"message-for-{n}"}
    assert all("job_id" in line for line in worker_lines.lines)  # no line of a delivery without its job


def test_the_resolvers_use_the_request_trace_id_else_the_lambda_request_id(services: Services) -> None:
    resolvers.configure(services)
    lines = Lines(resolvers.logger.registered_formatter)
    target = logging.getLogger(resolvers.logger.name)
    level = target.level
    target.addHandler(lines)
    target.setLevel(logging.DEBUG)
    try:
        job = resolvers.lambda_handler(appsync_event("Mutation", "submitJob", {"input": {"type": "echo", "payload": 1}}), CONTEXT)
        event = appsync_event("Query", "job", {"id": job["id"]})
        # What Lambda exposes as _X_AMZN_TRACE_ID when AppSync (X-Ray on) invokes it.
        with trace_context("Root=1-6750f0a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"):
            resolvers.lambda_handler(event, CONTEXT)
    finally:
        target.removeHandler(lines)
        target.setLevel(level)
        resolvers.reset()
    submitted = next(line for line in lines.lines if line["message"] == "job submitted")
    assert submitted["job_id"] == job["id"]
    assert submitted["correlation_id"] == CONTEXT.aws_request_id  # no trace header when it ran
    queried = [line for line in lines.lines if line.get("field") == "Query.job"]
    assert queried and queried[0]["correlation_id"] == "1-6750f0a1-0123456789abcdef01234567"
    assert queried[0]["job_id"] == job["id"]


def test_a_failing_metrics_sink_never_fails_the_work(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def count(self, name: Metric, value: int = 1) -> None:
            raise RuntimeError("metrics backend down")

        def duration_ms(self, name: Metric, value: float, *, task_type: str) -> None:
            raise RuntimeError("metrics backend down")

        def flush(self) -> None:
            return None

    services.metrics = Broken()
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    DirectReporter(services).update(job_id, {"leaseToken": "t", "status": "RUNNING", "leaseSeconds": 30})
    done = DirectReporter(services).update(job_id, {"leaseToken": "t", "status": "SUCCEEDED", "result": 1})
    assert done["status"] == "SUCCEEDED"
    assert "could not record" in caplog.text
