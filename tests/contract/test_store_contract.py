"""The JobStore contract, run against every store adapter (SQLite and DynamoDB via moto).

Whatever a runtime plugs in, the service relies on exactly these behaviours: a lossless round trip,
idempotent create per (owner, key), a compare-and-set ``replace`` that never upserts and lets
exactly one racing writer win, and ``find_stuck`` seeing only unfinished work that is overdue.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobcore.adapters.sqlite import SqliteJobStore
from jobcore.domain.job import Artifact, Job, JobFailure, JobStatus, JobUpdate, apply_cancel, apply_update, new_job
from jobcore.errors import TransitionConflict, ValidationError
from jobcore.ports import JobStore

#: Millisecond-aligned on purpose: stored instants are AWSDateTime (millisecond precision).
T0 = datetime(2024, 5, 6, 7, 8, 9, 123_000, tzinfo=UTC)


def pending(job_id: str, *, owner: str = "alice", key: str | None = None, payload: Any = None, at: datetime = T0) -> Job:
    return new_job(job_id=job_id, job_type="echo", owner=owner, payload=payload, now=at, idempotency_key=key)


def claimed(job: Job, *, at: datetime, token: str = "lease-a", deadline_seconds: int | None = 300) -> Job:
    update = JobUpdate(lease_token=token, status=JobStatus.RUNNING, lease_seconds=30)
    return apply_update(job, update, at, deadline_seconds=deadline_seconds)


def full_job() -> Job:
    """A job with every field set to a non-default value."""
    return Job(
        id="job-full",
        type="report.render",
        status=JobStatus.FAILED,
        owner="user-sub-\u00e9\u00e8",
        created_at=T0,
        updated_at=T0 + timedelta(seconds=5, milliseconds=1),
        payload={
            "float": 0.1,
            "tiny": 5e-324,
            "huge": 1.7976931348623157e308,
            "negative": -2.5,
            "int": 2**53 + 1,
            "nested": {"list": [1, 2.25, None, True, False, {"deep": ["x"]}], "empty": {}},
            "unicode": "h\u00e9llo \u2713 \u65e5\u672c \U0001f680",
            "null": None,
            "quote": 'a "quoted" \\ backslash\n',
        },
        result=[1.5, {"k": None}],
        error=JobFailure("TaskError", "boom: \u00fcml\u00e4ut \U0001f4a5"),
        progress=42,
        message="halfway \u2026",
        attempts=3,
        cancel_requested=True,
        version=1,
        started_at=T0 + timedelta(seconds=1),
        finished_at=T0 + timedelta(seconds=5, milliseconds=1),
        idempotency_key="key-\u2603",
        lease_token="lease-token-1",
        lease_expires_at=T0 + timedelta(seconds=31, milliseconds=999),
        deadline_at=T0 + timedelta(minutes=16),
        artifacts=(Artifact("result.json", 5_000_000_123, "application/json"), Artifact("resume.csv", 0, "text/csv; charset=utf-8")),
        queued_at=T0 + timedelta(seconds=2),
    )


# --- create / get ----------------------------------------------------------------------------------


def test_get_of_an_unknown_id_is_none(store: JobStore) -> None:
    assert store.get("no-such-job") is None


def test_create_then_get_round_trips_every_field(store: JobStore) -> None:
    job = full_job()
    # Every field really is non-default, so the comparison below covers all of them.
    defaults = pending("x", at=T0 - timedelta(days=1))
    for f in dataclasses.fields(Job):
        if f.name != "version":
            assert getattr(job, f.name) != getattr(defaults, f.name), f.name

    result = store.create(job)

    assert result.created is True
    assert result.job == job
    stored = store.get(job.id)
    assert stored == job
    assert stored is not None
    assert stored.status is JobStatus.FAILED
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    assert type(stored.payload["int"]) is int
    assert type(stored.payload["float"]) is float


@pytest.mark.parametrize(
    "payload",
    [None, 0, 1.25, "", "plain text", [], {}, [None, [None]], {"a": {"b": {"c": [1.0, -0.0, 3e-7]}}}],
    ids=repr,
)
def test_payload_shapes_round_trip(store: JobStore, payload: Any) -> None:
    job = pending("job-p", payload=payload)
    store.create(job)
    stored = store.get("job-p")
    assert stored is not None
    assert stored.payload == payload
    assert type(stored.payload) is type(payload)
    assert stored == job


def test_a_minimal_new_job_round_trips_with_its_nones(store: JobStore) -> None:
    job = pending("job-min")
    store.create(job)
    assert store.get("job-min") == job


def test_datetimes_are_stored_at_millisecond_precision(store: JobStore) -> None:
    at = datetime(2024, 1, 1, 0, 0, 0, 987_654, tzinfo=UTC)
    store.create(pending("job-ms", at=at))
    stored = store.get("job-ms")
    assert stored is not None
    assert stored.created_at == datetime(2024, 1, 1, 0, 0, 0, 987_000, tzinfo=UTC)


def test_create_requires_version_one(store: JobStore) -> None:
    with pytest.raises(ValidationError):
        store.create(dataclasses.replace(pending("job-v"), version=2))
    assert store.get("job-v") is None


# --- idempotency -----------------------------------------------------------------------------------


def test_second_create_with_the_same_owner_and_key_returns_the_first_job(store: JobStore) -> None:
    first = pending("job-1", key="k-1", payload={"n": 1})
    second = pending("job-2", key="k-1", payload={"n": 2}, at=T0 + timedelta(minutes=1))

    assert store.create(first).created is True
    result = store.create(second)

    assert result.created is False
    assert result.job == first
    assert store.get("job-2") is None
    assert store.get("job-1") == first


def test_idempotent_create_returns_the_current_state_of_the_first_job(store: JobStore) -> None:
    first = pending("job-1", key="k-1")
    store.create(first)
    running = store.replace(claimed(first, at=T0 + timedelta(seconds=1)), expected_version=1)

    result = store.create(pending("job-2", key="k-1"))

    assert result.created is False
    assert result.job == running
    assert result.job.version == 2


def test_same_key_for_a_different_owner_creates_a_second_job(store: JobStore) -> None:
    alice = pending("job-a", owner="alice", key="shared")
    bob = pending("job-b", owner="bob", key="shared")

    assert store.create(alice).created is True
    result = store.create(bob)

    assert result.created is True
    assert result.job == bob
    assert store.get("job-a") == alice
    assert store.get("job-b") == bob


def test_jobs_without_a_key_never_collide(store: JobStore) -> None:
    assert store.create(pending("job-1")).created is True
    assert store.create(pending("job-2")).created is True
    assert store.get("job-1") is not None
    assert store.get("job-2") is not None


def test_different_keys_of_one_owner_create_two_jobs(store: JobStore) -> None:
    assert store.create(pending("job-1", key="k-1")).created is True
    assert store.create(pending("job-2", key="k-2")).created is True
    assert {j.id for j in (store.get("job-1"), store.get("job-2")) if j} == {"job-1", "job-2"}


# --- replace (compare-and-set) ---------------------------------------------------------------------


def test_replace_with_the_expected_version_writes_and_bumps(store: JobStore) -> None:
    job = pending("job-1", payload={"x": 1})
    store.create(job)

    running = claimed(job, at=T0 + timedelta(seconds=1))
    assert store.replace(running, expected_version=1) == running
    assert store.get("job-1") == running
    assert running.version == 2

    done = apply_update(
        running,
        JobUpdate(lease_token="lease-a", status=JobStatus.SUCCEEDED, result={"ok": 1.5}),
        T0 + timedelta(seconds=2),
    )
    store.replace(done, expected_version=2)
    stored = store.get("job-1")
    assert stored == done
    assert stored is not None
    assert (stored.version, stored.status, stored.result, stored.progress) == (3, JobStatus.SUCCEEDED, {"ok": 1.5}, 100)


def test_replace_with_a_stale_version_conflicts_and_changes_nothing(store: JobStore) -> None:
    job = pending("job-1")
    store.create(job)
    running = claimed(job, at=T0 + timedelta(seconds=1))
    store.replace(running, expected_version=1)

    # A writer that read version 1 and decided a cancel loses and leaves version 2 untouched.
    late = apply_cancel(job, T0 + timedelta(seconds=2))
    with pytest.raises(TransitionConflict):
        store.replace(late, expected_version=1)
    assert store.get("job-1") == running

    # Skipping ahead is no better than lagging behind.
    ahead = dataclasses.replace(running, version=5, message="from the future")
    with pytest.raises(TransitionConflict):
        store.replace(ahead, expected_version=4)
    assert store.get("job-1") == running


def test_replace_never_creates_a_missing_job(store: JobStore) -> None:
    ghost = claimed(pending("ghost"), at=T0)
    with pytest.raises(TransitionConflict):
        store.replace(ghost, expected_version=1)
    assert store.get("ghost") is None


def test_replace_must_carry_a_higher_version(store: JobStore) -> None:
    job = pending("job-1")
    store.create(job)
    with pytest.raises(ValidationError):
        store.replace(dataclasses.replace(job, message="same version"), expected_version=1)
    assert store.get("job-1") == job


def test_two_writers_from_the_same_version_exactly_one_wins(store: JobStore) -> None:
    rounds = 8 if isinstance(store, SqliteJobStore) else 3
    for n in range(rounds):
        job = pending(f"race-{n}")
        store.create(job)
        contenders = [claimed(job, at=T0 + timedelta(seconds=1), token=f"lease-{i}") for i in range(4)]
        outcomes = _race(store, contenders, expected_version=1, threaded=isinstance(store, SqliteJobStore))

        winners = [c for c, outcome in zip(contenders, outcomes, strict=True) if outcome is None]
        losers = [outcome for outcome in outcomes if outcome is not None]
        assert len(winners) == 1, outcomes
        assert all(isinstance(exc, TransitionConflict) for exc in losers), losers
        stored = store.get(job.id)
        assert stored == winners[0]
        assert stored is not None
        assert stored.version == 2
        assert stored.attempts == 1


def _race(store: JobStore, contenders: list[Job], *, expected_version: int, threaded: bool) -> list[Exception | None]:
    outcomes: list[Exception | None] = [None] * len(contenders)

    def write(i: int, barrier: threading.Barrier | None) -> None:
        if barrier is not None:
            barrier.wait(timeout=10)
        try:
            store.replace(contenders[i], expected_version=expected_version)
        except Exception as exc:
            outcomes[i] = exc
        finally:
            if barrier is not None:
                assert isinstance(store, SqliteJobStore)
                store.db.close()  # this thread's connection

    if not threaded:
        for i in range(len(contenders)):
            write(i, None)
        return outcomes
    barrier = threading.Barrier(len(contenders))
    threads = [threading.Thread(target=write, args=(i, barrier)) for i in range(len(contenders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return outcomes


# --- find_stuck ------------------------------------------------------------------------------------


def test_find_stuck_returns_overdue_running_and_old_pending_jobs_only(store: JobStore) -> None:
    now = T0 + timedelta(hours=1)
    pending_before = now - timedelta(minutes=5)

    def put(job: Job, *later: Job) -> None:
        store.create(job)
        previous = job
        for step in later:
            store.replace(step, expected_version=previous.version)
            previous = step

    old_pending = pending("old-pending", at=now - timedelta(minutes=30))
    put(old_pending)
    put(pending("pending-at-cutoff", at=pending_before))
    put(pending("fresh-pending", at=now - timedelta(minutes=1)))

    overdue = pending("overdue-running", at=now - timedelta(minutes=30))
    put(overdue, claimed(overdue, at=now - timedelta(minutes=20), deadline_seconds=600))
    at_deadline = pending("running-at-deadline", at=now - timedelta(minutes=30))
    put(at_deadline, claimed(at_deadline, at=now - timedelta(minutes=10), deadline_seconds=600))
    # An old PENDING job that has since been claimed is judged by its deadline, not its age.
    live = pending("live-running", at=now - timedelta(minutes=30))
    put(live, claimed(live, at=now - timedelta(minutes=1), deadline_seconds=600))

    for status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        old = pending(f"old-{status.value.lower()}", at=now - timedelta(minutes=30))
        running = claimed(old, at=now - timedelta(minutes=29), deadline_seconds=60)
        finished = apply_update(running, JobUpdate(lease_token="lease-a", status=status), now - timedelta(minutes=28))
        put(old, running, finished)
    never_started = pending("cancelled-while-pending", at=now - timedelta(minutes=30))
    put(never_started, apply_cancel(never_started, now - timedelta(minutes=29)))

    found = store.find_stuck(now, pending_before=pending_before)

    assert sorted(j.id for j in found) == ["old-pending", "overdue-running", "pending-at-cutoff", "running-at-deadline"]
    by_id = {j.id: j for j in found}
    assert by_id["old-pending"] == old_pending
    assert by_id["overdue-running"].status is JobStatus.RUNNING
    assert by_id["overdue-running"].deadline_at == now - timedelta(minutes=10)


def test_find_stuck_on_an_empty_store_is_empty(store: JobStore) -> None:
    assert store.find_stuck(T0, pending_before=T0) == []


def test_find_stuck_honours_its_limit(store: JobStore) -> None:
    # The limit bounds the whole answer, across the RUNNING and the PENDING halves of the search.
    now = T0 + timedelta(hours=1)
    for n in range(3):
        old = pending(f"old-pending-{n}", at=now - timedelta(minutes=30))
        store.create(old)
        overdue = pending(f"overdue-{n}", at=now - timedelta(minutes=30))
        store.create(overdue)
        store.replace(claimed(overdue, at=now - timedelta(minutes=20), deadline_seconds=60), expected_version=1)

    cutoff = now - timedelta(minutes=5)
    assert len(store.find_stuck(now, pending_before=cutoff, limit=100)) == 6
    for limit in (1, 2, 4):
        found = store.find_stuck(now, pending_before=cutoff, limit=limit)
        assert len(found) == limit
        assert len({j.id for j in found}) == limit
