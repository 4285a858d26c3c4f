"""listJobs, retryJob and onMyJobsUpdated through the resolver Lambda, on SQLite and on DynamoDB+SQS (moto).

The handler is fed AppSync-shaped events for each auth mode; what it answers is what both runtimes
serve (the local server invokes this handler; the cloud's JS response handler unwraps the same answer).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import resolvers.handler as handler
from jobcore import service
from jobcore.adapters.dynamodb import DynamoDbJobStore
from jobcore.adapters.pagination_keys import FileKey
from jobcore.adapters.sqs import SqsJobQueue
from jobcore.auth import API_KEY_CALLER, caller_from_appsync_identity
from jobcore.domain.job import JobStatus, apply_retry
from jobcore.service import Services
from resolvers.envelope import ERROR_KEY, FILTER_KEY
from support.aws import create_jobs_table
from support.events import CONTEXT, IAM_IDENTITY, appsync_event
from support.services import Clock, DirectReporter, sqlite_services
from worker.reaper import reap
from worker.tasks import load_registry

ALICE = {"sub": "alice-sub", "issuer": "https://cognito-idp.us-east-1.amazonaws.com/pool", "claims": {}}
BOB = {"sub": "bob-sub", "issuer": "https://cognito-idp.us-east-1.amazonaws.com/pool", "claims": {}}
OTHER_ROLE = {**IAM_IDENTITY, "userArn": "arn:aws:sts::123456789012:assumed-role/other/other"}


@dataclasses.dataclass
class Backend:
    services: Services
    clock: Clock
    messages: Any  # () -> int


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    clock = Clock()
    registry = load_registry()
    if request.param == "sqlite":
        services = sqlite_services(tmp_path, registry, clock)
        handler.configure(services)
        yield Backend(services, clock, services.queue.depth)  # type: ignore[attr-defined]
    else:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
            services = Services(
                store=DynamoDbJobStore(dynamodb, create_jobs_table(dynamodb)),
                queue=SqsJobQueue(sqs, url),
                registry=registry,
                clock=clock,
                pagination_key=FileKey(tmp_path / "pagination.key"),
            )
            handler.configure(services)

            def depth() -> int:
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

            yield Backend(services, clock, depth)
    handler.reset()


def invoke(type_name: str, field: str, arguments: dict[str, Any], identity: Any = None) -> Any:
    return handler.lambda_handler(appsync_event(type_name, field, arguments, identity=identity), CONTEXT)


def submit(identity: Any, clock: Clock, job_type: str = "echo") -> dict[str, Any]:
    clock.advance(0.001)  # distinct creation instants, as real submits have
    job = invoke("Mutation", "submitJob", {"input": {"type": job_type, "payload": {"n": 1}}}, identity)
    assert ERROR_KEY not in job, job
    return job  # type: ignore[no-any-return]


def list_all(identity: Any, **arguments: Any) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    token = None
    for pages in range(1, 100):
        answer = invoke("Query", "listJobs", {**arguments, **({"nextToken": token} if token else {})}, identity)
        assert ERROR_KEY not in answer, answer
        items.extend(answer["items"])
        token = answer["nextToken"]
        if token is None:
            return items, pages
    raise AssertionError("the listing never ended")


def fail(job_id: str, services: Services) -> None:
    DirectReporter(services).update(job_id, {"status": "FAILED", "error": {"type": "DeadLettered", "message": "x"}})


class TestListJobs:
    def test_each_caller_lists_only_their_own_newest_first(self, backend: Backend) -> None:
        mine = [submit(ALICE, backend.clock)["id"] for _ in range(45)]
        bobs = [submit(BOB, backend.clock)["id"] for _ in range(5)]
        keyed = [submit(None, backend.clock)["id"] for _ in range(3)]
        roles = [submit(IAM_IDENTITY, backend.clock)["id"] for _ in range(2)]

        items, pages = list_all(ALICE)
        assert [j["id"] for j in items] == mine[::-1]
        assert pages == 3  # 20 + 20 + 5: the default limit
        assert {j["owner"] for j in items} == {"alice-sub"}
        assert [j["id"] for j in list_all(BOB)[0]] == bobs[::-1]
        assert [j["id"] for j in list_all(None)[0]] == keyed[::-1]
        # IAM may read any job, but "mine" is its own: a listing never spans owners.
        assert [j["id"] for j in list_all(IAM_IDENTITY)[0]] == roles[::-1]
        assert list_all(OTHER_ROLE)[0] == []

    def test_filters_by_status_and_type(self, backend: Backend) -> None:
        sleeps = [submit(ALICE, backend.clock, "sleep")["id"] for _ in range(3)]
        echoes = [submit(ALICE, backend.clock, "echo")["id"] for _ in range(4)]
        fail(echoes[1], backend.services)
        fail(sleeps[2], backend.services)
        assert [j["id"] for j in list_all(ALICE, type="sleep", limit=2)[0]] == sleeps[::-1]
        assert [j["id"] for j in list_all(ALICE, status="FAILED", limit=1)[0]] == [echoes[1], sleeps[2]]
        assert [j["id"] for j in list_all(ALICE, status="FAILED", type="echo")[0]] == [echoes[1]]
        assert list_all(BOB, status="FAILED")[0] == []

    @pytest.mark.parametrize("limit", [0, -1, 101, 10**9])
    def test_a_limit_out_of_range_is_a_validation_error(self, backend: Backend, limit: int) -> None:
        answer = invoke("Query", "listJobs", {"limit": limit}, ALICE)
        assert answer[ERROR_KEY]["errorType"] == "ValidationError"
        assert "limit" in answer[ERROR_KEY]["message"]

    def test_limit_100_is_allowed(self, backend: Backend) -> None:
        for _ in range(3):
            submit(ALICE, backend.clock)
        answer = invoke("Query", "listJobs", {"limit": 100}, ALICE)
        assert (len(answer["items"]), answer["nextToken"]) == (3, None)

    def test_another_callers_token_or_other_filters_are_refused_and_reveal_nothing(self, backend: Backend) -> None:
        for _ in range(3):
            submit(ALICE, backend.clock)
        token = invoke("Query", "listJobs", {"limit": 1}, ALICE)["nextToken"]
        assert token
        for identity, arguments in [
            (BOB, {}), (None, {}), (IAM_IDENTITY, {}), (ALICE, {"status": "PENDING"}), (ALICE, {"type": "echo"}),
        ]:
            answer = invoke("Query", "listJobs", {"limit": 1, "nextToken": token, **arguments}, identity)
            assert answer == {ERROR_KEY: {"errorType": "ValidationError", "message": "Invalid nextToken",
                                          "errorInfo": None}}
        assert len(invoke("Query", "listJobs", {"limit": 1, "nextToken": token}, ALICE)["items"]) == 1


class TestRetryJob:
    @pytest.mark.parametrize("end", ["FAILED", "CANCELLED"])
    def test_a_failed_or_cancelled_job_runs_again_as_the_same_job(self, backend: Backend, end: str) -> None:
        job = submit(ALICE, backend.clock)
        if end == "FAILED":
            fail(job["id"], backend.services)
        else:
            invoke("Mutation", "cancelJob", {"id": job["id"]}, ALICE)
        before = backend.services.store.get(job["id"])
        assert before is not None and before.status.value == end
        queued = backend.messages()

        retried = invoke("Mutation", "retryJob", {"id": job["id"]}, ALICE)

        assert (retried["id"], retried["status"], retried["error"], retried["owner"]) == (job["id"], "PENDING", None, "alice-sub")
        assert retried["version"] == before.version + 1
        assert retried["attempts"] == before.attempts
        assert backend.messages() == queued + 1

    def test_a_second_click_returns_the_pending_job_and_queues_nothing(self, backend: Backend) -> None:
        job = submit(ALICE, backend.clock)
        fail(job["id"], backend.services)
        first = invoke("Mutation", "retryJob", {"id": job["id"]}, ALICE)
        queued = backend.messages()
        assert invoke("Mutation", "retryJob", {"id": job["id"]}, ALICE) == first
        assert backend.messages() == queued

    def test_concurrent_retries_queue_exactly_one_attempt(self, backend: Backend) -> None:
        job = submit(ALICE, backend.clock)
        fail(job["id"], backend.services)
        queued = backend.messages()
        caller = caller_from_appsync_identity(ALICE)
        barrier = threading.Barrier(6)
        answers: list[Any] = []

        def click() -> None:
            barrier.wait()
            answers.append(service.retry_job(backend.services, caller, job["id"]))

        threads = [threading.Thread(target=click) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(answers) == 6
        assert {(a.status, a.version) for a in answers} == {(JobStatus.PENDING, answers[0].version)}
        assert backend.messages() == queued + 1

    @pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
    def test_running_or_succeeded_jobs_are_refused_and_unchanged(self, backend: Backend, status: str) -> None:
        job = submit(ALICE, backend.clock)
        reporter = DirectReporter(backend.services)
        reporter.update(job["id"], {"leaseToken": "t", "status": "RUNNING", "leaseSeconds": 60})
        if status == "SUCCEEDED":
            reporter.update(job["id"], {"leaseToken": "t", "status": "SUCCEEDED", "result": 1})
        before = backend.services.store.get(job["id"])
        answer = invoke("Mutation", "retryJob", {"id": job["id"]}, ALICE)
        assert answer[ERROR_KEY]["errorType"] == "InvalidTransition"
        assert answer[ERROR_KEY]["errorInfo"] == {"from": status, "to": "PENDING"}
        assert backend.services.store.get(job["id"]) == before

    @pytest.mark.parametrize("intruder", [BOB, None], ids=["another user", "api key"])
    def test_someone_elses_job_is_not_found(self, backend: Backend, intruder: Any) -> None:
        job = submit(ALICE, backend.clock)
        fail(job["id"], backend.services)
        before = backend.services.store.get(job["id"])
        assert invoke("Mutation", "retryJob", {"id": job["id"]}, intruder)[ERROR_KEY]["errorType"] == "NotFound"
        assert backend.services.store.get(job["id"]) == before

    def test_a_crash_between_the_write_and_the_send_is_healed_by_the_reaper(self, backend: Backend) -> None:
        services = backend.services
        job = submit(ALICE, backend.clock)
        fail(job["id"], services)
        backend.clock.advance(3600)  # created long ago: the stale marker must count from the retry
        failed = services.store.get(job["id"])
        assert failed is not None
        # What a retry leaves when the process dies after its compare-and-set, before the send:
        services.store.replace(apply_retry(failed, services.clock()), expected_version=failed.version)
        queued = backend.messages()
        assert reap(services, DirectReporter(services)).requeued == []  # not stale yet
        backend.clock.advance(services.requeue_pending_after.total_seconds() + 1)
        assert reap(services, DirectReporter(services)).requeued == [job["id"]]
        assert backend.messages() == queued + 1


class TestOnMyJobsUpdated:
    @pytest.mark.parametrize(
        ("identity", "principal"),
        [(None, "api-key"), (ALICE, "alice-sub"), (IAM_IDENTITY, IAM_IDENTITY["userArn"])],
        ids=["api key", "user pool", "iam"],
    )
    def test_the_filter_is_the_callers_own_identity(self, backend: Backend, identity: Any, principal: str) -> None:
        answer = invoke("Subscription", "onMyJobsUpdated", {}, identity)
        assert answer == {FILTER_KEY: {"owner": {"eq": principal}}}
        # The same principal the jobs of this caller are stored under.
        job = submit(identity, backend.clock)
        assert job["owner"] == principal


def test_submit_remembers_the_owner_on_the_api_key_job(backend: Backend) -> None:
    job = submit(None, backend.clock)
    assert job["owner"] == API_KEY_CALLER.principal
    assert backend.services.store.list_by_owner("api-key").items[0].id == job["id"]
    assert timedelta(0) <= backend.clock() - backend.services.store.get(job["id"]).created_at  # type: ignore[union-attr]


def test_the_cloud_wiring_signs_tokens_with_the_secrets_manager_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bootstrap.aws_services as the Lambda builds it from its environment: DynamoDB, SQS and the
    pagination key read from Secrets Manager (JOBS_PAGINATION_SECRET_ARN), all on moto."""
    from jobcore.bootstrap import aws_services
    from jobcore.settings import Settings

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="jobs")["QueueUrl"]
        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="pagination", SecretString="s" * 64
        )["ARN"]
        settings = Settings.from_env({
            "APPSYNC_JOBS_BACKEND": "aws", "AWS_REGION": "us-east-1", "JOBS_TABLE_NAME": create_jobs_table(dynamodb),
            "JOBS_QUEUE_URL": url, "JOBS_PAGINATION_SECRET_ARN": arn,
        })
        services = aws_services(settings, load_registry())
        alice = caller_from_appsync_identity(ALICE)
        ids = [service.submit_job(services, alice, "echo", n).id for n in range(3)]
        first = service.list_jobs(services, alice, limit=2)
        assert first.next_token is not None
        rest = service.list_jobs(services, alice, limit=2, next_token=first.next_token)
        assert {j.id for j in first.items + rest.items} == set(ids)
        assert services.pagination_key is not None and services.pagination_key() == b"s" * 64
        without = aws_services(dataclasses.replace(settings, pagination_secret_arn=None), load_registry())
        with pytest.raises(RuntimeError, match="JOBS_PAGINATION_SECRET_ARN"):
            service.list_jobs(without, alice)
