"""The reaper's index at scale, against SQLite and DynamoDB (moto) alike: sharded partition keys, and a
re-enqueued PENDING job moved forward so a backlog is not re-sent on every run (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from jobcore import service
from jobcore.adapters.codec import stuck_shard
from jobcore.adapters.dynamodb import DynamoDbJobStore
from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue, SqliteJobStore
from jobcore.auth import API_KEY_CALLER
from jobcore.domain.job import JobStatus
from jobcore.service import Services
from jobcore.table_schema import JOB_KEY_PREFIX, PARTITION_KEY, STUCK_INDEX_PARTITION_KEY, STUCK_INDEX_SHARDS, STUCK_INDEX_SORT_KEY
from jobcore.wire import format_datetime
from support.aws import create_jobs_table
from support.services import Clock, DirectReporter
from worker.reaper import reap
from worker.tasks import load_registry

FIVE_MINUTES = 300


@pytest.fixture(params=["sqlite", "dynamodb"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    db = SqliteDatabase(tmp_path / "jobs.sqlite3")
    queue = SqliteJobQueue(db, "jobs")
    registry = load_registry(["support.tasks"])
    if request.param == "sqlite":
        yield Services(store=SqliteJobStore(db), queue=queue, registry=registry, clock=Clock())
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = DynamoDbJobStore(client, create_jobs_table(client))
        yield Services(store=store, queue=queue, registry=registry, clock=Clock())


def index_entry(services: Services, job_id: str) -> tuple[str | None, str | None]:
    store = services.store
    if isinstance(store, SqliteJobStore):
        row = store.db.connection().execute("SELECT stuck_status, stuck_at FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0], row[1]
    assert isinstance(store, DynamoDbJobStore)
    key = {PARTITION_KEY: {"S": JOB_KEY_PREFIX + job_id}}
    item: dict[str, Any] = store.client.get_item(TableName=store.table_name, Key=key)["Item"]
    return item.get(STUCK_INDEX_PARTITION_KEY, {}).get("S"), item.get(STUCK_INDEX_SORT_KEY, {}).get("S")


def queued(services: Services) -> int:
    return services.queue.depth()  # type: ignore[attr-defined, no-any-return]


def test_jobs_spread_over_every_shard_and_the_reaper_finds_them_all(services: Services) -> None:
    clock: Clock = services.clock  # type: ignore[assignment]
    fixed = iter(f"00000000-0000-4000-8000-{n:012d}" for n in range(40))
    services.new_id = lambda: next(fixed)
    ids = [service.submit_job(services, API_KEY_CALLER, "echo", n).id for n in range(40)]
    keys = {index_entry(services, job_id)[0] for job_id in ids}
    assert keys == {f"PENDING#{stuck_shard(job_id)}" for job_id in ids}
    assert len(keys) == STUCK_INDEX_SHARDS  # these 40 ids land in every one of the 8 shards
    clock.advance(FIVE_MINUTES + 1)
    assert sorted(reap(services, DirectReporter(services)).requeued) == sorted(ids)


def test_a_running_jobs_index_key_is_its_shard_too(services: Services) -> None:
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    DirectReporter(services).update(job_id, {"leaseToken": "t", "status": "RUNNING", "leaseSeconds": 30})
    assert index_entry(services, job_id)[0] == f"RUNNING#{stuck_shard(job_id)}"
    DirectReporter(services).update(job_id, {"leaseToken": "t", "status": "SUCCEEDED", "result": 1})
    assert index_entry(services, job_id) == (None, None)  # finished jobs leave the sparse index


def test_a_backlog_is_re_enqueued_once_per_period_not_every_run(services: Services) -> None:
    clock: Clock = services.clock  # type: ignore[assignment]
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    clock.advance(FIVE_MINUTES + 1)
    assert reap(services, DirectReporter(services)).requeued == [job_id]
    assert index_entry(services, job_id) == (f"PENDING#{stuck_shard(job_id)}", format_datetime(clock()))  # moved to now
    for _ in range(4):  # the reaper runs every minute while the job is still waiting in a backlog
        clock.advance(60)
        assert reap(services, DirectReporter(services)).requeued == []
    assert queued(services) == 2  # the first message and exactly one re-send
    clock.advance(FIVE_MINUTES - 4 * 60 + 1)
    assert reap(services, DirectReporter(services)).requeued == [job_id]  # still PENDING later: sent again


def test_the_index_moves_only_for_the_pending_version_the_reaper_saw(services: Services) -> None:
    clock: Clock = services.clock  # type: ignore[assignment]
    job = service.submit_job(services, API_KEY_CALLER, "echo", 1)
    DirectReporter(services).update(job.id, {"leaseToken": "t", "status": "RUNNING", "leaseSeconds": 30})
    before = index_entry(services, job.id)
    assert services.store.mark_requeued(job, clock() + timedelta(hours=1)) is False  # claimed meanwhile
    assert index_entry(services, job.id) == before
    current = services.store.get(job.id)
    assert current is not None and current.status is JobStatus.RUNNING


def test_items_indexed_before_sharding_are_still_reaped(services: Services) -> None:
    store = services.store
    if not isinstance(store, DynamoDbJobStore):
        pytest.skip("only DynamoDB tables outlive an upgrade with old items (SQLite re-indexes on write)")
    clock: Clock = services.clock  # type: ignore[assignment]
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    store.client.update_item(  # as written by the previous release: the bare status
        TableName=store.table_name, Key={PARTITION_KEY: {"S": JOB_KEY_PREFIX + job_id}},
        UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": STUCK_INDEX_PARTITION_KEY},
        ExpressionAttributeValues={":s": {"S": "PENDING"}},
    )
    clock.advance(FIVE_MINUTES + 1)
    assert reap(services, DirectReporter(services)).requeued == [job_id]
    assert index_entry(services, job_id)[0] == f"PENDING#{stuck_shard(job_id)}"  # and now moved to its shard


def test_unfinished_jobs_are_counted_on_the_index(services: Services) -> None:
    store = services.store
    ids = [service.submit_job(services, API_KEY_CALLER, "echo", n).id for n in range(5)]
    DirectReporter(services).update(ids[0], {"leaseToken": "t", "status": "RUNNING", "leaseSeconds": 30})
    service.cancel_job(services, API_KEY_CALLER, ids[1])
    if isinstance(store, DynamoDbJobStore):
        assert store.client and json.dumps(store.count_unfinished()) == json.dumps({"PENDING": 3, "RUNNING": 1})
    else:
        assert isinstance(store, SqliteJobStore)
        assert store.count_by_status() == {"PENDING": 3, "RUNNING": 1, "SUCCEEDED": 0, "FAILED": 0, "CANCELLED": 1}
