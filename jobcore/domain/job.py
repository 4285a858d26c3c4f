"""The job state machine: a transition table and one pure ``apply`` function.

No clock, no I/O: callers pass ``now``. Every persisted change goes through ``apply`` and is then
written with a compare-and-set on ``version``, which is what makes duplicate deliveries and racing
writers harmless: the loser's write fails instead of moving the job backwards.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from jobcore.errors import InvalidTransition, LeaseHeld, StaleLease, ValidationError


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

#: Which statuses a worker's report (``apply_update``) or a cancel may move a job to from each status.
#: RUNNING -> RUNNING is a lease renewal, progress report or re-claim; PENDING -> FAILED is for system
#: failures (dead-lettered, timed out) of a job no worker ever managed to start. Nothing a worker or
#: the system reports moves a job out of a terminal status.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

#: The only way out of a terminal status: a user's ``retryJob`` sends a FAILED or CANCELLED job back
#: to PENDING as a new attempt (``apply_retry``). SUCCEEDED is final - its result stays what it was.
RETRYABLE: frozenset[JobStatus] = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class JobFailure:
    """Why a job failed; ``type`` is machine-readable (TaskError, TimedOut, DeadLettered...)."""

    type: str
    message: str


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file a task saved (or a result too large to publish), kept in the artifact store under
    ``jobs/<job id>/<name>``. The job records only this description; URLs are minted per reader."""

    name: str
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    type: str
    status: JobStatus
    owner: str
    created_at: datetime
    updated_at: datetime
    payload: Any = None
    result: Any = None
    error: JobFailure | None = None
    progress: int | None = None
    message: str | None = None
    attempts: int = 0
    cancel_requested: bool = False
    version: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None
    idempotency_key: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    #: When a RUNNING job is given up as TimedOut by the reaper (task time limit + grace).
    deadline_at: datetime | None = None
    #: Files the task saved, reported with its outcome.
    artifacts: tuple[Artifact, ...] = ()
    #: When the job was last queued: its creation, or its latest retry. A dead-lettered message sent
    #: before this belongs to an earlier attempt and must not fail the job (see ``_system_verdict``).
    queued_at: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def lease_is_live(self, now: datetime) -> bool:
        return self.lease_expires_at is not None and self.lease_expires_at > now


@dataclass(frozen=True, slots=True)
class JobUpdate:
    """A worker's report (the ``updateJob`` input, parsed). ``status=None`` reports progress only."""

    lease_token: str | None = None
    status: JobStatus | None = None
    progress: int | None = None
    message: str | None = None
    result: Any = None
    error: JobFailure | None = None
    lease_seconds: int | None = None
    #: Artifacts the attempt saved; accepted with a terminal status (they describe its outcome).
    artifacts: tuple[Artifact, ...] | None = None
    #: A verdict about one queue message (dead-lettered) says when that message was sent.
    message_sent_at: datetime | None = None


#: How far SQS's clock (a message's SentTimestamp) may trail the clock that stamped ``queued_at``
#: before a verdict about the job's own latest message is mistaken for one about an older message.
#: An older message precedes a retry by far more: the job had to fail or be cancelled in between.
QUEUE_CLOCK_TOLERANCE = timedelta(seconds=1)


def new_job(
    *,
    job_id: str,
    job_type: str,
    owner: str,
    payload: Any,
    now: datetime,
    idempotency_key: str | None = None,
) -> Job:
    return Job(
        id=job_id,
        type=job_type,
        status=JobStatus.PENDING,
        owner=owner,
        payload=payload,
        created_at=now,
        updated_at=now,
        idempotency_key=idempotency_key,
        queued_at=now,
    )


def _check_transition(job: Job, target: JobStatus) -> None:
    if target not in TRANSITIONS[job.status]:
        raise InvalidTransition(
            f"Job {job.id} is {job.status.value} and cannot become {target.value}",
            info={"from": job.status.value, "to": target.value},
        )


def _touch(job: Job, now: datetime, **changes: Any) -> Job:
    return dataclasses.replace(job, updated_at=now, version=job.version + 1, **changes)


def _lease_until(now: datetime, seconds: int | None, current: datetime | None) -> datetime | None:
    if seconds is None:
        return current
    return now + timedelta(seconds=seconds)


def apply_update(job: Job, update: JobUpdate, now: datetime, *, deadline_seconds: int | None = None) -> Job:
    """The job after a worker's report, or an error that explains why the report is refused.

    Lease rules: the first RUNNING report claims the job for ``lease_token``. While that lease is
    live, only its holder may change the job (another token gets ``LeaseHeld``); once it lapsed, a
    new token re-claims the job as a new attempt. A token that lost its lease gets ``StaleLease``.
    An update without a token is a system verdict (dead-letter, reaper) and may only fail a job.
    """
    if update.progress is not None and not 0 <= update.progress <= 100:
        raise ValidationError(f"progress must be between 0 and 100, got {update.progress}")
    if update.lease_seconds is not None and not 0 <= update.lease_seconds <= 43_200:
        raise ValidationError("leaseSeconds must be between 0 and 43200 (the SQS visibility maximum)")
    target = update.status or job.status
    if job.is_terminal:
        _check_transition(job, target)  # always refuses: terminal is final

    if update.lease_token is None:
        return _system_verdict(job, update, now, target)

    if job.status is JobStatus.PENDING:
        if target is not JobStatus.RUNNING:
            _check_transition(job, target)
            raise InvalidTransition(
                f"Job {job.id} is PENDING; a worker must claim it (status RUNNING) first",
                info={"from": job.status.value, "to": target.value},
            )
        return _claim(job, update, now, deadline_seconds)

    # RUNNING from here on.
    if update.lease_token != job.lease_token:
        if job.lease_is_live(now):
            raise LeaseHeld(
                f"Job {job.id} is being run by another attempt until {job.lease_expires_at}",
                info={"leaseExpiresAt": job.lease_expires_at.isoformat() if job.lease_expires_at else None},
            )
        if update.status is not JobStatus.RUNNING:
            raise StaleLease(f"Job {job.id}: this attempt's lease was lost; its update is ignored")
        return _claim(job, update, now, deadline_seconds)

    _check_transition(job, target)
    if target is JobStatus.RUNNING:
        return _touch(
            job,
            now,
            progress=update.progress if update.progress is not None else job.progress,
            message=update.message if update.message is not None else job.message,
            lease_expires_at=_lease_until(now, update.lease_seconds, job.lease_expires_at),
        )
    return _finish(job, update, now, target)


