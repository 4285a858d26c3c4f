"""A retried job is not failed by a dead letter of its earlier attempt.

The last failed delivery of a task leaves its message to be dead-lettered (for forensics) after the job
is already FAILED, and a user may retry in between. The dead-letter handler's verdict carries the
message's SentTimestamp (SQS keeps it across a redrive), and a job queued again after that message
was sent is not judged by it; a dead letter of the retried attempt's own message still fails it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import worker.deps
import worker.dlq as dlq
from jobcore import service
from jobcore.auth import API_KEY_CALLER
from jobcore.domain.job import JobStatus
from jobcore.runner import RunnerConfig
from jobcore.service import Services
from jobcore.settings import Settings
from support.events import CONTEXT, sqs_event
from support.services import Clock, DirectReporter, sqlite_services
from worker.tasks import load_registry


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(tmp_path: Path, clock: Clock) -> Iterator[Services]:
    services = sqlite_services(tmp_path, load_registry(), clock)
    worker.deps.configure(
        worker.deps.WorkerDeps(
            reporter=DirectReporter(services),
            registry=services.registry,
            settings=Settings(backend="local", region="us-east-1"),
            queue_for=lambda arn: None,  # type: ignore[arg-type,return-value]
            runner=RunnerConfig(lease_seconds=30),
        )
    )
    yield services
    worker.deps.reset()


def dead_letter(job_id: str, sent_at: datetime) -> dict[str, Any]:
    event = sqs_event(job_id, receive_count=4)
    event["Records"][0]["attributes"]["SentTimestamp"] = str(int(sent_at.timestamp() * 1000))
    return dlq.lambda_handler(event, CONTEXT)  # type: ignore[arg-type]


def failed_job(services: Services, clock: Clock) -> tuple[str, datetime]:
    submitted_at = clock()
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    clock.advance(5)
    DirectReporter(services).update(job_id, {"status": "FAILED", "error": {"type": "TaskError", "message": "boom"}})
    return job_id, submitted_at


def test_a_dead_letter_from_before_the_retry_leaves_the_retried_job_alone(services: Services, clock: Clock) -> None:
    job_id, first_message_sent = failed_job(services, clock)
    clock.advance(10)
    retried = service.retry_job(services, API_KEY_CALLER, job_id)

    assert dead_letter(job_id, first_message_sent) == {"batchItemFailures": []}  # acknowledged, skipped

    assert services.store.get(job_id) == retried
    assert retried.status is JobStatus.PENDING


def test_a_dead_letter_of_the_retried_attempts_own_message_still_fails_it(services: Services, clock: Clock) -> None:
    job_id, _ = failed_job(services, clock)
    clock.advance(10)
    service.retry_job(services, API_KEY_CALLER, job_id)
    retry_message_sent = clock()  # its message is sent right after the retry is written
    clock.advance(600)

    assert dead_letter(job_id, retry_message_sent) == {"batchItemFailures": []}

    job = services.store.get(job_id)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.error is not None and job.error.type == "DeadLettered"


def test_a_never_retried_job_is_failed_by_its_dead_letter(services: Services, clock: Clock) -> None:
    sent = clock()
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    clock.advance(600)
    dead_letter(job_id, sent)
    job = services.store.get(job_id)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.error is not None and job.error.type == "DeadLettered"


def test_a_malformed_sent_time_is_a_validation_error(services: Services, clock: Clock) -> None:
    from jobcore.errors import ValidationError

    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    with pytest.raises(ValidationError):
        DirectReporter(services).update(job_id, {"status": "FAILED", "error": {"type": "x", "message": "y"},
                                                 "messageSentAt": "not a time"})
