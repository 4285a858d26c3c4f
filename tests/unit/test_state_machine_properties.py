"""Property-based tests of the job state machine as the service drives it against a real store.

Hypothesis plays every actor at once - submitters, several workers holding different lease tokens,
redeliveries of the same message, the dead-letter handler and the reaper (system verdicts without a
token), users cancelling - in random order, on a SQLite store with a clock it controls. After every
step the stored jobs must obey the invariants the product promises:

* SUCCEEDED is final: every further operation raises a ``JobsError`` and leaves the stored job
  identical; FAILED and CANCELLED leave only through a user's retry (back to PENDING), and every
  other operation on them is refused the same way;
* ``version`` only grows, and grows (by exactly one) on every accepted change;
* ``attempts`` never decreases; ``progress`` is within 0..100 whenever it is set;
* a SUCCEEDED job keeps the result it succeeded with.

Each operation is also checked against a small independent model of the lease rules (who may
change a RUNNING job, when a redelivery may take it over), so refusals of the wrong kind fail too.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue, SqliteJobStore
from jobcore.auth import API_KEY_CALLER, AuthMode, Caller
from jobcore.domain.job import Job, JobFailure, JobStatus, JobUpdate
from jobcore.errors import (
    IdempotencyConflict,
    InvalidTransition,
    JobsError,
    LeaseHeld,
    StaleLease,
    ValidationError,
)
from jobcore.registry import TaskRegistry
from jobcore.service import DEADLINE_GRACE_SECONDS, Services, cancel_job, retry_job, submit_job, update_job

TASK = "echo"
TIME_LIMIT_SECONDS = 60
DEADLINE = timedelta(seconds=TIME_LIMIT_SECONDS + DEADLINE_GRACE_SECONDS)
WORKER = Caller(AuthMode.AWS_IAM, "arn:aws:iam::123456789012:role/jobs-worker", trusted=True)
USER = API_KEY_CALLER
TOKENS = ("lease-a", "lease-b", "lease-c")
#: Stands for "the token that holds the job's lease now", so that many reports come from the holder.
HOLDER = "<holder>"


def make_registry() -> TaskRegistry:
    registry = TaskRegistry()

    @registry.task(TASK, time_limit_seconds=TIME_LIMIT_SECONDS)
    def echo(ctx: Any) -> Any:
        return ctx.payload

    return registry


REGISTRY = make_registry()


class ManualClock:
    """Millisecond-aligned (stored instants are AWSDateTime), so returned and stored jobs compare equal."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_services(db: SqliteDatabase, clock: ManualClock) -> Services:
    ids = itertools.count(1)
    return Services(
        store=SqliteJobStore(db),
        queue=SqliteJobQueue(db),
        registry=REGISTRY,
        clock=clock,
        new_id=lambda: f"job-{next(ids)}",
    )


# --- an independent model of what each operation may do --------------------------------------------


@dataclass(frozen=True)
class Op:
    kind: str  # claim | progress | succeed | fail | finish_cancelled | system_fail | cancel | retry
    token: str | None = None
    progress: int | None = None
    lease_seconds: int | None = None
    result: Any = None
    error: JobFailure | None = None


def expected_refusal(job: Job, op: Op, now: datetime) -> type[JobsError] | None:
    """The error ``op`` must raise on ``job`` at ``now``, or None if it must be accepted."""
    if op.progress is not None and not 0 <= op.progress <= 100:
        return ValidationError
    if op.kind == "cancel":
        return InvalidTransition if job.is_terminal else None
    if op.kind == "retry":
        return InvalidTransition if job.status in (JobStatus.RUNNING, JobStatus.SUCCEEDED) else None
    if job.is_terminal:
        return InvalidTransition
    lease_live = job.lease_expires_at is not None and job.lease_expires_at > now
    if op.kind == "system_fail":
        past_deadline = job.deadline_at is not None and job.deadline_at <= now
        if job.status is JobStatus.RUNNING and lease_live and not past_deadline:
            return LeaseHeld
        return None
    if job.status is JobStatus.PENDING:
        return None if op.kind == "claim" else InvalidTransition
    # RUNNING
    if op.token != job.lease_token:
        if lease_live:
            return LeaseHeld
        return None if op.kind == "claim" else StaleLease
    return None


