"""``JobStore.list_by_owner``, the listing behind listJobs, against SQLite and DynamoDB (moto).

Whatever the adapter: one owner's jobs only, newest first, each exactly once across pages, status and
type filters exact, and a cursor that resumes strictly after the last job examined. DynamoDB may
return short pages under a type filter (it filters after reading); only a null cursor means the end.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobcore.adapters.sqlite import SqliteJobStore
from jobcore.domain.job import Job, JobFailure, JobStatus, JobUpdate, apply_retry, apply_update, new_job
from jobcore.errors import ValidationError
from jobcore.ports import JobStore, listing_position

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
TYPES = ("echo", "sleep", "report")


def make(job_id: str, *, owner: str, at: datetime, job_type: str = "echo") -> Job:
    return new_job(job_id=job_id, job_type=job_type, owner=owner, payload={"id": job_id}, now=at)


def fail(store: JobStore, job: Job, at: datetime) -> Job:
    update = JobUpdate(status=JobStatus.FAILED, error=JobFailure("DeadLettered", "gone"))
    return store.replace(apply_update(job, update, at), expected_version=job.version)


def run(store: JobStore, job: Job, at: datetime) -> Job:
    update = JobUpdate(lease_token="t", status=JobStatus.RUNNING, lease_seconds=60)
    return store.replace(apply_update(job, update, at, deadline_seconds=600), expected_version=job.version)


def everything(store: JobStore, owner: str, *, limit: int, **filters: object) -> tuple[list[Job], int]:
    """Every job of the listing, page by page (bounded), and how many pages it took."""
    seen: list[Job] = []
    after = None
    for pages in range(1, 1_000):
        page = store.list_by_owner(owner, limit=limit, after=after, **filters)  # type: ignore[arg-type]
        assert len(page.items) <= limit
        seen.extend(page.items)
        if page.cursor is None:
            return seen, pages
        assert after is None or page.cursor < after, "a cursor must move strictly towards older jobs"
        after = page.cursor
    raise AssertionError("the listing never ended")


def newest_first(jobs: list[Job]) -> list[str]:
    return [j.id for j in sorted(jobs, key=listing_position, reverse=True)]


@pytest.fixture
def populated(store: JobStore) -> Callable[[], dict[str, list[Job]]]:
    """250 jobs of alice's (several sharing a creation instant, so ids must break ties), 30 of bob's
    interleaved in time, a mix of types and statuses."""

    def build() -> dict[str, list[Job]]:
        rng = random.Random(250)
        alice: list[Job] = []
        bob: list[Job] = []
        for n in range(250):
            at = T0 + timedelta(seconds=n // 3)  # three jobs per instant
            job = store.create(make(f"a-{n:03d}-{rng.randrange(10**6):06d}", owner="alice", at=at,
                                    job_type=TYPES[n % 3])).job
            if n % 5 == 0:
                job = fail(store, job, at + timedelta(seconds=1))
            elif n % 7 == 0:
                job = run(store, job, at + timedelta(seconds=1))
            alice.append(job)
            if n % 8 == 0:
                bob.append(store.create(make(f"b-{n:03d}", owner="bob", at=at, job_type=TYPES[n % 3])).job)
        return {"alice": alice, "bob": bob}

    return build


@pytest.mark.parametrize("limit", [1, 7, 20, 100])
def test_pages_return_each_of_250_jobs_exactly_once_newest_first(
    store: JobStore, populated: Callable[[], dict[str, list[Job]]], limit: int
) -> None:
    jobs = populated()
    listed, pages = everything(store, "alice", limit=limit)
    assert [j.id for j in listed] == newest_first(jobs["alice"])
    assert len({j.id for j in listed}) == 250
    assert pages == -(-250 // limit)  # unfiltered pages are full: the next page is known to exist
    assert {j.id: j for j in listed} == {j.id: j for j in jobs["alice"]}  # the current state of each


def test_another_owner_sees_only_their_own(store: JobStore, populated: Callable[[], dict[str, list[Job]]]) -> None:
    jobs = populated()
    listed, _ = everything(store, "bob", limit=9)
    assert [j.id for j in listed] == newest_first(jobs["bob"])
    assert all(j.owner == "bob" for j in listed)
    assert store.list_by_owner("carol").items == []
    assert store.list_by_owner("carol").cursor is None


@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED, JobStatus.SUCCEEDED])
def test_a_status_filter_lists_exactly_that_status(
    store: JobStore, populated: Callable[[], dict[str, list[Job]]], status: JobStatus
) -> None:
    jobs = populated()
    listed, _ = everything(store, "alice", limit=11, status=status)
    assert [j.id for j in listed] == newest_first([j for j in jobs["alice"] if j.status is status])


@pytest.mark.parametrize("job_type", [*TYPES, "unknown-type"])
def test_a_type_filter_lists_exactly_that_type(
    store: JobStore, populated: Callable[[], dict[str, list[Job]]], job_type: str
) -> None:
    jobs = populated()
    listed, _ = everything(store, "alice", limit=6, job_type=job_type)
    assert [j.id for j in listed] == newest_first([j for j in jobs["alice"] if j.type == job_type])


def test_status_and_type_together(store: JobStore, populated: Callable[[], dict[str, list[Job]]]) -> None:
    jobs = populated()
    listed, _ = everything(store, "alice", limit=4, status=JobStatus.FAILED, job_type="sleep")
    expected = [j for j in jobs["alice"] if j.status is JobStatus.FAILED and j.type == "sleep"]
    assert expected
    assert [j.id for j in listed] == newest_first(expected)


def test_a_job_leaves_a_status_listing_when_its_status_changes(store: JobStore) -> None:
    job = store.create(make("j-1", owner="alice", at=T0)).job
    failed = fail(store, job, T0 + timedelta(seconds=1))
    assert [j.id for j in store.list_by_owner("alice", status=JobStatus.FAILED).items] == ["j-1"]

    retried = store.replace(apply_retry(failed, T0 + timedelta(seconds=2)), expected_version=failed.version)

    assert store.list_by_owner("alice", status=JobStatus.FAILED).items == []
    assert store.list_by_owner("alice", status=JobStatus.PENDING).items == [retried]
    assert store.list_by_owner("alice").items == [retried]


def test_a_sparse_type_never_loses_or_repeats_a_job(store: JobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """One matching job in 133: DynamoDB reads a bounded number of index pages per call and may answer
    with no items but a cursor; following cursors still finds each match exactly once."""
    if not isinstance(store, SqliteJobStore):
        import jobcore.adapters.dynamodb as dynamodb

        # A small read budget per call, so 400 entries take many calls and most pages come back short.
        monkeypatch.setattr(dynamodb, "FILTERED_QUERY_LIMIT", 10)
        monkeypatch.setattr(dynamodb, "MAX_INDEX_QUERIES", 2)
    matches = []
    for n in range(400):
        job_type = "rare" if n % 133 == 0 else "common"
        job = store.create(make(f"j-{n:03d}", owner="alice", at=T0 + timedelta(seconds=n), job_type=job_type)).job
        if job_type == "rare":
            matches.append(job)
    listed, pages = everything(store, "alice", limit=2, job_type="rare")
    assert [j.id for j in listed] == newest_first(matches)
    if not isinstance(store, SqliteJobStore):
        assert pages >= 400 // 20  # short pages with cursors, as DynamoDB answers filtered queries
    else:
        assert pages == 2


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_a_limit_out_of_range_is_refused(store: JobStore, limit: int) -> None:
    with pytest.raises(ValidationError):
        store.list_by_owner("alice", limit=limit)


def test_a_data_directory_from_before_listing_is_upgraded_in_place(tmp_path: Path) -> None:
    """`make dev` on an existing .appsync-jobs/: the new columns are added and filled from each record."""
    import json
    import sqlite3

    from jobcore.adapters.codec import job_to_record
    from jobcore.adapters.sqlite import SqliteDatabase

    path = tmp_path / "jobs.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, owner TEXT NOT NULL, idempotency_key TEXT, version INTEGER NOT NULL,"
        " stuck_status TEXT, stuck_at TEXT, record TEXT NOT NULL);"
    )
    jobs = [make(f"old-{n}", owner="alice", at=T0 + timedelta(seconds=n), job_type=TYPES[n % 3]) for n in range(5)]
    for job in jobs:
        old.execute("INSERT INTO jobs (id, owner, version, record) VALUES (?, ?, 1, ?)",
                    (job.id, job.owner, json.dumps(job_to_record(job))))
    old.commit()
    old.close()

    db = SqliteDatabase(path)
    try:
        store = SqliteJobStore(db)
        assert store.list_by_owner("alice").items == jobs[::-1]
        assert [j.id for j in store.list_by_owner("alice", job_type="sleep").items] == ["old-4", "old-1"]
        assert len(store.list_by_owner("alice", status=JobStatus.PENDING).items) == 5
        SqliteDatabase(path).close()  # opening it again changes nothing
    finally:
        db.close()


def test_dynamodb_drops_a_job_the_eventually_consistent_index_still_files_under_its_old_status(aws: Any) -> None:
    """The index said FAILED, the consistent re-read says PENDING (retried meanwhile): not on a FAILED page.
    (DynamoDB only: SQLite's index is part of the table and cannot lag.)"""
    from jobcore.adapters.dynamodb import DynamoDbJobStore, owner_status_key
    from jobcore.table_schema import OWNER_STATUS_INDEX_PARTITION_KEY
    from support.aws import create_jobs_table

    client = aws("dynamodb")
    store = DynamoDbJobStore(client, create_jobs_table(client, "jobs-lagging-index"))
    job = store.create(make("lagging", owner="alice", at=T0)).job
    fresh = store.create(make("fresh", owner="alice", at=T0 - timedelta(seconds=1))).job
    fail(store, fresh, T0)
    # A lagging index entry: the item is PENDING, its byOwnerStatus key still FAILED.
    item = store._item(job)
    item[OWNER_STATUS_INDEX_PARTITION_KEY] = {"S": owner_status_key("alice", JobStatus.FAILED)}
    store.client.put_item(TableName=store.table_name, Item=item)

    page = store.list_by_owner("alice", status=JobStatus.FAILED)
    assert [j.id for j in page.items] == ["fresh"]
