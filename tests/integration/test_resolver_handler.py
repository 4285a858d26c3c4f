"""The resolver Lambda, fed AppSync direct-resolver events: answers, error envelopes, and no side effects on refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import resolvers.handler as handler
from jobcore.service import Services
from resolvers.envelope import ERROR_KEY
from support.events import CONTEXT, IAM_IDENTITY, appsync_event, load
from support.services import sqlite_services
from worker.tasks import load_registry


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = sqlite_services(tmp_path, load_registry())
    handler.configure(services)
    yield services
    handler.reset()


def invoke(event: dict[str, Any]) -> Any:
    return handler.lambda_handler(event, CONTEXT)  # type: ignore[arg-type]


def queue_depth(services: Services) -> int:
    return services.queue.depth()  # type: ignore[attr-defined, no-any-return]


class TestSubmitJob:
    def test_stores_a_pending_job_and_enqueues_it(self, services: Services) -> None:
        job = invoke(load("appsync_submit_job.json"))
        assert job["status"] == "PENDING"
        assert job["type"] == "echo"
        assert job["payload"] == {"hello": "world"}  # parsed: AppSync serialises AWSJSON on the way out
        assert services.store.get(job["id"]) is not None
        assert queue_depth(services) == 1

    def test_unknown_task_type_is_refused_and_changes_nothing(self, services: Services) -> None:
        answer = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "nope"}}))
        assert answer[ERROR_KEY]["errorType"] == "UnknownTaskType"
        assert "Registered types:" in answer[ERROR_KEY]["message"]
        assert queue_depth(services) == 0

    def test_payload_failing_the_task_schema_is_refused(self, services: Services) -> None:
        answer = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "sleep", "payload": {"seconds": -1}}}))
        assert answer[ERROR_KEY]["errorType"] == "ValidationError"
        assert "seconds" in answer[ERROR_KEY]["message"]
        assert queue_depth(services) == 0

    def test_oversized_payload_names_the_limit(self, services: Services) -> None:
        answer = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "echo", "payload": "x" * 200_000}}))
        assert answer[ERROR_KEY]["errorType"] == "PayloadTooLarge"
        assert "100000 bytes" in answer[ERROR_KEY]["message"]

    def test_same_idempotency_key_returns_the_first_job(self, services: Services) -> None:
        args = {"input": {"type": "echo", "payload": {"n": 1}, "idempotencyKey": "k-1"}}
        first = invoke(appsync_event("Mutation", "submitJob", args))
        second = invoke(appsync_event("Mutation", "submitJob", args))
        assert first["id"] == second["id"]
        assert queue_depth(services) == 1

    def test_reused_idempotency_key_with_other_payload_is_refused(self, services: Services) -> None:
        invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "echo", "payload": 1, "idempotencyKey": "k"}}))
        answer = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "echo", "payload": 2, "idempotencyKey": "k"}}))
        assert answer[ERROR_KEY]["errorType"] == "IdempotencyConflict"


class TestJobQuery:
    def test_missing_job_is_not_found(self, services: Services) -> None:
        answer = invoke(appsync_event("Query", "job", {"id": "00000000-0000-0000-0000-000000000000"}))
        assert answer[ERROR_KEY]["errorType"] == "NotFound"

    def test_api_key_callers_see_their_jobs(self, services: Services) -> None:
        job = invoke(load("appsync_submit_job.json"))
        assert invoke(appsync_event("Query", "job", {"id": job["id"]}))["id"] == job["id"]

    def test_other_principals_cannot_see_a_users_job(self, services: Services) -> None:
        cognito = {"sub": "user-1", "issuer": "https://cognito-idp.us-east-1.amazonaws.com/pool", "claims": {}}
        job = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "echo"}}, identity=cognito))
        answer = invoke(appsync_event("Query", "job", {"id": job["id"]}))  # API key caller
        assert answer[ERROR_KEY]["errorType"] == "NotFound"


class TestSubscribeCheck:
    """Subscription.onJobUpdated's resolver runs at subscribe time; null admits, an error refuses."""

    ALICE = {"sub": "alice", "issuer": "https://cognito-idp.us-east-1.amazonaws.com/pool", "claims": {}}
    BOB = {"sub": "bob", "issuer": "https://cognito-idp.us-east-1.amazonaws.com/pool", "claims": {}}

    def test_the_owner_may_subscribe(self, services: Services) -> None:
        job = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "echo"}}, identity=self.ALICE))
        assert invoke(appsync_event("Subscription", "onJobUpdated", {"id": job["id"]}, identity=self.ALICE)) is None

    def test_iam_services_may_subscribe_to_any_job(self, services: Services) -> None:
        job = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "echo"}}, identity=self.ALICE))
        assert invoke(appsync_event("Subscription", "onJobUpdated", {"id": job["id"]}, identity=IAM_IDENTITY)) is None

    @pytest.mark.parametrize("intruder", ["bob", "api key"])
    def test_another_caller_is_refused_as_not_found(self, services: Services, intruder: str) -> None:
        job = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "echo"}}, identity=self.ALICE))
        identity = self.BOB if intruder == "bob" else None
        answer = invoke(appsync_event("Subscription", "onJobUpdated", {"id": job["id"]}, identity=identity))
        assert answer[ERROR_KEY]["errorType"] == "NotFound"

    def test_an_unknown_id_is_refused_the_same_way(self, services: Services) -> None:
        answer = invoke(appsync_event("Subscription", "onJobUpdated", {"id": "00000000-0000-0000-0000-000000000000"}))
        assert answer[ERROR_KEY]["errorType"] == "NotFound"


