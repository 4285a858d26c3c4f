"""The dead-letter consumer keeps a redrivable copy of every dead letter before failing its job, and
counts what the alarms watch: JobsDeadLettered and FailedRecords (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import worker.dlq as dlq
from jobcore import service
from jobcore.adapters.sqlite import SqliteJobQueue
from jobcore.auth import API_KEY_CALLER
from jobcore.domain.job import JobStatus
from jobcore.errors import QueueError
from jobcore.metrics import InMemoryMetrics, Metric
from jobcore.redrive import redrive
from jobcore.runner import RunnerConfig
from jobcore.service import Services
from jobcore.settings import Settings
from support.events import CONTEXT, sqs_event
from support.services import Clock, DirectReporter, sqlite_services
from worker.deps import WorkerDeps, configure
from worker.tasks import load_registry

DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:appsync-jobs-dev-jobs-dlq"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class _BrokenQueue(SqliteJobQueue):
    def _send(self, body: str, delay_seconds: int, attributes: dict[str, str], trace_header: str | None) -> str:
        raise QueueError("archive unavailable")


@pytest.fixture
def metrics() -> InMemoryMetrics:
    return InMemoryMetrics()


@pytest.fixture
def services(tmp_path: Path, metrics: InMemoryMetrics) -> Services:
    services = sqlite_services(tmp_path, load_registry(["support.tasks"]))
    services.metrics = metrics  # updateJob's outcomes land in the same sink
    return services


@pytest.fixture
def archive(services: Services) -> SqliteJobQueue:
    return SqliteJobQueue(services.queue.db, "jobs-dlq-archive")  # type: ignore[attr-defined]


@pytest.fixture
def worker(services: Services, archive: SqliteJobQueue, metrics: InMemoryMetrics) -> Iterator[WorkerDeps]:
    deps = WorkerDeps(
        reporter=DirectReporter(services),
        registry=services.registry,
        settings=Settings(backend="local", region="us-east-1"),
        queue_for=lambda arn: archive,
        runner=RunnerConfig(lease_seconds=30),
        metrics=metrics,
        archive=archive,
    )
    configure(deps)
    yield deps
    import worker.deps

    worker.deps.reset()


def dead_letter(job_id: str, receive_count: int = 4) -> dict[str, Any]:
    event = sqs_event(job_id, receive_count=receive_count)
    record = event["Records"][0]
    record["eventSourceARN"] = DLQ_ARN
    record["attributes"]["AWSTraceHeader"] = TRACE
    # Sent when the job was queued (the test clock's now), as the job's own message is.
    record["attributes"]["SentTimestamp"] = str(int(Clock().now.timestamp() * 1000))
    return event


def test_a_dead_letter_is_archived_then_its_job_failed(
    services: Services, worker: WorkerDeps, archive: SqliteJobQueue, metrics: InMemoryMetrics
) -> None:
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    event = dead_letter(job_id)
    assert dlq.lambda_handler(event, CONTEXT) == {"batchItemFailures": []}  # type: ignore[arg-type]

    [copy] = archive.receive(1)
    assert copy.body == event["Records"][0]["body"]  # unchanged: redrivable as it is
    assert copy.trace_header == TRACE
    assert copy.attributes["jobId"] == job_id
    assert copy.attributes["originalMessageId"] == event["Records"][0]["messageId"]
    assert copy.attributes["deadLetterQueueArn"] == DLQ_ARN
    assert copy.attributes["receiveCount"] == "4"
    assert copy.attributes["originalSentTimestamp"] == event["Records"][0]["attributes"]["SentTimestamp"]
    assert copy.attributes["deadLetteredAt"].endswith("Z")
    job = services.store.get(job_id)
    assert job is not None and job.status is JobStatus.FAILED and job.error is not None
    assert job.error.type == "DeadLettered"
    counts = metrics.counts()
    assert (counts[Metric.JOBS_DEAD_LETTERED], counts[Metric.JOBS_FAILED], counts[Metric.FAILED_RECORDS]) == (1, 1, 0)


def test_a_job_already_failed_is_archived_and_counted_not_failed_twice(
    services: Services, worker: WorkerDeps, archive: SqliteJobQueue, metrics: InMemoryMetrics
) -> None:
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    DirectReporter(services).update(job_id, {"status": "FAILED", "error": {"type": "TaskError", "message": "boom"}})
    assert dlq.lambda_handler(dead_letter(job_id), CONTEXT) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert archive.depth() == 1
    job = services.store.get(job_id)
    assert job is not None and job.error is not None and job.error.type == "TaskError"  # the real error stays
    assert metrics.counts()[Metric.JOBS_DEAD_LETTERED] == 1
    assert metrics.counts()[Metric.JOBS_FAILED] == 1


def test_without_an_archive_copy_the_record_fails_and_the_job_is_untouched(
    services: Services, worker: WorkerDeps, metrics: InMemoryMetrics
) -> None:
    worker.archive = _BrokenQueue(services.queue.db, "broken")  # type: ignore[attr-defined]
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    answer = dlq.lambda_handler(dead_letter(job_id), CONTEXT)  # type: ignore[arg-type]
    assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == ["message-0"]  # stays in the DLQ
    job = services.store.get(job_id)
    assert job is not None and job.status is JobStatus.PENDING
    assert metrics.counts()[Metric.FAILED_RECORDS] == 1  # what the alarm watches
    assert metrics.counts()[Metric.JOBS_DEAD_LETTERED] == 0


def test_archived_messages_can_be_redriven_to_the_job_queue(
    services: Services, worker: WorkerDeps, archive: SqliteJobQueue
) -> None:
    ids = [service.submit_job(services, API_KEY_CALLER, "echo", n).id for n in range(3)]
    for job_id in ids:
        dlq.lambda_handler(dead_letter(job_id), CONTEXT)  # type: ignore[arg-type]
    main: SqliteJobQueue = services.queue  # type: ignore[assignment]
    for message in main.receive(10):  # drop the submit messages: only redriven ones remain
        main.delete(message.receipt_handle)

    moved = redrive(archive, main, limit=2)
    assert len(moved) == 2 and archive.depth() == 1
    assert len(redrive(archive, main)) == 1 and archive.depth() == 0
    redriven = main.receive(10)
    assert sorted(json.loads(m.body)["jobId"] for m in redriven) == sorted(ids)
    assert {m.trace_header for m in redriven} == {TRACE}


def test_without_an_archive_the_consumer_says_nothing_is_kept_and_still_fails_the_job(
    services: Services, worker: WorkerDeps, caplog: pytest.LogCaptureFixture
) -> None:
    worker.archive = None
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    assert dlq.lambda_handler(dead_letter(job_id), CONTEXT) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert "no dead-letter archive configured" in caplog.text
    job = services.store.get(job_id)
    assert job is not None and job.status is JobStatus.FAILED
