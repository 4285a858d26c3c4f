"""The worker Lambda, fed SQS events: outcomes through updateJob, partial batch failures, distrust of the queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import worker.handler as handler
from jobcore import service
from jobcore.auth import API_KEY_CALLER
from jobcore.domain.job import JobStatus
from jobcore.runner import RunnerConfig
from jobcore.service import Services
from jobcore.settings import Settings
from support.events import CONTEXT, sqs_event
from support.services import DirectReporter, sqlite_services
from worker.deps import WorkerDeps, configure
from worker.tasks import load_registry


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = sqlite_services(tmp_path, load_registry(["support.tasks"]))
    return services


@pytest.fixture
def reporter(services: Services) -> Iterator[DirectReporter]:
    reporter = DirectReporter(services)
    extended: list[int] = []
    configure(
        WorkerDeps(
            reporter=reporter,
            registry=services.registry,
            settings=Settings(backend="local", region="us-east-1", max_receive_count=3),
            queue_for=lambda arn: _VisibilityRecorder(extended),  # type: ignore[arg-type,return-value]
            runner=RunnerConfig(lease_seconds=30),
        )
    )
    yield reporter
    import worker.deps

    worker.deps.reset()


class _VisibilityRecorder:
    def __init__(self, seen: list[int]) -> None:
        self.seen = seen

    def change_visibility(self, receipt: str, seconds: int) -> None:
        self.seen.append(seconds)


def submit(services: Services, job_type: str, payload: Any = None) -> str:
    return service.submit_job(services, API_KEY_CALLER, job_type, payload).id


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return handler.lambda_handler(event, CONTEXT)  # type: ignore[arg-type]


def test_runs_the_task_and_records_success(services: Services, reporter: DirectReporter) -> None:
    job_id = submit(services, "echo", {"x": 1})
    assert invoke(sqs_event(job_id)) == {"batchItemFailures": []}
    job = services.store.get(job_id)
    assert job is not None
    assert (job.status, job.result, job.attempts) == (JobStatus.SUCCEEDED, {"x": 1}, 1)
    assert [c.get("status") for c in reporter.calls] == ["RUNNING", "SUCCEEDED"]


def test_progress_is_reported_while_running(services: Services, reporter: DirectReporter) -> None:
    job_id = submit(services, "report", {"limit": 50_000})
    invoke(sqs_event(job_id))
    job = services.store.get(job_id)
    assert job is not None
    assert job.status is JobStatus.SUCCEEDED
    assert job.result == {"limit": 50_000, "primes": 5133, "largest": 49999}
    assert any(c.get("progress") for c in reporter.calls if c.get("status") is None)


def test_a_failing_record_fails_alone_in_its_batch(services: Services, reporter: DirectReporter) -> None:
    good = submit(services, "echo", "fine")
    flaky = submit(services, "test-flaky", {"succeed_on_attempt": 5})
    response = invoke(sqs_event(good, flaky))
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert services.store.get(good).status is JobStatus.SUCCEEDED  # type: ignore[union-attr]
    failing = services.store.get(flaky)
    assert failing is not None
    assert failing.status is JobStatus.RUNNING
    assert "retrying" in (failing.message or "")


def test_last_allowed_attempt_records_the_real_error(services: Services, reporter: DirectReporter) -> None:
    job_id = submit(services, "test-flaky", {})
    response = invoke(sqs_event(job_id, receive_count=3))
    assert response["batchItemFailures"]  # the message still goes on to the dead-letter queue
    job = services.store.get(job_id)
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert (job.error.type, job.error.message) == ("TaskError", "RuntimeError: flaky attempt 1")


def test_non_retryable_errors_fail_at_once(services: Services, reporter: DirectReporter) -> None:
    job_id = submit(services, "fail", {"message": "bad input"})
    assert invoke(sqs_event(job_id)) == {"batchItemFailures": []}
    job = services.store.get(job_id)
    assert job is not None
    assert job.error is not None
    assert (job.error.type, job.error.message) == ("DemoFailure", "bad input")


def test_a_finished_job_redelivered_is_acknowledged_and_not_rerun(services: Services, reporter: DirectReporter) -> None:
    job_id = submit(services, "echo", 7)
    invoke(sqs_event(job_id))
    calls = len(reporter.calls)
    assert invoke(sqs_event(job_id)) == {"batchItemFailures": []}
    job = services.store.get(job_id)
    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert len(reporter.calls) == calls + 1  # only the refused claim


def test_a_cancelled_job_is_skipped(services: Services, reporter: DirectReporter) -> None:
    job_id = submit(services, "echo", 1)
    service.cancel_job(services, API_KEY_CALLER, job_id)
    assert invoke(sqs_event(job_id)) == {"batchItemFailures": []}
    assert services.store.get(job_id).status is JobStatus.CANCELLED  # type: ignore[union-attr]


def test_a_malformed_message_is_dropped_not_retried(services: Services, reporter: DirectReporter) -> None:
    event = sqs_event("x")
    event["Records"][0]["body"] = "not json"
    assert invoke(event) == {"batchItemFailures": []}
    assert reporter.calls == []