def _system_verdict(job: Job, update: JobUpdate, now: datetime, target: JobStatus) -> Job:
    """A verdict from outside any attempt (dead-letter handler, reaper): it may only fail the job, and
    never while a live attempt is still within its deadline."""
    if target is not JobStatus.FAILED:
        raise ValidationError("an update without leaseToken may only set status FAILED")
    _check_transition(job, target)
    queued_at = job.queued_at or job.created_at
    if update.message_sent_at is not None and update.message_sent_at < queued_at - QUEUE_CLOCK_TOLERANCE:
        # A message from before the job's latest retry (dead-lettered after the user retried): the
        # attempt it speaks for is over; the retried attempt has a message of its own.
        raise InvalidTransition(
            f"Job {job.id} was queued again after this message was sent; the verdict is about an earlier attempt",
            info={"from": job.status.value, "to": target.value},
        )
    past_deadline = job.deadline_at is not None and job.deadline_at <= now
    if job.status is JobStatus.RUNNING and job.lease_is_live(now) and not past_deadline:
        raise LeaseHeld(
            f"Job {job.id} is still being run by a live attempt; it is not failed from outside",
            info={"leaseExpiresAt": job.lease_expires_at.isoformat() if job.lease_expires_at else None},
        )
    return _finish(job, update, now, target)


def _claim(job: Job, update: JobUpdate, now: datetime, deadline_seconds: int | None) -> Job:
    return _touch(
        job,
        now,
        status=JobStatus.RUNNING,
        attempts=job.attempts + 1,
        started_at=job.started_at or now,
        lease_token=update.lease_token,
        lease_expires_at=_lease_until(now, update.lease_seconds, None),
        progress=update.progress if update.progress is not None else (job.progress or 0),
        message=update.message if update.message is not None else job.message,
        deadline_at=now + timedelta(seconds=deadline_seconds) if deadline_seconds else None,
    )


def _finish(job: Job, update: JobUpdate, now: datetime, target: JobStatus) -> Job:
    if target is JobStatus.SUCCEEDED:
        outcome: dict[str, Any] = {"result": update.result, "error": None, "progress": 100}
    elif target is JobStatus.FAILED:
        outcome = {"error": update.error or JobFailure("TaskError", "the task failed")}
    else:
        outcome = {}
    if update.artifacts is not None:
        outcome["artifacts"] = update.artifacts
    return _touch(
        job,
        now,
        status=target,
        message=update.message if update.message is not None else job.message,
        finished_at=now,
        lease_token=None,
        lease_expires_at=None,
        deadline_at=None,
        **outcome,
    )


def apply_cancel(job: Job, now: datetime) -> Job:
    """PENDING jobs are cancelled at once; RUNNING ones are asked to stop (the task ends them)."""
    if job.status is JobStatus.PENDING:
        return _touch(job, now, status=JobStatus.CANCELLED, finished_at=now, cancel_requested=True)
    if job.status is JobStatus.RUNNING:
        if job.cancel_requested:
            return job
        return _touch(job, now, cancel_requested=True)
    raise InvalidTransition(
        f"Job {job.id} is already {job.status.value}; only PENDING or RUNNING jobs can be cancelled",
        info={"from": job.status.value, "to": JobStatus.CANCELLED.value},
    )


def apply_retry(job: Job, now: datetime) -> Job:
    """A FAILED or CANCELLED job back to PENDING, to be queued again as a new attempt of the same job.

    The outcome of the last attempt (result, error, progress, message, finish time, cancel request,
    lease) is cleared; ``attempts`` is kept (it grows when a worker claims the job again) and
    ``version`` grows, so subscribers discard older events as usual. A job that is already PENDING is
    returned unchanged - the same object, so the caller knows nothing was written - which is what makes
    a double click (or two racing retries: the compare-and-set loser re-reads PENDING) queue one attempt.
    """
    if job.status is JobStatus.PENDING:
        return job
    if job.status not in RETRYABLE:
        raise InvalidTransition(
            f"Job {job.id} is {job.status.value}; only FAILED or CANCELLED jobs can be retried",
            info={"from": job.status.value, "to": JobStatus.PENDING.value},
        )
    return _touch(
        job,
        now,
        status=JobStatus.PENDING,
        result=None,
        error=None,
        progress=None,
        message=None,
        finished_at=None,
        cancel_requested=False,
        lease_token=None,
        lease_expires_at=None,
        deadline_at=None,
        queued_at=now,
    )
