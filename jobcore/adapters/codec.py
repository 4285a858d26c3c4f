"""How a job is flattened for storage - shared by every store adapter so they cannot drift.

Payload and result are kept as JSON text: DynamoDB would otherwise turn floats into Decimals and
SQLite has no map type, and the text round-trips exactly what the client sent.
"""

from __future__ import annotations

import json
from typing import Any

from jobcore.domain.job import Job, JobFailure, JobStatus
from jobcore.wire import (
    format_datetime,
    format_optional_datetime,
    job_to_graphql,
    parse_datetime,
    parse_optional_datetime,
)


def job_to_record(job: Job) -> dict[str, Any]:
    """The GraphQL shape plus what only the store knows (owner, lease, deadline, idempotency key)."""
    return {
        **job_to_graphql(job),
        "owner": job.owner,
        "payload": json.dumps(job.payload, separators=(",", ":")),
        "result": json.dumps(job.result, separators=(",", ":")),
        "idempotencyKey": job.idempotency_key,
        "leaseToken": job.lease_token,
        "leaseExpiresAt": format_optional_datetime(job.lease_expires_at),
        "deadlineAt": format_optional_datetime(job.deadline_at),
        "queuedAt": format_optional_datetime(job.queued_at),
    }


def job_from_record(record: dict[str, Any]) -> Job:
    error = record.get("error")
    return Job(
        id=record["id"],
        type=record["type"],
        status=JobStatus(record["status"]),
        owner=record["owner"],
        payload=json.loads(record["payload"]),
        result=json.loads(record["result"]),
        error=JobFailure(error["type"], error["message"]) if error else None,
        progress=record.get("progress"),
        message=record.get("message"),
        attempts=int(record["attempts"]),
        cancel_requested=bool(record["cancelRequested"]),
        version=int(record["version"]),
        created_at=parse_datetime(record["createdAt"]),
        updated_at=parse_datetime(record["updatedAt"]),
        started_at=parse_optional_datetime(record.get("startedAt")),
        finished_at=parse_optional_datetime(record.get("finishedAt")),
        idempotency_key=record.get("idempotencyKey"),
        lease_token=record.get("leaseToken"),
        lease_expires_at=parse_optional_datetime(record.get("leaseExpiresAt")),
        deadline_at=parse_optional_datetime(record.get("deadlineAt")),
        queued_at=parse_optional_datetime(record.get("queuedAt")),
    )


def stuck_marker(job: Job) -> tuple[str, str] | None:
    """(status, sortable instant) for the reaper's index; None once the job is finished."""
    if job.status is JobStatus.RUNNING and job.deadline_at is not None:
        return job.status.value, format_datetime(job.deadline_at)
    if job.status is JobStatus.PENDING:
        # Since when it has been PENDING: its creation, or the retry that queued it again (a retried
        # job is as fresh as a new one; its old creation time must not make the reaper re-enqueue it).
        return job.status.value, format_datetime(job.updated_at)
    return None
