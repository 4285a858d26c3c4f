"""Queue depth as SQS counts it, message attributes and the trace header, for SQLite and SQS (moto) alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue
from jobcore.adapters.sqs import SqsJobQueue
from jobcore.ports import JobQueue, QueueDepth
from jobcore.tracing import new_trace_header

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture(params=["sqlite", "sqs"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobQueue]:
    if request.param == "sqlite":
        yield SqliteJobQueue(SqliteDatabase(tmp_path / "q.sqlite3"), "jobs", visibility_timeout=60)
        return
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        yield SqsJobQueue(client, url)


def test_depth_counts_visible_in_flight_and_delayed_messages(queue: JobQueue) -> None:
    assert queue.approximate_depth() == QueueDepth(queue.approximate_depth().queue, 0, 0, 0)
    for n in range(3):
        queue.send(f'{{"n": {n}}}')
    queue.send('{"n": "later"}', delay_seconds=120)
    depth = queue.approximate_depth()
    assert (depth.visible, depth.in_flight, depth.delayed) == (3, 0, 1)
    received = queue.receive(2)
    depth = queue.approximate_depth()
    assert (depth.visible, depth.in_flight, depth.delayed, depth.total) == (1, 2, 1, 4)
    for message in received:
        queue.delete(message.receipt_handle)
    depth = queue.approximate_depth()
    assert (depth.visible, depth.in_flight, depth.delayed) == (1, 0, 1)
    assert depth.queue == "jobs"


def test_attributes_and_the_trace_header_travel_with_the_message(queue: JobQueue) -> None:
    queue.send('{"v":1,"jobId":"j"}', attributes={"jobId": "j", "deadLetteredAt": "2026-12-04T00:00:00.000Z"},
               trace_header=TRACE)
    [message] = queue.receive(1)
    assert message.attributes == {"jobId": "j", "deadLetteredAt": "2026-12-04T00:00:00.000Z"}
    assert message.trace_header == TRACE


def test_a_malformed_trace_header_is_dropped_never_the_message(queue: JobQueue) -> None:
    queue.send('{"v":1,"jobId":"j"}', trace_header="not-a-trace-header")
    [message] = queue.receive(1)
    assert message.body == '{"v":1,"jobId":"j"}'
    if isinstance(queue, SqsJobQueue):
        assert message.trace_header is None  # SQS would refuse it, so it is not sent


def test_a_started_trace_header_is_well_formed() -> None:
    from jobcore.tracing import is_trace_header, trace_root

    header = new_trace_header()
    assert is_trace_header(header)
    assert trace_root(header) is not None and trace_root(TRACE) == "1-5759e988-bd862e3fe1be46a994272793"
    assert trace_root("Root=1-zz;Sampled=1") is None


def test_an_old_local_data_directory_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the messages table as the previous release created it
        conn.execute("CREATE TABLE messages (id TEXT PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL, sent_at REAL NOT NULL,"
                     " visible_at REAL NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0, receipt TEXT)")
        conn.execute("INSERT INTO messages (id, queue, body, sent_at, visible_at) VALUES ('m', 'jobs', '{}', 0, 0)")
    queue = SqliteJobQueue(SqliteDatabase(path), "jobs")
    [old] = queue.receive(1)
    assert (old.body, old.attributes, old.trace_header) == ("{}", {}, None)
    queue.send("{}", trace_header=TRACE)
    assert queue.receive(1)[0].trace_header == TRACE