def check_accepted_effect(before: Job, after: Job, op: Op, now: datetime) -> None:
    """What an accepted operation must have done to the job."""
    if op.kind == "retry":
        assert before.status in (JobStatus.FAILED, JobStatus.CANCELLED)
        assert after.status is JobStatus.PENDING
        assert after.attempts == before.attempts
        assert (after.result, after.error, after.progress, after.finished_at, after.lease_token) == (
            None, None, None, None, None)
        assert not after.cancel_requested
        return
    if op.kind == "cancel":
        if before.status is JobStatus.PENDING:
            assert after.status is JobStatus.CANCELLED
            assert after.finished_at == now
        else:
            assert after.status is JobStatus.RUNNING
            assert after.cancel_requested
        return
    if op.kind == "system_fail":
        assert after.status is JobStatus.FAILED
        assert after.error == op.error
        assert after.attempts == before.attempts
        return
    if op.kind == "claim":
        assert after.status is JobStatus.RUNNING
        assert after.lease_token == op.token
        takeover = before.status is JobStatus.PENDING or before.lease_token != op.token
        assert after.attempts == before.attempts + (1 if takeover else 0)
        if takeover:
            assert after.deadline_at == now + DEADLINE
            assert after.started_at == (before.started_at or now)
        else:
            assert after.deadline_at == before.deadline_at
        if op.lease_seconds is not None:
            assert after.lease_expires_at == now + timedelta(seconds=op.lease_seconds)
        elif takeover:
            assert after.lease_expires_at is None
        else:
            assert after.lease_expires_at == before.lease_expires_at
        return
    assert after.attempts == before.attempts
    if op.kind == "progress":
        assert after.status is JobStatus.RUNNING
        assert after.lease_token == before.lease_token
        assert after.progress == (op.progress if op.progress is not None else before.progress)
    elif op.kind == "succeed":
        assert after.status is JobStatus.SUCCEEDED
        assert after.result == op.result
        assert after.progress == 100
        assert after.error is None
    elif op.kind == "fail":
        assert after.status is JobStatus.FAILED
        assert after.error == op.error
    elif op.kind == "finish_cancelled":
        assert after.status is JobStatus.CANCELLED
    else:  # pragma: no cover - a typo in a rule
        raise AssertionError(op.kind)


def check_job_shape(job: Job) -> None:
    """Invariants of a single stored job, whatever happened before."""
    assert job.version >= 1
    assert job.attempts >= 0
    assert job.progress is None or 0 <= job.progress <= 100
    if job.status is JobStatus.PENDING:
        # Never started - unless a retry sent it back, keeping its attempts and first start.
        assert (job.attempts == 0) == (job.started_at is None)
        assert job.lease_token is None
        assert job.finished_at is None
        assert job.error is None
    if job.status is JobStatus.RUNNING:
        assert job.attempts >= 1
        assert job.lease_token is not None
        assert job.started_at is not None
        assert job.deadline_at is not None
    if job.is_terminal:
        assert job.finished_at is not None
        assert job.lease_token is None
        assert job.lease_expires_at is None
        assert job.deadline_at is None
    if job.status is JobStatus.SUCCEEDED:
        assert job.progress == 100
        assert job.error is None
    if job.status is JobStatus.FAILED:
        assert job.error is not None


# --- the state machine ------------------------------------------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8) | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)
job_picks = st.integers(min_value=0, max_value=1_000)
tokens = st.sampled_from((HOLDER, HOLDER, *TOKENS))
lease_choices = st.sampled_from([None, 0, 30, 120, 300])
failures = st.builds(JobFailure, st.sampled_from(["TaskError", "NonRetryableError"]), st.text(max_size=12))
system_failures = st.builds(JobFailure, st.sampled_from(["DeadLettered", "TimedOut"]), st.text(max_size=12))


class JobLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self.db = SqliteDatabase(Path(self._tmp.name) / "jobs.sqlite3")
        self.clock = ManualClock()
        self.services = make_services(self.db, self.clock)
        self.store = self.services.store
        self.job_ids: list[str] = []
        #: The stored job as last observed after a step, per id.
        self.seen: dict[str, Job] = {}
        #: The result each job succeeded with.
        self.results: dict[str, Any] = {}
        self.redeliveries = itertools.count(1)

    def teardown(self) -> None:
        self.db.close()
        self._tmp.cleanup()

    # -- helpers --

    def _job(self, pick: int) -> str:
        return self.job_ids[pick % len(self.job_ids)]

    def _stored(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        assert job is not None, job_id
        return job

    def _perform(self, job_id: str, op: Op) -> None:
        before = self._stored(job_id)
        if op.token == HOLDER:
            op = dataclasses.replace(op, token=before.lease_token or TOKENS[0])
        now = self.clock()
        expected = expected_refusal(before, op, now)
        try:
            if op.kind == "cancel":
                returned = cancel_job(self.services, USER, job_id)
            elif op.kind == "retry":
                returned = retry_job(self.services, USER, job_id)
            else:
                returned = update_job(self.services, WORKER, job_id, self._update(op))
        except JobsError as exc:
            after = self._stored(job_id)
            assert after == before, f"{op} was refused ({exc!r}) but changed the job"
            assert expected is not None, f"{op} on {before} was refused with {exc!r}"
            assert type(exc) is expected, f"{op} on {before}: expected {expected.__name__}, got {exc!r}"
            event(f"{op.kind} on {before.status.value}: {type(exc).__name__}")
            return

        after = self._stored(job_id)
        assert expected is None, f"{op} on {before} was accepted; expected {expected}"
        assert not before.is_terminal or op.kind == "retry", f"terminal job changed by {op}"
        assert returned == after, "the service returned something other than what it stored"
        if after == before:
            # Only a repeated cancel of a RUNNING job and a retry of a PENDING one are no-ops; they must not write.
            assert op.kind in ("cancel", "retry")
            assert before.cancel_requested if op.kind == "cancel" else before.status is JobStatus.PENDING
        else:
            assert after.version == before.version + 1
            assert after.updated_at == now
            check_accepted_effect(before, after, op, now)
        if after.status is JobStatus.SUCCEEDED:
            self.results[job_id] = op.result
        event(f"{op.kind} on {before.status.value}: accepted")

    @staticmethod
    def _update(op: Op) -> JobUpdate:
        status = {
            "claim": JobStatus.RUNNING,
            "progress": None,
            "succeed": JobStatus.SUCCEEDED,
            "fail": JobStatus.FAILED,
            "finish_cancelled": JobStatus.CANCELLED,
            "system_fail": JobStatus.FAILED,
        }[op.kind]
        return JobUpdate(
            lease_token=op.token,
            status=status,
            progress=op.progress,
            result=op.result,
            error=op.error,
            lease_seconds=op.lease_seconds,
        )

    # -- rules --

    @initialize()
    def first_job(self) -> None:
        """Every run starts with one job, so the rules that act on a job always have one to pick."""
        self.submit(None, {"n": 1})

    @rule(key=st.sampled_from([None, "key-1", "key-2"]), payload=st.sampled_from([{"n": 1}, {"n": 2}, [0.5, None]]))
    def submit(self, key: str | None, payload: Any) -> None:
        existing = {j.idempotency_key: j for j in map(self._stored, self.job_ids) if j.idempotency_key}
        previous = existing.get(key) if key is not None else None
        try:
            job = submit_job(self.services, USER, TASK, payload, idempotency_key=key)
        except IdempotencyConflict:
            assert previous is not None
            assert previous.payload != payload
            assert self._stored(previous.id) == previous
            return
        if previous is not None:
            assert previous.payload == payload
            assert job == previous
            assert self._stored(previous.id) == previous  # a repeated submit changes nothing
            return
        assert job.id not in self.job_ids
        assert (job.status, job.version, job.attempts, job.payload) == (JobStatus.PENDING, 1, 0, payload)
        assert self._stored(job.id) == job
        self.job_ids.append(job.id)

    @rule(pick=job_picks, token=tokens, lease=lease_choices, progress=st.none() | st.integers(-2, 102))
    def claim(self, pick: int, token: str, lease: int | None, progress: int | None) -> None:
        self._perform(self._job(pick), Op("claim", token=token, lease_seconds=lease, progress=progress))

    @rule(pick=job_picks, token=tokens, progress=st.none() | st.integers(-2, 102), lease=st.sampled_from([None, 30]))
    def report_progress(self, pick: int, token: str, progress: int | None, lease: int | None) -> None:
        self._perform(self._job(pick), Op("progress", token=token, progress=progress, lease_seconds=lease))

    @rule(pick=job_picks, token=tokens, result=json_values)
    def succeed(self, pick: int, token: str, result: Any) -> None:
        self._perform(self._job(pick), Op("succeed", token=token, result=result))

    @rule(pick=job_picks, token=tokens, error=failures)
    def fail(self, pick: int, token: str, error: JobFailure) -> None:
        self._perform(self._job(pick), Op("fail", token=token, error=error))

    @rule(pick=job_picks, token=tokens)
    def finish_cancelled(self, pick: int, token: str) -> None:
        self._perform(self._job(pick), Op("finish_cancelled", token=token))

    @rule(pick=job_picks)
    def cancel(self, pick: int) -> None:
        self._perform(self._job(pick), Op("cancel"))

    @rule(pick=job_picks)
    def retry(self, pick: int) -> None:
        """A user retries: FAILED/CANCELLED go back to PENDING (one message), PENDING is left alone."""
        job_id = self._job(pick)
        messages = self.services.queue.depth()  # type: ignore[attr-defined]
        before = self._stored(job_id)
        self._perform(job_id, Op("retry"))
        queued = 1 if before.status in (JobStatus.FAILED, JobStatus.CANCELLED) else 0
        assert self.services.queue.depth() == messages + queued  # type: ignore[attr-defined]

    @rule(pick=job_picks, past_lease=st.booleans(), lease=st.sampled_from([30, 120]))
    def redeliver(self, pick: int, past_lease: bool, lease: int) -> None:
        """The same message delivered again: a new attempt with a token nobody used before."""
        job_id = self._job(pick)
        expires = self._stored(job_id).lease_expires_at
        if past_lease and expires is not None and expires >= self.clock():
            self.clock.advance(expires - self.clock() + timedelta(seconds=1))
        token = f"redelivery-{next(self.redeliveries)}"
        self._perform(job_id, Op("claim", token=token, lease_seconds=lease))

    @rule(pick=job_picks, error=system_failures, past_deadline=st.booleans())
    def system_fail(self, pick: int, error: JobFailure, past_deadline: bool) -> None:
        """The dead-letter handler or, once past the attempt's deadline, the reaper."""
        job_id = self._job(pick)
        deadline = self._stored(job_id).deadline_at
        if past_deadline and deadline is not None and deadline > self.clock():
            self.clock.advance(deadline - self.clock())
        self._perform(job_id, Op("system_fail", error=error))

    @rule(pick=job_picks, result=json_values)
    def run_to_success(self, pick: int, result: Any) -> None:
        """The happy path in one step: a fresh delivery claims the job, and the same attempt succeeds."""
        job_id = self._job(pick)
        token = f"redelivery-{next(self.redeliveries)}"
        self._perform(job_id, Op("claim", token=token, lease_seconds=60))
        self._perform(job_id, Op("succeed", token=token, result=result))

    @rule(pick=job_picks, token=tokens, result=json_values, error=failures)
    def everything_after_the_end(self, pick: int, token: str, result: Any, error: JobFailure) -> None:
        """Every kind of operation but a retry, one after another, on a finished job: each must be refused."""
        finished = [job_id for job_id in self.job_ids if self._stored(job_id).is_terminal]
        if not finished:
            return
        job_id = finished[pick % len(finished)]
        self.clock.advance(timedelta(hours=1))  # past any lease or deadline: only the status protects it
        for op in (
            Op("claim", token=token, lease_seconds=30),
            Op("claim", token=f"redelivery-{next(self.redeliveries)}", lease_seconds=30),
            Op("progress", token=token, progress=50),
            Op("succeed", token=token, result=result),
            Op("fail", token=token, error=error),
            Op("finish_cancelled", token=token),
            Op("system_fail", error=JobFailure("DeadLettered", "after the end")),
            Op("cancel"),
        ):
            self._perform(job_id, op)

    @rule(seconds=st.sampled_from([0, 1, 29, 31, 61, 125, 400]))
    def tick(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    # -- invariants, after every step --

    @invariant()
    def jobs_only_move_forward(self) -> None:
        for job_id in self.job_ids:
            now = self._stored(job_id)
            check_job_shape(now)
            before = self.seen.get(job_id)
            if before is not None:
                if before.status is JobStatus.SUCCEEDED:
                    assert now == before, f"succeeded job {job_id} changed"
                elif before.is_terminal and now != before:
                    assert now.status is JobStatus.PENDING, f"{before.status.value} job {job_id} left for {now.status.value}"
                assert now.version >= before.version
                if now != before:
                    assert now.version > before.version
                assert now.attempts >= before.attempts
                assert now.created_at == before.created_at
                if before.started_at is not None:
                    assert now.started_at == before.started_at
            if now.status is JobStatus.SUCCEEDED:
                assert now.result == self.results[job_id]
            self.seen[job_id] = now


JobLifecycle.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestJobLifecycle = JobLifecycle.TestCase


# --- plain examples ---------------------------------------------------------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Any:
    db = SqliteDatabase(tmp_path / "jobs.sqlite3")
    clock = ManualClock()
    yield make_services(db, clock), clock
    db.close()


def test_a_duplicate_delivery_after_success_is_refused(services: Any) -> None:
    svc, clock = services
    job = submit_job(svc, USER, TASK, {"n": 1})

    update_job(svc, WORKER, job.id, JobUpdate(lease_token="token-a", status=JobStatus.RUNNING, lease_seconds=30))
    clock.advance(timedelta(seconds=5))
    done = update_job(svc, WORKER, job.id, JobUpdate(lease_token="token-a", status=JobStatus.SUCCEEDED, result=[1]))
    clock.advance(timedelta(minutes=10))  # well past any lease: only the terminal status protects it

    with pytest.raises(InvalidTransition):
        update_job(svc, WORKER, job.id, JobUpdate(lease_token="token-b", status=JobStatus.RUNNING, lease_seconds=30))

    stored = svc.store.get(job.id)
    assert stored == done
    assert (stored.status, stored.attempts, stored.result, stored.version) == (JobStatus.SUCCEEDED, 1, [1], 3)


def test_a_duplicate_delivery_during_a_live_lease_is_held_off(services: Any) -> None:
    svc, clock = services
    job = submit_job(svc, USER, TASK, None)
    running = update_job(svc, WORKER, job.id, JobUpdate(lease_token="token-a", status=JobStatus.RUNNING, lease_seconds=30))
    clock.advance(timedelta(seconds=10))

    with pytest.raises(LeaseHeld):
        update_job(svc, WORKER, job.id, JobUpdate(lease_token="token-b", status=JobStatus.RUNNING, lease_seconds=30))
    assert svc.store.get(job.id) == running

    clock.advance(timedelta(seconds=21))  # the lease lapsed: the redelivery takes over as attempt 2
    taken = update_job(svc, WORKER, job.id, JobUpdate(lease_token="token-b", status=JobStatus.RUNNING, lease_seconds=30))
    assert (taken.attempts, taken.lease_token, taken.version) == (2, "token-b", 3)

    # The zombie first attempt can no longer finish it: held off while the new lease is live...
    with pytest.raises(LeaseHeld):
        update_job(svc, WORKER, job.id, JobUpdate(lease_token="token-a", status=JobStatus.SUCCEEDED, result=1))
    clock.advance(timedelta(seconds=31))
    # ...and told its lease is gone once nobody holds one.
    with pytest.raises(StaleLease):
        update_job(svc, WORKER, job.id, JobUpdate(lease_token="token-a", status=JobStatus.SUCCEEDED, result=1))
    assert svc.store.get(job.id) == taken
