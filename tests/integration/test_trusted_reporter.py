"""The resolver Lambda trusts only the stack's reporter roles (``JOBS_TRUSTED_REPORTER_ROLES``).

Fed AppSync events with real IAM identity shapes: the worker role may report and see every job; any
other IAM principal in the account gets the ordinary caller's visibility and ``Unauthorized`` on
``updateJob``; and a stack without the variable trusts no IAM caller at all, saying so in its log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import resolvers.handler as handler
from jobcore.auth import ReporterTrust
from jobcore.service import Services
from resolvers.envelope import ERROR_KEY
from support.aws import create_jobs_table
from support.events import CONTEXT, IAM_IDENTITY, appsync_event
from support.services import sqlite_services
from worker.tasks import load_registry

OTHER_ARN = "arn:aws:sts::123456789012:assumed-role/SomeAppRole/i-0abc"
OTHER_IAM = {**IAM_IDENTITY, "userArn": OTHER_ARN, "username": "AROAOTHER:i-0abc"}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = sqlite_services(tmp_path, load_registry())  # trusts the role "worker" (IAM_IDENTITY)
    handler.configure(services)
    yield services
    handler.reset()


def invoke(event: dict[str, Any]) -> Any:
    return handler.lambda_handler(event, CONTEXT)  # type: ignore[arg-type]


def submit(identity: Any = None) -> dict[str, Any]:
    job: dict[str, Any] = invoke(appsync_event("Mutation", "submitJob", {"input": {"type": "echo", "payload": 1}},
                                               identity=identity))
    return job


def claim(job_id: str, identity: Any) -> Any:
    update = {"input": {"id": job_id, "leaseToken": "t", "status": "RUNNING", "leaseSeconds": 30}}
    return invoke(appsync_event("Mutation", "updateJob", update, identity=identity))


def test_the_worker_role_reports_and_sees_every_job(services: Services) -> None:
    job = submit()  # an API-key job
    assert claim(job["id"], IAM_IDENTITY)["status"] == "RUNNING"
    assert invoke(appsync_event("Query", "job", {"id": job["id"]}, identity=IAM_IDENTITY))["id"] == job["id"]


def test_another_iam_principal_may_not_report(services: Services) -> None:
    job = submit()
    answer = claim(job["id"], OTHER_IAM)
    assert answer[ERROR_KEY]["errorType"] == "Unauthorized"
    stored = services.store.get(job["id"])
    assert stored is not None and stored.status.value == "PENDING" and stored.version == 1  # nothing changed


def test_another_iam_principal_sees_only_its_own_jobs(services: Services) -> None:
    theirs = submit()
    answer = invoke(appsync_event("Query", "job", {"id": theirs["id"]}, identity=OTHER_IAM))
    assert answer[ERROR_KEY]["errorType"] == "NotFound"
    refused = invoke(appsync_event("Subscription", "onJobUpdated", {"id": theirs["id"]}, identity=OTHER_IAM))
    assert refused[ERROR_KEY]["errorType"] == "NotFound"

    own = submit(OTHER_IAM)
    stored = services.store.get(own["id"])
    assert stored is not None and stored.owner == OTHER_ARN  # owner = the caller's ARN
    assert invoke(appsync_event("Query", "job", {"id": own["id"]}, identity=OTHER_IAM))["id"] == own["id"]
    cancelled = invoke(appsync_event("Mutation", "cancelJob", {"id": own["id"]}, identity=OTHER_IAM))
    assert cancelled["status"] == "CANCELLED"


def test_an_empty_trust_refuses_even_the_worker_role(services: Services) -> None:
    services.reporter_trust = ReporterTrust()
    job = submit()
    assert claim(job["id"], IAM_IDENTITY)[ERROR_KEY]["errorType"] == "Unauthorized"


def test_a_stack_without_the_variable_fails_closed_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("JOBS_TRUSTED_REPORTER_ROLES", raising=False)
    monkeypatch.setenv("APPSYNC_JOBS_BACKEND", "aws")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    with mock_aws():
        table = create_jobs_table(boto3.client("dynamodb", region_name="us-east-1"))
        queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="jobs")["QueueUrl"]
        monkeypatch.setenv("JOBS_TABLE_NAME", table)
        monkeypatch.setenv("JOBS_QUEUE_URL", queue_url)
        handler.reset()
        try:
            job = submit()
            assert job["status"] == "PENDING"
            assert claim(job["id"], IAM_IDENTITY)[ERROR_KEY]["errorType"] == "Unauthorized"
        finally:
            handler.reset()
    warnings = [r for r in caplog.records if "JOBS_TRUSTED_REPORTER_ROLES is not set" in r.getMessage()]
    assert len(warnings) == 1  # once per cold start, not per request
    assert warnings[0].levelno == logging.WARNING
