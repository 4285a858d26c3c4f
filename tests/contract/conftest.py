"""Fixtures that hand every contract test each adapter family in turn.

``store`` is a ``JobStore`` backed by SQLite or by DynamoDB (moto); ``queue`` is a ``QueuePair`` - a
main queue that redrives to a dead-letter queue - backed by SQLite or by SQS (moto). The AWS
resources are created exactly as production expects them: the table from ``jobcore.table_schema``
and a RedrivePolicy on the main queue, so the adapters meet no friendlier shape than in the cloud.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue, SqliteJobStore
from jobcore.ports import JobQueue, JobStore, ReceivedMessage
from support.aws import create_jobs_table

REGION = "us-east-1"
TABLE_NAME = "jobs-contract"
#: Deliveries before a message is redriven; both families use the same number.
MAX_RECEIVE_COUNT = 2
#: The main queue's default visibility timeout: long enough that no test outlives it by accident.
VISIBILITY_TIMEOUT = 60


@pytest.fixture
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and a fixed region, and nothing that could point boto3 at a real endpoint."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _boto_clients() -> dict[str, Any]:
    """boto3 clients, built once: building one costs ~0.2 s, and moto intercepts a client made after
    ``import moto`` in every later ``mock_aws`` context (each of which starts from empty backends)."""
    return {}


@pytest.fixture
def aws(fake_aws_env: None, _boto_clients: dict[str, Any]) -> Iterator[Callable[[str], Any]]:
    """Inside a fresh ``moto.mock_aws()``; yields ``client(service_name)``."""
    moto = pytest.importorskip("moto")
    import boto3

    def client(service: str) -> Any:
        if service not in _boto_clients:
            _boto_clients[service] = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
        return _boto_clients[service]

    with moto.mock_aws():
        yield client


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "sqlite":
        db = SqliteDatabase(tmp_path / "jobs.sqlite3")
        try:
            yield SqliteJobStore(db)
        finally:
            db.close()
        return

    from jobcore.adapters.dynamodb import DynamoDbJobStore

    client = request.getfixturevalue("aws")("dynamodb")
    create_jobs_table(client, TABLE_NAME)
    yield DynamoDbJobStore(client, TABLE_NAME)


@dataclass
class FakeClock:
    """A settable epoch-seconds clock for the SQLite queue (the SQS one runs on moto's real time)."""

    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class QueuePair:
    """A main queue redriving to ``dlq`` after ``max_receive_count`` deliveries."""

    kind: str
    main: JobQueue
    dlq: JobQueue
    max_receive_count: int
    #: Ends the visibility timeout of an in-flight message without sleeping: the SQLite pair moves
    #: its clock past the timeout (the real lapse), the SQS pair sets the visibility to 0.
    make_visible_again: Callable[[ReceivedMessage], None]
    clock: FakeClock | None = None


@pytest.fixture(params=["sqlite", "sqs"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueuePair]:
    if request.param == "sqlite":
        clock = FakeClock()
        db = SqliteDatabase(tmp_path / "queue.sqlite3")
        dlq = SqliteJobQueue(db, "jobs-dlq", visibility_timeout=VISIBILITY_TIMEOUT, clock=clock)
        main = SqliteJobQueue(
            db,
            "jobs",
            visibility_timeout=VISIBILITY_TIMEOUT,
            dead_letter=dlq,
            max_receive_count=MAX_RECEIVE_COUNT,
            clock=clock,
        )

        def lapse(_message: ReceivedMessage) -> None:
            clock.advance(VISIBILITY_TIMEOUT + 1)

        try:
            yield QueuePair("sqlite", main, dlq, MAX_RECEIVE_COUNT, lapse, clock)
        finally:
            db.close()
        return

    from jobcore.adapters.sqs import SqsJobQueue

    client = request.getfixturevalue("aws")("sqs")
    dlq_url = client.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    main_url = client.create_queue(
        QueueName="jobs",
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
        },
    )["QueueUrl"]
    main_queue = SqsJobQueue(client, main_url)

    def expire(message: ReceivedMessage) -> None:
        main_queue.change_visibility(message.receipt_handle, 0)

    yield QueuePair("sqs", main_queue, SqsJobQueue(client, dlq_url), MAX_RECEIVE_COUNT, expire)
