"""How a job is flattened for storage - shared by every store adapter so they cannot drift.

Payload and result are kept as JSON text: DynamoDB would otherwise turn floats into Decimals and
SQLite has no map type, and the text round-trips exactly what the client sent.
"""

from __future__ import annotations

import json
from typing import Any

from jobcore.domain.job import Job, JobFailure, JobStatus
from jobcore.wire import format_datetime, format_optional_datetime, parse_datetime, parse_optional_datetime


def job_to_record(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": job.type,
        "status": job.status.value,
        "owner": job.owner,
        "payload": json.dumps(job.payload, separators=(",", ":")),
        "result": json.dumps(job.result, separators=(",", ":")),
        "error": {"type": job.error.type, "message": job.error.message} if job.error else None,
        "progress": job.progress,
        "message": job.message,
        "attempts": job.attempts,
        "cancelRequested": job.cancel_requested,
        "version": job.version,
        "createdAt": format_optional_datetime(job.created_at),
        "updatedAt": format_optional_datetime(job.updated_at),
        "startedAt": format_optional_datetime(job.started_at),
        "finishedAt": format_optional_datetime(job.finished_at),
        "idempotencyKey": job.idempotency_key,
        "leaseToken": job.lease_token,
        "leaseExpiresAt": format_optional_datetime(job.lease_expires_at),
        "deadlineAt": format_optional_datetime(job.deadline_at),
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
    )


def stuck_marker(job: Job) -> tuple[str, str] | None:
    """(status, sortable instant) for the reaper's index; None once the job is finished."""
    if job.status is JobStatus.RUNNING and job.deadline_at is not None:
        return job.status.value, format_datetime(job.deadline_at)
    if job.status is JobStatus.PENDING:
        return job.status.value, format_datetime(job.created_at)
    return None
