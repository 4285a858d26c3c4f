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
from jobcore.artifacts import ArtifactStore, PresignedUrl, artifact_key, check_upload_refs, new_upload_ref, upload_key
from jobcore.auth import Caller, ReporterTrust, ensure_can_read, ensure_can_report
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
    MAX_OBJECT_BYTES,
    MAX_PAYLOAD_BYTES,
    MAX_RESULT_BYTES,
    MAX_TYPE_LENGTH,
    check_content_type,
    check_json,
    check_length,
    check_published_job,
    check_published_payload,
)
from jobcore.metrics import Metric, MetricsSink, NullMetrics, observe_transition, record
from jobcore.ports import MAX_PAGE_SIZE, JobQueue, JobStore
from jobcore.registry import LONG_ROUTE, TaskRegistry
from jobcore.tracing import current_trace_header
from jobcore.wire import ArtifactShape, encode_message, format_datetime, job_to_graphql

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
    #: Where the use cases record jobs submitted/finished and queue/run times (``jobcore.metrics``).
    metrics: MetricsSink = field(default_factory=NullMetrics)
    #: Which IAM callers the resolvers treat as the trusted reporter (empty: none, fail closed).
    reporter_trust: ReporterTrust = field(default_factory=ReporterTrust)
    #: The long-task queue (Fargate in the cloud, ``worker --queue long`` locally); None: no long route.
    long_queue: JobQueue | None = None
    #: The longest task time limit the Lambda worker can honour (``Settings.lambda_budget_seconds``).
    lambda_budget_seconds: int = 870
    #: Where artifacts, large results and uploads live (S3 / the local data directory).
    artifacts: ArtifactStore | None = None
    artifact_url_seconds: int = 900
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
    check_published_payload(payload)
    spec.validate_payload(payload)
    check_upload_refs(services.artifacts, caller.principal, payload)
    queue_for(services, job_type)  # refuse a task no configured worker can run, before storing it

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
    record(services.metrics, Metric.JOBS_SUBMITTED)
    return _enqueue(services, created.job)


def queue_for(services: Services, job_type: str) -> JobQueue:
    """The queue a job of ``job_type`` goes to - the one routing decision every enqueue (submit,
    retry, the reaper's requeue) makes: tasks whose time limit exceeds what the Lambda worker can
    give (its timeout minus the hand-back margin) go to the long queue."""
    try:
        route = services.registry.get(job_type).route_for(services.lambda_budget_seconds)
    except UnknownTask:
        return services.queue  # the worker fails it as UnknownTaskType
    if route != LONG_ROUTE:
        return services.queue
    if services.long_queue is None:
        raise ValidationError(
            f"task '{job_type}' needs the long-task worker (its time limit exceeds the Lambda worker's "
            f"{services.lambda_budget_seconds} s) but no long queue is configured (JOBS_LONG_QUEUE_URL)"
        )
    return services.long_queue


def _enqueue(services: Services, job: Job) -> Job:
    try:
        # The submit's trace header rides along, so the worker's trace links to it (jobcore.tracing).
        queue_for(services, job.type).send(encode_message(job.id), trace_header=current_trace_header())
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
        check_json("result", update.result, MAX_RESULT_BYTES * 1000)  # depth; the size rule is the publish budget

    def decide(current: Job) -> Job:
        new = apply_update(current, update, services.clock(), deadline_seconds=_deadline_seconds(services, current))
        if new is not current:
            check_published_job(dict(job_to_graphql(new)))  # never publish an event AppSync would drop
        return new

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
            written = services.store.replace(new, expected_version=current.version)
        except TransitionConflict:
            continue
        observe_transition(services.metrics, current, written)
        return written
    raise TransitionConflict(f"Job {job_id} kept changing under this update; retry it")


def find_stuck_jobs(services: Services, *, limit: int = 100) -> list[Job]:
    """RUNNING jobs past their deadline (their worker is gone) and PENDING jobs whose message may be lost.

    The reaper turns these into ``updateJob`` calls (so subscribers hear about them) or re-enqueues;
    the verdicts are compare-and-sets decided by ``apply_update``, safe to race.
    """
    now = services.clock()
    return services.store.find_stuck(now, pending_before=now - services.requeue_pending_after, limit=limit)


def requeue(services: Services, job: Job) -> None:
    """Send a job's message again; harmless if it is already queued or running (the claim decides).

    A PENDING job's place in the stuck index then moves to now, so the reaper looks at it again only
    after another ``requeue_pending_after`` - not on every run while a backlog drains.
    """
    queue_for(services, job.type).send(encode_message(job.id), trace_header=current_trace_header())
    if job.status is JobStatus.PENDING:
        services.store.mark_requeued(job, services.clock())


# --- artifacts and uploads ------------------------------------------------------------------------

def artifact_links(services: Services, caller: Caller, job: Job) -> list[ArtifactShape]:
    """The job's artifacts with fresh presigned GET URLs, for a caller who may read the job.

    Only ``job(id)`` mints them: events carry the descriptions with ``url`` null (a URL is a bearer
    capability; it is minted for a reader on request, never broadcast).
    """
    ensure_can_read(caller, job)
    if services.artifacts is None:
        return [dict(a) for a in job_to_graphql(job)["artifacts"]]  # type: ignore[misc]
    links: list[ArtifactShape] = []
    for artifact in job.artifacts:
        signed = services.artifacts.presign_get(
            artifact_key(job.id, artifact.name), expires_in=services.artifact_url_seconds, filename=artifact.name
        )
        links.append({"name": artifact.name, "size": artifact.size, "contentType": artifact.content_type,
                      "url": signed.url, "expiresAt": format_datetime(signed.expires_at)})
    return links


def create_upload(services: Services, caller: Caller, content_type: str, size: int) -> tuple[str, PresignedUrl]:
    """A reference a payload may name and a presigned PUT URL for it, bound to the caller as owner."""
    check_content_type(content_type)
    if not 0 <= size <= MAX_OBJECT_BYTES:
        raise ValidationError(f"size must be between 0 and {MAX_OBJECT_BYTES} bytes, not {size}")
    if services.artifacts is None:
        raise ValidationError("uploads are not configured on this deployment (no artifact store)")
    ref = new_upload_ref(caller.principal)
    signed = services.artifacts.presign_put(
        upload_key(ref), content_type=content_type, size=size, expires_in=services.artifact_url_seconds
    )
    return ref, signed