class TestUpdateJob:
    def test_api_key_callers_may_not_report(self, services: Services) -> None:
        job = invoke(load("appsync_submit_job.json"))
        answer = invoke(appsync_event("Mutation", "updateJob", {"input": {"id": job["id"], "status": "RUNNING", "leaseToken": "t"}}))
        assert answer[ERROR_KEY]["errorType"] == "Unauthorized"
        assert services.store.get(job["id"]).status.value == "PENDING"  # type: ignore[union-attr]

    def test_worker_claims_and_finishes(self, services: Services) -> None:
        job = invoke(load("appsync_submit_job.json"))
        claim = {"input": {"id": job["id"], "status": "RUNNING", "leaseToken": "t", "leaseSeconds": 60}}
        running = invoke(appsync_event("Mutation", "updateJob", claim, identity=IAM_IDENTITY))
        assert (running["status"], running["attempts"]) == ("RUNNING", 1)
        done = {"input": {"id": job["id"], "status": "SUCCEEDED", "leaseToken": "t", "result": {"ok": 1}}}
        finished = invoke(appsync_event("Mutation", "updateJob", done, identity=IAM_IDENTITY))
        assert (finished["status"], finished["result"], finished["progress"]) == ("SUCCEEDED", {"ok": 1}, 100)

    def test_illegal_transition_is_refused_and_changes_nothing(self, services: Services) -> None:
        job = invoke(load("appsync_submit_job.json"))
        before = services.store.get(job["id"])
        answer = invoke(appsync_event("Mutation", "updateJob",
                                      {"input": {"id": job["id"], "status": "SUCCEEDED", "leaseToken": "t"}},
                                      identity=IAM_IDENTITY))
        assert answer[ERROR_KEY]["errorType"] == "InvalidTransition"
        assert services.store.get(job["id"]) == before


class TestCancelJob:
    def test_cancelling_a_pending_job(self, services: Services) -> None:
        job = invoke(load("appsync_submit_job.json"))
        assert invoke(appsync_event("Mutation", "cancelJob", {"id": job["id"]}))["status"] == "CANCELLED"

    def test_cancelling_a_finished_job_is_a_clear_error(self, services: Services) -> None:
        job = invoke(load("appsync_submit_job.json"))
        invoke(appsync_event("Mutation", "cancelJob", {"id": job["id"]}))
        answer = invoke(appsync_event("Mutation", "cancelJob", {"id": job["id"]}))
        assert answer[ERROR_KEY]["errorType"] == "InvalidTransition"
