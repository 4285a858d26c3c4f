"""Issue 11 through the worker Lambda's handler and the long worker's loop: hand-back before the
invocation ends, TimedOut (not DeadLettered) at a task's limit, large results to the artifact store,
and routing to the long queue."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import worker.deps
import worker.handler as handler
from devserver.graphql.lambda_invoke import InvocationContext
from jobcore import service
from jobcore.adapters.local_artifacts import LocalArtifactStore
from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue, SqliteJobStore
from jobcore.artifacts import RESULT_POINTER_KEY, artifact_key
from jobcore.auth import API_KEY_CALLER
from jobcore.domain.job import JobStatus
from jobcore.errors import PayloadTooLarge, ValidationError
from jobcore.limits import PUBLISH_BUDGET_BYTES, published_size
from jobcore.runner import RunnerConfig
from jobcore.service import Services
from jobcore.settings import Settings
from jobcore.wire import job_to_graphql
from support.events import sqs_event
from support.services import DirectReporter
from worker.deps import WorkerDeps, configure
from worker.long_worker import serve
from worker.tasks import load_registry


@dataclass
class Backend:
    services: Services
    queue: SqliteJobQueue
    long_queue: SqliteJobQueue
    artifacts: LocalArtifactStore
    reporter: DirectReporter


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    db = SqliteDatabase(tmp_path / "jobs.sqlite3")
    dlq = SqliteJobQueue(db, "jobs-dlq")
    queue = SqliteJobQueue(db, "jobs", dead_letter=dlq, max_receive_count=3)
    long_queue = SqliteJobQueue(db, "jobs-long", dead_letter=dlq, max_receive_count=3)
    artifacts = LocalArtifactStore(tmp_path)
    services = Services(store=SqliteJobStore(db), queue=queue, registry=load_registry(["support.tasks"]),
                        long_queue=long_queue, lambda_budget_seconds=870, artifacts=artifacts)
    reporter = DirectReporter(services)
    configure(WorkerDeps(
        reporter=reporter, registry=services.registry,
        settings=Settings(backend="local", region="us-east-1", max_receive_count=3, handback_margin_seconds=1),
        queue_for=lambda arn: queue, runner=RunnerConfig(lease_seconds=30, stop_grace_seconds=0.5),
        artifacts=artifacts,
    ))
    yield Backend(services, queue, long_queue, artifacts, reporter)
    worker.deps.reset()
    db.close()


def _deliver(backend: Backend, job_id: str, *, seconds_left: float, receive_count: int = 1) -> dict[str, object]:
    messages = backend.queue.receive(1)
    assert messages, "the job's message is queued"
    event = sqs_event(job_id, receive_count=receive_count)
    event["Records"][0]["receiptHandle"] = messages[0].receipt_handle
    return handler.lambda_handler(event, InvocationContext(function_name="worker", deadline=time.monotonic() + seconds_left))  # type: ignore[arg-type]


def _submit(backend: Backend, job_type: str, payload: object = None) -> str:
    return service.submit_job(backend.services, API_KEY_CALLER, job_type, payload).id


def test_an_attempt_is_handed_back_before_the_invocation_ends(backend: Backend) -> None:
    job_id = _submit(backend, "test-slow", {"seconds": 30, "steps": 300})
    started = time.monotonic()
    answer = _deliver(backend, job_id, seconds_left=2.5)  # 1 s margin: stop at ~1.5 s
    assert time.monotonic() - started < 2.5, "reported before the invocation's end"
    assert [f["itemIdentifier"] for f in answer["batchItemFailures"]]  # type: ignore[index]
    job = backend.services.store.get(job_id)
    assert job is not None and job.status is JobStatus.RUNNING
    assert job.lease_expires_at is not None and job.lease_expires_at <= backend.services.clock()  # released
    assert "handed back" in (job.message or "")
    # The message is visible again at once: the next delivery re-claims the job as a new attempt.
    assert backend.queue.receive(1)


def test_a_lambda_task_that_outruns_its_limit_ends_timed_out_not_dead_lettered(backend: Backend) -> None:
    job_id = _submit(backend, "test-overrun")
    answer = _deliver(backend, job_id, seconds_left=60)
    assert answer["batchItemFailures"] == []  # finished: the message is deleted, never dead-lettered
    job = backend.services.store.get(job_id)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.error is not None and job.error.type == "TimedOut"
    assert "time limit of 1 s" in job.error.message


def test_a_task_that_never_checks_in_is_still_stopped_at_its_limit(backend: Backend) -> None:
    job_id = _submit(backend, "test-stubborn", {"seconds": 5})
    started = time.monotonic()
    _deliver(backend, job_id, seconds_left=60)
    assert time.monotonic() - started < 4  # limit 1 s + grace 0.5 s, not the task's 5 s
    job = backend.services.store.get(job_id)
    assert job is not None and job.error is not None and job.error.type == "TimedOut"


def test_a_result_over_the_budget_goes_to_the_artifact_store(backend: Backend) -> None:
    # A payload near its cap and a result that would publish the job over AppSync's limit.
    payload = {"bytes": 400_000, "pad": '"' * 20_000}
    job_id = _submit(backend, "test-big-result", payload)
    _deliver(backend, job_id, seconds_left=60)
    job = backend.services.store.get(job_id)
    assert job is not None and job.status is JobStatus.SUCCEEDED, job
    assert job.result == {RESULT_POINTER_KEY: "result.json", "size": job.artifacts[0].size}
    assert [(a.name, a.content_type) for a in job.artifacts] == [("result.json", "application/json")]
    assert published_size(dict(job_to_graphql(job))) <= PUBLISH_BUDGET_BYTES
    with backend.artifacts.open(artifact_key(job_id, "result.json")) as stream:
        assert len(json.load(stream)["text"]) == 400_000


def test_a_small_result_stays_inline(backend: Backend) -> None:
    job_id = _submit(backend, "test-big-result", {"bytes": 1000})
    _deliver(backend, job_id, seconds_left=60)
    job = backend.services.store.get(job_id)
    assert job is not None and job.status is JobStatus.SUCCEEDED
    assert len(job.result["text"]) == 1000 and job.artifacts == ()


def test_the_api_refuses_an_update_that_would_publish_over_the_budget(backend: Backend) -> None:
    job_id = _submit(backend, "echo", {"pad": '"' * 24_000})  # ~96 KB as published
    backend.reporter.update(job_id, {"leaseToken": "t", "status": "RUNNING", "leaseSeconds": 30})
    with pytest.raises(PayloadTooLarge):
        backend.reporter.update(job_id, {"leaseToken": "t", "status": "SUCCEEDED", "result": {"r": '"' * 40_000}})
    job = backend.services.store.get(job_id)
    assert job is not None and job.status is JobStatus.RUNNING  # nothing changed


def test_long_tasks_are_routed_to_the_long_queue(backend: Backend) -> None:
    job_id = _submit(backend, "test-long", {"seconds": 0.2, "steps": 2})
    assert backend.queue.depth() == 0 and backend.long_queue.depth() == 1
    job = backend.services.store.get(job_id)
    assert job is not None
    service.requeue(backend.services, job)  # the reaper's path routes the same way
    assert backend.queue.depth() == 0 and backend.long_queue.depth() == 2


def test_without_a_long_queue_a_long_task_is_refused_at_submit(backend: Backend) -> None:
    services = dataclasses.replace(backend.services, long_queue=None)
    with pytest.raises(ValidationError, match="long-task worker"):
        service.submit_job(services, API_KEY_CALLER, "test-long", {})
    assert backend.queue.depth() == 0


def test_the_long_worker_loop_runs_a_job_past_the_lambda_budget(backend: Backend) -> None:
    backend.services.lambda_budget_seconds = 1  # the Lambda worker could give it 1 s; it needs longer
    job_id = _submit(backend, "test-slow", {"seconds": 1.5, "steps": 3})
    assert backend.long_queue.depth() == 1
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(backend.long_queue, worker.deps.deps(), stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            job = backend.services.store.get(job_id)
            if job is not None and job.is_terminal:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
    job = backend.services.store.get(job_id)
    assert job is not None and job.status is JobStatus.SUCCEEDED
    progress = [c.get("progress") for c in backend.reporter.calls if c.get("progress") is not None]
    assert progress[-1] == 100 and len(progress) >= 2
    assert backend.long_queue.depth() == 0


def test_an_upload_reference_of_another_owner_is_refused(backend: Backend) -> None:
    from jobcore.auth import AuthMode, Caller

    alice, bob = Caller(AuthMode.AMAZON_COGNITO_USER_POOLS, "alice"), Caller(AuthMode.AMAZON_COGNITO_USER_POOLS, "bob")
    ref, _ = service.create_upload(backend.services, alice, "text/plain", 5)
    from jobcore.artifacts import upload_key

    backend.artifacts.put_bytes(upload_key(ref), b"hello", "text/plain")
    with pytest.raises(ValidationError, match="not found"):
        service.submit_job(backend.services, bob, "test-read-upload", {"input": ref})
    job = service.submit_job(backend.services, alice, "test-read-upload", {"input": ref})
    assert job.payload == {"input": ref}


def test_a_task_that_swallows_exceptions_is_still_stopped_at_its_limit(backend: Backend) -> None:
    job_id = _submit(backend, "test-swallow")
    started = time.monotonic()
    _deliver(backend, job_id, seconds_left=60)
    assert time.monotonic() - started < 4
    job = backend.services.store.get(job_id)
    assert job is not None and job.error is not None and job.error.type == "TimedOut"
