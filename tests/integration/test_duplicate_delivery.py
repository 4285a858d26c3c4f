"""The same SQS record delivered twice - at once and one after the other - runs its task once and never
moves the job backwards; on the SQLite store and on DynamoDB (moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import worker.deps
import worker.handler as handler
from jobcore import service
from jobcore.adapters.dynamodb import DynamoDbJobStore
from jobcore.adapters.sqs import SqsJobQueue
from jobcore.auth import API_KEY_CALLER
from jobcore.domain.job import JobStatus
from jobcore.runner import RunnerConfig
from jobcore.service import Services
from jobcore.settings import Settings
from support import tasks
from support.aws import create_jobs_table
from support.events import CONTEXT, sqs_event
from support.services import DirectReporter, sqlite_services
from worker.tasks import load_registry


class _NoVisibility:
    def change_visibility(self, receipt: str, seconds: int) -> None:
        pass


@pytest.fixture(params=["sqlite", "dynamodb"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    registry = load_registry(["support.tasks"])
    if request.param == "sqlite":
        built = sqlite_services(tmp_path, registry)
        yield _wired(built)
    else:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            sqs = boto3.client("sqs", region_name="us-east-1")
            queue_url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
            built = Services(
                store=DynamoDbJobStore(dynamodb, create_jobs_table(dynamodb)),
                queue=SqsJobQueue(sqs, queue_url),
                registry=registry,
            )
            yield _wired(built)
    worker.deps.reset()


def _wired(services: Services) -> Services:
    worker.deps.configure(
        worker.deps.WorkerDeps(
            reporter=DirectReporter(services),
            registry=services.registry,
            settings=Settings(backend="local", region="us-east-1"),
            queue_for=lambda arn: _NoVisibility(),  # type: ignore[arg-type,return-value]
            runner=RunnerConfig(lease_seconds=30),
        )
    )
    return services


def submit(services: Services) -> str:
    job_id = service.submit_job(services, API_KEY_CALLER, "test-count", {"seconds": 0.3}).id
    tasks.EXECUTIONS.clear()
    return job_id


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    return handler.lambda_handler(event, CONTEXT)  # type: ignore[arg-type]


def test_sequential_redelivery_runs_once(services: Services) -> None:
    job_id = submit(services)
    first = deliver(sqs_event(job_id))
    done = services.store.get(job_id)
    second = deliver(sqs_event(job_id, receive_count=2))
    assert first == second == {"batchItemFailures": []}  # the duplicate is acknowledged, not retried
    assert [job_id] == tasks.EXECUTIONS
    assert services.store.get(job_id) == done  # untouched: SUCCEEDED stays SUCCEEDED, same version
    assert done is not None and (done.status, done.attempts) == (JobStatus.SUCCEEDED, 1)


def test_concurrent_duplicates_run_once(services: Services) -> None:
    job_id = submit(services)
    barrier = threading.Barrier(2)
    responses: list[dict[str, Any]] = []

    def run() -> None:
        barrier.wait()
        responses.append(deliver(sqs_event(job_id)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [job_id] == tasks.EXECUTIONS
    job = services.store.get(job_id)
    assert job is not None and (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    # The loser either saw a live lease (handed back to the queue, to be acknowledged later) or a finished job.
    failures = [r["batchItemFailures"] for r in responses]
    assert sorted(len(f) for f in failures) in ([0, 0], [0, 1])
    # And when the handed-back copy comes round again, nothing runs.
    assert deliver(sqs_event(job_id, receive_count=2)) == {"batchItemFailures": []}
    assert [job_id] == tasks.EXECUTIONS
