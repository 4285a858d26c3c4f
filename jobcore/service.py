"""Use cases: the only code that reads a job, decides, and writes it back.

Every write is read -> ``apply_*`` (pure) -> compare-and-set. A lost race re-reads and re-decides,
a bounded number of times, so duplicate deliveries and concurrent writers serialise on ``version``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jobcore import pagination
from jobcore.auth import Caller, ensure_can_read, ensure_can_report
from jobcore.domain.job import (
    Job,
    JobFailure,
    JobStatus,
    JobUpdate,
    apply_cancel,
    apply_retry,
    apply_update,
    new_job,
)
from jobcore.errors import (
    IdempotencyConflict,
    JobNotFound,
    QueueError,
    TransitionConflict,
    UnknownTask,
    ValidationError,
)
from jobcore.limits import (
    MAX_ERROR_MESSAGE_LENGTH,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_PAYLOAD_BYTES,
    MAX_RESULT_BYTES,
    MAX_TYPE_LENGTH,
    check_json,
    check_length,
)
from jobcore.ports import MAX_PAGE_SIZE, JobQueue, JobStore
from jobcore.registry import TaskRegistry
from jobcore.wire import encode_message

#: A compare-and-set that keeps losing means heavy contention on one job; give up and let the
#: caller retry (the error is retryable) rather than spin.
MAX_CAS_ATTEMPTS = 5
#: Grace on top of a task's time limit before the reaper calls it TimedOut (Lambda start-up, clock skew).
DEADLINE_GRACE_SECONDS = 60


def utc_now() -> datetime:
    """Now, at the millisecond precision AWSDateTime and the stores keep, so a job compares equal to
    itself after a round trip through any store."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_job_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Services:
    """Everything a use case needs; built once per runtime by ``jobcore.bootstrap``."""

    store: JobStore
    queue: JobQueue
    registry: TaskRegistry
    clock: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = new_job_id
    #: A PENDING job older than this whose submit is repeated (same idempotency key) is re-enqueued,
    #: in case its first message was lost between the store write and the send.
    requeue_pending_after: timedelta = field(default_factory=lambda: timedelta(minutes=5))
    #: The key that signs ``listJobs``' nextToken (``jobcore.pagination``); None: listing is unavailable.
    pagination_key: pagination.KeySource | None = None


def submit_job(
    services: Services, caller: Caller, job_type: str, payload: Any, idempotency_key: str | None = None
) -> Job:
    check_length("type", job_type, MAX_TYPE_LENGTH)
    check_length("idempotencyKey", idempotency_key, MAX_IDEMPOTENCY_KEY_LENGTH)
    if idempotency_key is not None and not idempotency_key.strip():
        raise ValidationError("idempotencyKey must not be blank")
    spec = services.registry.get(job_type)
    check_json("payload", payload, MAX_PAYLOAD_BYTES)
    spec.validate_payload(payload)

    now = services.clock()
    job = new_job(
        job_id=services.new_id(),
        job_type=job_type,
        owner=caller.principal,
        payload=payload,
        now=now,
        idempotency_key=idempotency_key,
    )
    created = services.store.create(job)
    if not created.created:
        existing = created.job
        if existing.type != job_type or existing.payload != payload:
            raise IdempotencyConflict(
                f"idempotencyKey '{idempotency_key}' was already used for a different request (job {existing.id})",
                info={"jobId": existing.id},
            )
        if existing.status is JobStatus.PENDING and now - existing.updated_at >= services.requeue_pending_after:
            _enqueue(services, existing)
        return existing
    return _enqueue(services, created.job)


def _enqueue(services: Services, job: Job) -> Job:
    try:
        services.queue.send(encode_message(job.id))
    except Exception as exc:
        # Never leave a job PENDING with no message behind it: say it failed, then tell the caller.
        failure = JobUpdate(status=JobStatus.FAILED, error=JobFailure("EnqueueFailed", "the job could not be queued"))
        _write(services, job.id, lambda current: apply_update(current, failure, services.clock()))
        raise QueueError(f"job {job.id} could not be queued; nothing will run, please retry") from exc
    return job


def get_job(services: Services, caller: Caller, job_id: str) -> Job:
    job = services.store.get(job_id)
    if job is None:
        raise JobNotFound(f"Job {job_id} not found")
    ensure_can_read(caller, job)
    return job


def cancel_job(services: Services, caller: Caller, job_id: str) -> Job:
    get_job(services, caller, job_id)  # visibility check first: others' jobs are NotFound
    return _write(services, job_id, lambda current: apply_cancel(current, services.clock()))


def retry_job(services: Services, caller: Caller, job_id: str) -> Job:
    """Queue a FAILED or CANCELLED job again (same id, a new attempt); PENDING comes back unchanged.

    Exactly one message per retry, however many clicks: the compare-and-set lets one writer move the
    job to PENDING, and only that writer enqueues; a loser re-reads, finds it PENDING and returns it.
    A crash between the write and the send leaves a PENDING job without a message, which the reaper's
    stale-PENDING re-enqueue heals (the PENDING marker counts from the retry, not the creation).
    """
    for _ in range(MAX_CAS_ATTEMPTS):
        current = get_job(services, caller, job_id)
        new = apply_retry(current, services.clock())
        if new is current:
            return current
        try:
            written = services.store.replace(new, expected_version=current.version)
        except TransitionConflict:
            continue
        return _enqueue(services, written)
    raise TransitionConflict(f"Job {job_id} kept changing under this retry; retry it")


#: ``listJobs``' page size when the client gives none.
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class JobPage:
    items: list[Job]
    #: Signed; None on the last page.
    next_token: str | None


def list_jobs(
    services: Services,
    caller: Caller,
    *,
    status: str | None = None,
    job_type: str | None = None,
    limit: int | None = None,
    next_token: str | None = None,
) -> JobPage:
    """The caller's own jobs (``owner == caller.principal``, whatever the auth mode), newest first.

    "Own" on purpose even for IAM callers, who may *read* any job: a listing is "mine", and an
    unbounded all-owners listing would need a table scan. Every bad argument is a ValidationError
    that changes nothing; a nextToken must have been issued for this caller and these filters.
    """
    if limit is None:
        limit = DEFAULT_PAGE_SIZE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    try:
        wanted = JobStatus(status) if status is not None else None
    except ValueError:
        raise ValidationError("status must be a JobStatus") from None
    if job_type is not None and not isinstance(job_type, str):
        raise ValidationError("type must be a string")
    check_length("type", job_type, MAX_TYPE_LENGTH)
    if services.pagination_key is None:
        raise RuntimeError("no pagination key is configured (JOBS_PAGINATION_SECRET_ARN)")
    key = services.pagination_key()
    owner = caller.principal
    after = None
    if next_token is not None:
        after = pagination.verify(key, next_token, owner=owner, status=wanted, job_type=job_type)
    page = services.store.list_by_owner(owner, status=wanted, job_type=job_type, limit=limit, after=after)
    # The store reads one owner's partition; checking again costs nothing and keeps a store bug from
    # ever becoming a leak.
    items = [job for job in page.items if job.owner == owner]
    token = None
    if page.cursor is not None:
        token = pagination.sign(key, owner=owner, status=wanted, job_type=job_type, position=page.cursor)
    return JobPage(items, token)


def update_job(services: Services, caller: Caller, job_id: str, update: JobUpdate) -> Job:
    ensure_can_report(caller)
    check_length("message", update.message, MAX_MESSAGE_LENGTH)
    if update.error is not None:
        check_length("error.type", update.error.type, MAX_TYPE_LENGTH)
        check_length("error.message", update.error.message, MAX_ERROR_MESSAGE_LENGTH)
    if update.result is not None:
        check_json("result", update.result, MAX_RESULT_BYTES)

    def decide(current: Job) -> Job:
        return apply_update(current, update, services.clock(), deadline_seconds=_deadline_seconds(services, current))

    return _write(services, job_id, decide)


def _deadline_seconds(services: Services, job: Job) -> int | None:
    try:
        return services.registry.get(job.type).time_limit_seconds + DEADLINE_GRACE_SECONDS
    except UnknownTask:
        return None


def _write(services: Services, job_id: str, decide: Callable[[Job], Job]) -> Job:
    for _ in range(MAX_CAS_ATTEMPTS):
        current = services.store.get(job_id)
        if current is None:
            raise JobNotFound(f"Job {job_id} not found")
        new = decide(current)
        if new is current:
            return current
        try:
            return services.store.replace(new, expected_version=current.version)
        except TransitionConflict:
            continue
    raise TransitionConflict(f"Job {job_id} kept changing under this update; retry it")


def find_stuck_jobs(services: Services, *, limit: int = 100) -> list[Job]:
    """RUNNING jobs past their deadline (their worker is gone) and PENDING jobs whose message may be lost.

    The reaper turns these into ``updateJob`` calls (so subscribers hear about them) or re-enqueues;
    the verdicts are compare-and-sets decided by ``apply_update``, safe to race.
    """
    now = services.clock()
    return services.store.find_stuck(now, pending_before=now - services.requeue_pending_after, limit=limit)


def requeue(services: Services, job: Job) -> None:
    """Send a job's message again; harmless if it is already queued or running (the claim decides)."""
    services.queue.send(encode_message(job.id))
